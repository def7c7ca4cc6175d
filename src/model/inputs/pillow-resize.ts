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
import { sharedResampler } from './pillow-resample-wasm.ts';
import {
  PRECISION_BITS,
  resampleCoefficients,
  type Coefficients,
  type ResampleFilter,
} from './resample-coefficients.ts';

const HALF = 1 << (PRECISION_BITS - 1);

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
 * Runs the WebAssembly SIMD kernel (pillow-resample-wasm.ts); `pillowResizeScalar` is the same arithmetic in plain
 * TypeScript, kept as the readable reference the kernel is tested against.
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
  const r = sharedResampler();
  r.setSource(rgb, w, h);
  return r.resize(newW, newH, filter).slice();
}

/** `pillowResize` in plain TypeScript: the reference the WebAssembly kernel is tested against. */
export function pillowResizeScalar(
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
  // sharp reads from an ArrayBuffer-backed view only; cached decoded images live in shared memory.
  const input = rgb.buffer instanceof SharedArrayBuffer ? rgb.slice() : rgb;
  const { data } = await sharp(input, { raw: { width: w, height: h, channels: 3 } })
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
