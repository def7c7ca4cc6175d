import { describe, expect, it } from 'vitest';
import {
  bf16BitsToNumber,
  bytesToFloat32,
  f16BitsToNumber,
  float32ToBytes,
  numberToBf16Bits,
  numberToF16Bits,
} from '../../../src/model/checkpoint/dtype.ts';

describe('fp16 conversion', () => {
  it.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff], // max half
    [65520, 0x7c00], // rounds up to +Inf
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -25, 0x0000], // tie -> even (0)
    [3 * 2 ** -25, 0x0002], // 1.5 ulp -> 2 (even)
    [1 + 2 ** -11, 0x3c00], // tie between 1 and 1+2^-10 -> even
    [1 + 3 * 2 ** -11, 0x3c02], // tie -> even (up)
    [0.1, 0x2e66],
  ])('%s -> 0x%s', (value, bits) => {
    expect(numberToF16Bits(value)).toBe(bits);
  });

  it('decodes every finite half exactly and re-encodes it to the same bits', () => {
    for (let h = 0; h < 0x10000; h++) {
      const exp = (h >> 10) & 0x1f;
      const v = f16BitsToNumber(h);
      if (exp === 0x1f) {
        expect(Number.isFinite(v)).toBe(false);
        continue;
      }
      expect(numberToF16Bits(v)).toBe(h);
    }
    expect(Number.isNaN(f16BitsToNumber(0x7e00))).toBe(true);
    expect(Number.isNaN(f16BitsToNumber(numberToF16Bits(NaN)))).toBe(true);
  });
});

describe('bf16 conversion', () => {
  it.each([
    [1, 0x3f80],
    [-1, 0xbf80],
    [1 + 2 ** -8, 0x3f80], // tie -> even (down)
    [1 + 3 * 2 ** -8, 0x3f82], // tie -> even (up)
    [1 + 2 ** -8 + 2 ** -20, 0x3f81], // above tie -> up
    [3.0e38, 0x7f62],
    [Infinity, 0x7f80],
  ])('%s -> bits %s', (value, bits) => {
    expect(numberToBf16Bits(value)).toBe(bits);
  });

  it('is the top half of a float32 (u16 << 16)', () => {
    expect(bf16BitsToNumber(0x4049)).toBeCloseTo(3.140625, 10);
    expect(Number.isNaN(bf16BitsToNumber(numberToBf16Bits(NaN)))).toBe(true);
  });
});

describe('bytes <-> float32', () => {
  const values = [0, 1, -1.5, 0.0999755859375, 1024.5, -3e-5];
  it.each(['F32', 'F16', 'BF16'] as const)('%s round trip of representable values', (dtype) => {
    const rounded =
      dtype === 'F32'
        ? Float32Array.from(values)
        : Float32Array.from(values, (v) =>
            dtype === 'F16' ? f16BitsToNumber(numberToF16Bits(v)) : bf16BitsToNumber(numberToBf16Bits(v)),
          );
    const bytes = float32ToBytes(dtype, rounded);
    expect(bytes.byteLength).toBe(values.length * (dtype === 'F32' ? 4 : 2));
    expect(Array.from(bytesToFloat32(dtype, bytes))).toEqual(Array.from(rounded));
  });

  it('reads little-endian bf16 from an odd byte offset', () => {
    const buf = new Uint8Array([0xff, 0x80, 0x3f, 0x00, 0xc0]);
    expect(Array.from(bytesToFloat32('BF16', buf.subarray(1)))).toEqual([1, -2]);
  });

  it('rejects a byte count that is not a whole number of values', () => {
    expect(() => bytesToFloat32('F32', new Uint8Array(6))).toThrow(
      '6 bytes is not a whole number of F32 values',
    );
  });
});
