import { describe, expect, it } from 'vitest';
import {
  dequantizeMatrix,
  quantizedValue,
  quantizeMatrix,
  validateQuantOptions,
  zeroPointOf,
  type Bits,
} from '../../../src/model/graph/quantize.ts';
import { linear } from '../../../src/model/graph/layers.ts';
import { DataType, GraphBuilder } from '../../../src/model/graph/onnx-builder.ts';
import { f32, randomFloats, runGraph } from './ort-helpers.ts';

describe('quantizeMatrix layout (MatMulNBits)', () => {
  it('4-bit symmetric: hand-checked block, low nibble = even k, default zero point 8', () => {
    // One row, K = 16, one block: the largest magnitude (-4) maps to q = 0, scale = -4 / -8 = 0.5.
    const w = Float32Array.from([0, 0.5, -0.5, 1, -4, 3.5, 2, -2, 0, 0, 0, 0, 0, 0, 0.25, 0.74]);
    const q = quantizeMatrix(w, 1, 16, { bits: 4, blockSize: 16, zeroPoint: false });
    expect(q.kBlocks).toBe(1);
    expect(Array.from(q.scales)).toEqual([0.5]);
    expect(q.zeroPoints).toBeNull();
    // q = round(w / 0.5) + 8, clamped to [0, 15]
    const expected = [8, 9, 7, 10, 0, 15, 12, 4, 8, 8, 8, 8, 8, 8, 9, 9];
    expect(Array.from({ length: 16 }, (_, i) => quantizedValue(q, 0, i))).toEqual(expected);
    expect(q.data[0]).toBe(8 | (9 << 4));
    expect(q.data[2]).toBe(0 | (15 << 4));
    expect(q.data.length).toBe(8);
  });

  it('8-bit symmetric: scale = signed max / -128, zp 128', () => {
    const w = Float32Array.from([1, -2, 0.5, 2.54, ...new Array(12).fill(0)]);
    const q = quantizeMatrix(w, 1, 16, { bits: 8, blockSize: 16, zeroPoint: false });
    expect(q.scales[0]).toBeCloseTo(2.54 / -128, 7);
    expect(quantizedValue(q, 0, 3)).toBe(0);
    expect(quantizedValue(q, 0, 1)).toBe(128 + Math.round(-2 / q.scales[0]));
  });

  it('asymmetric zero points: packed two per byte (even block low nibble) for 4 bits, one per byte for 8', () => {
    const k = 64; // 4 blocks of 16
    const w = new Float32Array(2 * k);
    for (let i = 0; i < w.length; i++) w[i] = (i % k) / k + Math.floor(i / k); // all >= 0: zp 0
    w[3] = -1; // row 0, block 0 gets a negative minimum: zp > 0
    const q4 = quantizeMatrix(w, 2, k, { bits: 4, blockSize: 16, zeroPoint: true });
    expect(q4.zeroPoints!.length).toBe(2 * 2);
    expect(zeroPointOf(q4, 0, 0)).toBeGreaterThan(0);
    expect(zeroPointOf(q4, 0, 1)).toBe(0);
    expect(q4.zeroPoints![0] & 0x0f).toBe(zeroPointOf(q4, 0, 0));
    expect(q4.zeroPoints![0] >> 4).toBe(zeroPointOf(q4, 0, 1));
    const q8 = quantizeMatrix(w, 2, k, { bits: 8, blockSize: 16, zeroPoint: true });
    expect(q8.zeroPoints!.length).toBe(2 * 4);
    expect(q8.zeroPoints![0]).toBe(zeroPointOf(q8, 0, 0));
  });

  it('pads a partial last block with the zero point (K not a multiple of the block)', () => {
    const w = randomFloats(3 * 20, 5);
    const q = quantizeMatrix(w, 3, 20, { bits: 4, blockSize: 16, zeroPoint: false });
    expect(q.kBlocks).toBe(2);
    expect(q.data.length).toBe(3 * 2 * 8);
    // elements 20..31 of the padded row hold q = zp = 8 (dequantize to 0)
    const lastBlock = q.data.subarray(8 + 2, 16);
    expect(Array.from(lastBlock)).toEqual(new Array(6).fill(8 | (8 << 4)));
  });

  const cases: { bits: Bits; zeroPoint: boolean; blockSize: number }[] = [
    { bits: 4, zeroPoint: false, blockSize: 16 },
    { bits: 4, zeroPoint: true, blockSize: 32 },
    { bits: 8, zeroPoint: false, blockSize: 32 },
    { bits: 8, zeroPoint: true, blockSize: 128 },
  ];
  it.each(cases)(
    'dequantized error within one step (|err| <= scale; <= scale/2 with zero points): %o',
    (o) => {
      const n = 7;
      const k = 200;
      const w = randomFloats(n * k, 11);
      const q = quantizeMatrix(w, n, k, o);
      const back = dequantizeMatrix(q);
      for (let r = 0; r < n; r++) {
        for (let i = 0; i < k; i++) {
          const s = Math.abs(q.scales[r * q.kBlocks + Math.floor(i / o.blockSize)]);
          // Symmetric: the positive extreme clamps at 2^(b-1)-1 steps, one step short at worst.
          const bound = o.zeroPoint ? s / 2 + 1e-7 : s + 1e-7;
          expect(Math.abs(back[r * k + i] - w[r * k + i])).toBeLessThanOrEqual(bound);
        }
      }
    },
  );

  it('rejects bad options', () => {
    expect(() => validateQuantOptions({ bits: 4, blockSize: 24, zeroPoint: false })).toThrow(/power of two/);
    expect(() => validateQuantOptions({ bits: 4, blockSize: 8, zeroPoint: false })).toThrow(/>= 16/);
    expect(() => validateQuantOptions({ bits: 3 as Bits, blockSize: 32, zeroPoint: false })).toThrow(
      /4 or 8/,
    );
  });
});

describe('MatMulNBits in onnxruntime-node equals x · dequant(W)ᵀ', () => {
  it.each(cases4())('%o', async (o) => {
    const n = 24;
    const k = 40;
    const w = randomFloats(n * k, 3);
    const x = randomFloats(2 * k, 4);
    const g = new GraphBuilder({ name: 'mmnb' });
    const y = linear(g, g.input('x', DataType.FLOAT, [2, k]), 'lin', w, n, k, null, {
      kind: 'nbits',
      ...o,
      accuracyLevel: 0,
    });
    g.output(y, 'y', DataType.FLOAT, [2, n]);
    const out = (await runGraph(g, { x: f32(x, [2, k]) }))['y'].data as Float32Array;
    const wq = dequantizeMatrix(quantizeMatrix(w, n, k, o));
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < n; c++) {
        let s = 0;
        for (let i = 0; i < k; i++) s += x[r * k + i] * wq[c * k + i];
        expect(out[r * n + c]).toBeCloseTo(s, 4);
      }
    }
  });
});

function cases4(): { bits: Bits; blockSize: number; zeroPoint: boolean }[] {
  return [
    { bits: 4, blockSize: 16, zeroPoint: false },
    { bits: 4, blockSize: 32, zeroPoint: true },
    { bits: 8, blockSize: 16, zeroPoint: false },
    { bits: 8, blockSize: 32, zeroPoint: true },
  ];
}
