// Element types a checkpoint may hold, and the conversions between their bytes and float32.
// bf16 is the top half of a float32 (`u32 = u16 << 16`, model-runtime.md A.4); fp16 is IEEE binary16.
import { endianness } from 'node:os';

export const SUPPORTED_DTYPES = ['BF16', 'F16', 'F32'] as const;
export type TensorDtype = (typeof SUPPORTED_DTYPES)[number];

export const BYTES_PER_ELEMENT: Record<TensorDtype, number> = { BF16: 2, F16: 2, F32: 4 };

export function isSupportedDtype(dtype: string): dtype is TensorDtype {
  return (SUPPORTED_DTYPES as readonly string[]).includes(dtype);
}

// Typed-array views below reinterpret little-endian file bytes in place; a big-endian host would read garbage.
if (endianness() !== 'LE') throw new Error('internvl-eval needs a little-endian host to read safetensors');

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits -> number (exact: every fp16 value is a float32 value). */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero / subnormal
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** number -> IEEE binary16 bits, round to nearest even, overflow to ±Inf, NaN kept. */
export function numberToF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or underflow to zero): shift the implicit-1 mantissa right, rounding to nearest even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && m & 1)) m += 1;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m += 1;
    if (m === 0x400) {
      m = 0;
      e += 1;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** number -> bfloat16 bits, round to nearest even (as torch's `.to(torch.bfloat16)`), NaN kept quiet. */
export function numberToBf16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

export function bf16BitsToNumber(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

/** Decode little-endian tensor bytes of `dtype` into a fresh Float32Array. */
export function bytesToFloat32(dtype: TensorDtype, bytes: Uint8Array): Float32Array {
  const n = bytes.byteLength / BYTES_PER_ELEMENT[dtype];
  if (!Number.isInteger(n))
    throw new Error(`${bytes.byteLength} bytes is not a whole number of ${dtype} values`);
  if (dtype === 'F32') {
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const src = halfWords(bytes);
  const out = new Float32Array(n);
  if (dtype === 'BF16') {
    const outBits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) outBits[i] = src[i] << 16;
  } else {
    for (let i = 0; i < n; i++) out[i] = f16BitsToNumber(src[i]);
  }
  return out;
}

/** Encode float values as little-endian bytes of `dtype`. */
export function float32ToBytes(dtype: TensorDtype, values: ArrayLike<number>): Uint8Array {
  const n = values.length;
  if (dtype === 'F32') {
    const f = values instanceof Float32Array ? values : Float32Array.from(values);
    return new Uint8Array(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength));
  }
  const out = new Uint16Array(n);
  const enc = dtype === 'BF16' ? numberToBf16Bits : numberToF16Bits;
  for (let i = 0; i < n; i++) out[i] = enc(values[i]);
  return new Uint8Array(out.buffer);
}

function halfWords(bytes: Uint8Array): Uint16Array {
  if (bytes.byteOffset % 2 === 0)
    return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  return new Uint16Array(bytes.slice().buffer);
}
