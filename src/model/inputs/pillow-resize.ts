/**
 * Pillow's `Image.resize` for 8-bit RGB, byte for byte (Pillow 9.4 `libImaging/Resample.c`, `ImagingResample`).
 *
 * InternVL's `dynamic_preprocess` calls `image.resize((448*i, 448*j))`, whose default filter for RGB is BICUBIC;
 * VLMEvalKit's MMMU path first upscales ×2 with BILINEAR. libvips/sharp, canvas and OpenCV kernels all differ
 * from Pillow (see shared/docs/preprocessing.md), so the exact path is this port:
 *   - separable, horizontal pass first, then vertical; a pass is skipped when that dimension is unchanged
 *     (`need_horizontal` / `need_vertical` in `ImagingResampleInner`);
 *   - antialiased: the filter support is stretched by the scale factor when downscaling (`filterscale`);
 *   - sample centres at `(x + 0.5) * scale`; window bounds rounded with a C `(int)` cast;
 *   - coefficients normalised to sum 1 in double, then to fixed point with PRECISION_BITS = 22, rounded half away
 *     from zero (`normalize_coeffs_8bpc`);
 *   - accumulators start at 1 << 21 (rounding), results clipped to 0..255 (`clip8`) after EACH pass, so the
 *     intermediate image is 8-bit, exactly like Pillow's `imTemp`;
 *   - the horizontal pass only computes the source rows the vertical pass will read (`ybox_first..ybox_last`).
 * `fast` mode is sharp's own resize (libvips), kept so users can measure what exactness is worth.
 */
import sharp from 'sharp';

export type ResampleFilter = 'bicubic' | 'bilinear';

/** Fractional bits of Pillow's fixed-point coefficients (`PRECISION_BITS = 32 - 8 - 2`). */
const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);

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
interface Coefficients {
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

/** Pillow `clip8`: arithmetic shift (floor) then clamp. Accumulators stay well inside int32, as in C. */
function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Horizontal pass over rows [rowFirst, rowFirst + rows) of `src` (w × ? RGB) into a newW × rows image. */
function horizontalPass(
  src: Uint8Array,
  w: number,
  rowFirst: number,
  rows: number,
  newW: number,
  c: Coefficients,
): Uint8Array {
  const out = new Uint8Array(newW * rows * 3);
  const { ksize, bounds, weights } = c;
  for (let y = 0; y < rows; y++) {
    const rowIn = (y + rowFirst) * w * 3;
    const rowOut = y * newW * 3;
    for (let xx = 0; xx < newW; xx++) {
      const xmin = bounds[xx * 2];
      const n = bounds[xx * 2 + 1];
      const kb = xx * ksize;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      let p = rowIn + xmin * 3;
      for (let x = 0; x < n; x++, p += 3) {
        const wgt = weights[kb + x];
        s0 += src[p] * wgt;
        s1 += src[p + 1] * wgt;
        s2 += src[p + 2] * wgt;
      }
      const o = rowOut + xx * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return out;
}

/**
 * Vertical pass: `src` is w × ? RGB; `bounds` already shifted by the first row the horizontal pass produced.
 * Four byte columns at a time with local accumulators (about 1.5x faster in V8 than one column or a row
 * accumulator); every output value is still the same integer sum, so the same bytes.
 */
function verticalPass(
  src: Uint8Array,
  w: number,
  newH: number,
  c: Coefficients,
  rowShift: number,
): Uint8Array {
  const out = new Uint8Array(w * newH * 3);
  const { ksize, bounds, weights } = c;
  const stride = w * 3;
  for (let yy = 0; yy < newH; yy++) {
    const first = (bounds[yy * 2] - rowShift) * stride;
    const n = bounds[yy * 2 + 1];
    const kb = yy * ksize;
    const rowOut = yy * stride;
    let i = 0;
    for (; i + 3 < stride; i += 4) {
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      let s3 = HALF;
      let p = first + i;
      for (let y = 0; y < n; y++, p += stride) {
        const wgt = weights[kb + y];
        s0 += src[p] * wgt;
        s1 += src[p + 1] * wgt;
        s2 += src[p + 2] * wgt;
        s3 += src[p + 3] * wgt;
      }
      out[rowOut + i] = clip8(s0);
      out[rowOut + i + 1] = clip8(s1);
      out[rowOut + i + 2] = clip8(s2);
      out[rowOut + i + 3] = clip8(s3);
    }
    for (; i < stride; i++) {
      let s = HALF;
      let p = first + i;
      for (let y = 0; y < n; y++, p += stride) s += src[p] * weights[kb + y];
      out[rowOut + i] = clip8(s);
    }
  }
  return out;
}

/**
 * Resize packed 8-bit RGB (`w*h*3` bytes) to newW × newH exactly as Pillow 9.4 `Image.resize(size, filter)` does
 * for an RGB image with the default box and no `reducing_gap`. Same size returns a copy (Pillow's `self.copy()`).
 */
export function pillowResize(
  rgb: Uint8Array,
  w: number,
  h: number,
  newW: number,
  newH: number,
  filter: ResampleFilter,
): Uint8Array {
  checkSizes(rgb, w, h, newW, newH);
  if (w === newW && h === newH) return rgb.slice();
  const needH = newW !== w;
  const needV = newH !== h;
  const cv = resampleCoefficients(h, newH, filter);
  let img = rgb;
  let rowShift = 0;
  if (needH) {
    const ch = resampleCoefficients(w, newW, filter);
    // Only the rows the vertical pass reads (ImagingResampleInner's ybox_first / ybox_last).
    const first = cv.bounds[0];
    const last = cv.bounds[newH * 2 - 2] + cv.bounds[newH * 2 - 1];
    img = horizontalPass(rgb, w, first, last - first, newW, ch);
    rowShift = first;
  }
  if (needV) img = verticalPass(img, newW, newH, cv, rowShift);
  return img;
}

/** sharp's (libvips) resize, explicitly NOT Pillow-exact: the `fast` mode. */
export async function sharpResize(
  rgb: Uint8Array,
  w: number,
  h: number,
  newW: number,
  newH: number,
  filter: ResampleFilter = 'bicubic',
): Promise<Uint8Array> {
  checkSizes(rgb, w, h, newW, newH);
  if (w === newW && h === newH) return rgb.slice();
  const { data } = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
    .resize(newW, newH, { fit: 'fill', kernel: filter === 'bicubic' ? 'cubic' : 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function checkSizes(rgb: Uint8Array, w: number, h: number, newW: number, newH: number): void {
  for (const [name, v] of [
    ['width', w],
    ['height', h],
    ['new width', newW],
    ['new height', newH],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`resize: ${name} must be a positive integer, got ${v}`);
  }
  if (rgb.length !== w * h * 3) {
    throw new Error(`resize: expected ${w}x${h}x3 = ${w * h * 3} bytes of RGB, got ${rgb.length}`);
  }
}
