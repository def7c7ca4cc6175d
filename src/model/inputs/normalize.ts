/**
 * torchvision `ToTensor()` + `Normalize(IMAGENET_MEAN, IMAGENET_STD)` as InternVL's `build_transform` applies them
 * per 448x448 tile: CHW, `x / 255` in float32, then `(x - mean) / std` in float32 with mean/std rounded to float32
 * (`torch.as_tensor(mean, dtype=float32)`). Each step is one IEEE float32 operation, so computing it in float64 and
 * rounding with Math.fround gives the same bits; a 256-entry table per channel does it once.
 * (The reference then casts to bf16 on the GPU; we hand float32, or float16 on request, to the engine.)
 */

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** lut[c * 256 + v] = float32((float32(v / 255) - mean[c]) / std[c]). */
export const NORMALIZE_LUT: Float32Array = (() => {
  const lut = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(IMAGENET_MEAN[c]);
    const s = Math.fround(IMAGENET_STD[c]);
    for (let v = 0; v < 256; v++) {
      const x = Math.fround(v / 255);
      lut[c * 256 + v] = Math.fround(Math.fround(x - m) / s);
    }
  }
  return lut;
})();

/** NORMALIZE_LUT split per channel: three small tables keep the inner loop free of index arithmetic. */
const LUT_R = NORMALIZE_LUT.subarray(0, 256);
const LUT_G = NORMALIZE_LUT.subarray(256, 512);
const LUT_B = NORMALIZE_LUT.subarray(512, 768);

/**
 * Normalise one `size x size` RGB tile read in place from a larger packed RGB image (`src`, the tile's first byte at
 * `srcOffset`, rows `srcStride` bytes apart: a crop as a view, no copy) into `out` as CHW planes from `outOffset`.
 */
