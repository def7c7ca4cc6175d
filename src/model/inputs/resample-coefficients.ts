/**
 * Pillow 9.4's resample coefficients (`libImaging/Resample.c`, `precompute_coeffs` + `normalize_coeffs_8bpc`), shared
 * by the two implementations of the fixed-point resize: the TypeScript port (pillow-resize.ts) and the WebAssembly
 * SIMD kernel (pillow-resample-wasm.ts).
 */
export type ResampleFilter = 'bicubic' | 'bilinear';

/** Fractional bits of Pillow's fixed-point coefficients (`PRECISION_BITS = 32 - 8 - 2`). */
export const PRECISION_BITS = 22;

interface FilterDef {
  readonly support: number;
  readonly fn: (x: number) => number;
}

/** Keys cubic with a = -0.5 (Pillow `bicubic_filter`). */
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Triangle (Pillow `bilinear_filter`). */
function bilinear(x: number): number {
  if (x < 0) x = -x;
  if (x < 1) return 1 - x;
  return 0;
}

const FILTERS: Record<ResampleFilter, FilterDef> = {
  bicubic: { support: 2, fn: bicubic },
  bilinear: { support: 1, fn: bilinear },
};

/** Per output sample: first source index, count, and `ksize` fixed-point weights. */
export interface Coefficients {
  readonly ksize: number;
  readonly bounds: Int32Array; // [xmin, count] per output index
  readonly weights: Int32Array; // ksize per output index
}

/** Pillow `precompute_coeffs` + `normalize_coeffs_8bpc` for a box [0, inSize) mapped onto outSize samples. */
export function resampleCoefficients(inSize: number, outSize: number, filter: ResampleFilter): Coefficients {
  const f = FILTERS[filter];
  // Pillow computes (in1 - in0) in float and divides in double; for integer sizes < 2^24 that is exact.
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = f.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C `(int)` truncates toward zero, then clamps: Math.trunc, not Math.floor.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = f.fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    const base = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? k[x] / ww : k[x];
      // (int)(±0.5 + v * 2^22): round half away from zero, as normalize_coeffs_8bpc does.
      weights[base + x] =
        v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}