export function normalizeRgbInto(
  src: Uint8Array,
  srcOffset: number,
  srcStride: number,
  size: number,
  out: Float32Array,
  outOffset: number,
): void {
  const plane = size * size;
  if (srcOffset < 0 || srcOffset + (size - 1) * srcStride + size * 3 > src.length)
    throw new Error(`normalizeRgbInto: a ${size}x${size} tile at byte ${srcOffset} does not fit the source`);
  if (outOffset < 0 || outOffset + 3 * plane > out.length)
    throw new Error(`normalizeRgbInto: output holds ${out.length} values, need ${outOffset + 3 * plane}`);
  if (
    LITTLE_ENDIAN &&
    size % 4 === 0 &&
    // normalizeWords reads 32-bit words from the view's own start, so both offsets must be word-aligned.
    src.byteOffset % 4 === 0 &&
    srcOffset % 4 === 0 &&
    srcStride % 4 === 0 &&
    src.buffer instanceof ArrayBuffer
  ) {
    normalizeWords(src, srcOffset, srcStride, size, out, outOffset);
    return;
  }
  const lr = LUT_R;
  const lg = LUT_G;
  const lb = LUT_B;
  for (let y = 0; y < size; y++) {
    let p = srcOffset + y * srcStride;
    let r = outOffset + y * size;
    let g = r + plane;
    let b = g + plane;
    const end = r + size;
    for (; r < end; r++, g++, b++, p += 3) {
      out[r] = lr[src[p]];
      out[g] = lg[src[p + 1]];
      out[b] = lb[src[p + 2]];
    }
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * normalizeRgbInto for 4-byte aligned rows: four pixels from three 32-bit loads (about 1.6x faster in V8 than twelve
 * byte loads). Little-endian only: byte k of a word is `(word >>> 8k) & 255`.
 */
function normalizeWords(
  src: Uint8Array,
  srcOffset: number,
  srcStride: number,
  size: number,
  out: Float32Array,
  outOffset: number,
): void {
  const plane = size * size;
  const plane2 = 2 * plane;
  const words = new Uint32Array(src.buffer, src.byteOffset, src.byteLength >> 2);
  const lr = LUT_R;
  const lg = LUT_G;
  const lb = LUT_B;
  for (let y = 0; y < size; y++) {
    let q = (srcOffset + y * srcStride) >> 2;
    let r = outOffset + y * size;
    const end = r + size;
    for (; r < end; r += 4, q += 3) {
      // a = R0 G0 B0 R1, b = G1 B1 R2 G2, c = B2 R3 G3 B3 (lowest byte first)
      const a = words[q];
      const b = words[q + 1];
      const c = words[q + 2];
      out[r] = lr[a & 255];
      out[r + plane] = lg[(a >>> 8) & 255];
      out[r + plane2] = lb[(a >>> 16) & 255];
      out[r + 1] = lr[a >>> 24];
      out[r + 1 + plane] = lg[b & 255];
      out[r + 1 + plane2] = lb[(b >>> 8) & 255];
      out[r + 2] = lr[(b >>> 16) & 255];
      out[r + 2 + plane] = lg[b >>> 24];
      out[r + 2 + plane2] = lb[c & 255];
      out[r + 3] = lr[(c >>> 8) & 255];
      out[r + 3 + plane] = lg[(c >>> 16) & 255];
      out[r + 3 + plane2] = lb[c >>> 24];
    }
  }
}

/**
 * Normalise RGB tiles (each `size*size*3` bytes, HWC) into one `[tiles, 3, size, size]` float32 array.
 * Pass `out` to fill an existing array (e.g. a batch buffer).
 */
export function normalizeTiles(tiles: readonly Uint8Array[], size = 448, out?: Float32Array): Float32Array {
  const plane = size * size;
  const total = tiles.length * 3 * plane;
  const dst = out ?? new Float32Array(total);
  if (dst.length < total) throw new Error(`normalizeTiles: output holds ${dst.length} values, need ${total}`);
  for (let t = 0; t < tiles.length; t++) {
    if (tiles[t].length !== plane * 3)
      throw new Error(`normalizeTiles: tile ${t} has ${tiles[t].length} bytes, expected ${plane * 3}`);
    normalizeRgbInto(tiles[t], 0, size * 3, size, dst, t * 3 * plane);
  }
  return dst;
}

/**
 * The inverse of normalizeTiles: `[tiles, 3, size, size]` values made by NORMALIZE_LUT back to HWC RGB bytes.
 * Exact, because the table is strictly increasing per channel; a value the table cannot have made is an error.
 */
export function denormalizeTiles(values: Float32Array, tiles: number, size = 448): Uint8Array[] {
  const plane = size * size;
  if (values.length < tiles * 3 * plane)
    throw new Error(
      `denormalizeTiles: ${values.length} values cannot hold ${tiles} tiles of ${size}x${size}`,
    );
  const out: Uint8Array[] = [];
  for (let t = 0; t < tiles; t++) {
    const rgb = new Uint8Array(plane * 3);
    for (let c = 0; c < 3; c++) {
      const base = (t * 3 + c) * plane;
      const m = IMAGENET_MEAN[c];
      const s = IMAGENET_STD[c];
      for (let i = 0; i < plane; i++) {
        const x = values[base + i];
        let v = Math.round((x * s + m) * 255);
        if (v < 0) v = 0;
        else if (v > 255) v = 255;
        if (NORMALIZE_LUT[c * 256 + v] !== x) {
          if (v > 0 && NORMALIZE_LUT[c * 256 + v - 1] === x) v--;
          else if (v < 255 && NORMALIZE_LUT[c * 256 + v + 1] === x) v++;
          else
            throw new Error(`denormalizeTiles: tile ${t} channel ${c} value ${x} is not a normalised byte`);
        }
        rgb[i * 3 + c] = v;
      }
    }
    out.push(rgb);
  }
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits of a float32 value, round to nearest even (as NumPy's / torch's `.half()`). */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> signed zero
    mant |= 0x800000; // subnormal half: shift the implicit 1 in
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && m & 1)) m++;
    return sign | m;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // carry may roll into the exponent: still correct
  return h;
}

/** float32 array -> float16 bits (Uint16Array), e.g. for an fp16 ONNX input. */
export function toFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  // 768 distinct inputs in practice (the LUT), but keep it general.
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]);
  return out;
}

const NORMALIZE_LUT_F16: Uint16Array = (() => {
  const lut = new Uint16Array(NORMALIZE_LUT.length);
  for (let i = 0; i < lut.length; i++) lut[i] = float32ToFloat16Bits(NORMALIZE_LUT[i]);
  return lut;
})();

/** Like `normalizeTiles`, straight to float16 bits (float32 result rounded to half, as `.half()` on it would). */
export function normalizeTilesFloat16(tiles: readonly Uint8Array[], size = 448): Uint16Array {
  const plane = size * size;
  const dst = new Uint16Array(tiles.length * 3 * plane);
  tiles.forEach((tile, t) => {
    if (tile.length !== plane * 3)
      throw new Error(`normalizeTilesFloat16: tile ${t} has ${tile.length} bytes, expected ${plane * 3}`);
    const base = t * 3 * plane;
    for (let i = 0; i < plane; i++) {
      dst[base + i] = NORMALIZE_LUT_F16[tile[i * 3]];
      dst[base + plane + i] = NORMALIZE_LUT_F16[256 + tile[i * 3 + 1]];
      dst[base + 2 * plane + i] = NORMALIZE_LUT_F16[512 + tile[i * 3 + 2]];
    }
  });
  return dst;
}
