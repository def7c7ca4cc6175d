import { describe, expect, it } from 'vitest';
import {
  applyRotary,
  erf,
  gelu,
  layerNorm,
  linear,
  permute4,
  pixelShuffle,
  rmsNorm,
  silu,
  splitPackedQkv,
} from './math.ts';

describe('erf / gelu / silu', () => {
  it.each([
    [0, 0],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [-1, -0.8427007929497149],
    [2, 0.9953222650189527],
    [2.9, 0.9999589021219005],
    [3.5, 0.9999992569016276],
    [6, 1],
  ])('erf(%s) = %s', (x, y) => {
    expect(erf(x)).toBeCloseTo(y, 13);
  });
  it('gelu is the exact erf form, silu is x·sigmoid(x)', () => {
    expect(gelu(1)).toBeCloseTo(0.8413447460685429, 13);
    expect(gelu(-3)).toBeCloseTo(-1.5 * 0.0026997960632601866, 14); // -3 * Phi(-3)
    expect(silu(2)).toBeCloseTo(2 / (1 + Math.exp(-2)), 15);
  });
});

describe('norms and linear', () => {
  it('RMSNorm: x / rms(x) * w, no bias, no +1', () => {
    const y = rmsNorm(Float64Array.from([3, 4, 0, 0]), 2, [1, 2], 1e-5);
    expect(y[0]).toBeCloseTo(3 / Math.sqrt(12.5 + 1e-5), 14);
    expect(y[1]).toBeCloseTo((4 / Math.sqrt(12.5 + 1e-5)) * 2, 14);
    expect(y[2]).toBe(0);
    expect(rmsNorm(Float64Array.from([1, 1]), 2, [1, 1], 1)[0]).toBeCloseTo(1 / Math.sqrt(2), 14);
  });
  it('LayerNorm: biased variance, affine', () => {
    const y = layerNorm(Float64Array.from([1, 2, 3]), 3, [1, 1, 2], [0, 0, 1], 0);
    const s = Math.sqrt(2 / 3);
    expect(Array.from(y)).toEqual([-1 / s, 0, 1 + 2 / s].map((v) => expect.closeTo(v, 12)));
  });
  it('linear uses [out, in] weights', () => {
    expect(Array.from(linear(Float64Array.from([1, 2]), 1, 2, [1, 0, 0, 1, 1, 1], 3, [0, 0, 10]))).toEqual([
      1, 2, 13,
    ]);
  });
});

describe('rotary (half-split, rotate_half convention)', () => {
  it('rotates dim j with dim j + d/2 by position * theta^(-2j/d)', () => {
    const x = Float64Array.from([1, 0, 0, 0]);
    applyRotary(x, 0, 4, 1, 10000); // inv_freq = [1, 0.01]
    expect(Array.from(x)).toEqual([Math.cos(1), 0, Math.sin(1), 0].map((v) => expect.closeTo(v, 14)));
    const y = Float64Array.from([0, 0, 1, 0]);
    applyRotary(y, 0, 4, 1, 10000);
    expect(Array.from(y)).toEqual([-Math.sin(1), 0, Math.cos(1), 0].map((v) => expect.closeTo(v, 14)));
    const z = Float64Array.from([0, 1, 0, 0]);
    applyRotary(z, 0, 4, 3, 10000);
    expect(Array.from(z)).toEqual([0, Math.cos(0.03), 0, Math.sin(0.03)].map((v) => expect.closeTo(v, 14)));
  });
  it('equals q*cos(emb) + rotate_half(q)*sin(emb) with emb = cat(freqs, freqs)', () => {
    const d = 8;
    const q = [0.3, -1.2, 0.7, 2.0, -0.4, 0.9, 1.1, -0.6];
    const pos = 5;
    const theta = 1e6;
    const freqs = Array.from({ length: d / 2 }, (_, j) => pos / theta ** ((2 * j) / d));
    const emb = [...freqs, ...freqs];
    const rotateHalf = [...q.slice(d / 2).map((v) => -v), ...q.slice(0, d / 2)];
    const expected = q.map((v, i) => v * Math.cos(emb[i]) + rotateHalf[i] * Math.sin(emb[i]));
    const x = Float64Array.from([9, ...q]); // at an offset
    applyRotary(x, 1, d, pos, theta);
    expect(Array.from(x.subarray(1))).toEqual(expected.map((v) => expect.closeTo(v, 14)));
    expect(x[0]).toBe(9);
  });
  it('is the identity at position 0', () => {
    const x = Float64Array.from([1, 2, 3, 4]);
    applyRotary(x, 0, 4, 0, 1e6);
    expect(Array.from(x)).toEqual([1, 2, 3, 4]);
  });
});

describe('packed wqkv regrouping', () => {
  it('rows per KV head g are [Q 2g, Q 2g+1, K g, V g] (4 heads, 2 KV heads)', () => {
    const { q, k, v } = splitPackedQkv([0, 1, 2, 3, 4, 5, 6, 7], 4, 2, 1);
    expect(Array.from(q)).toEqual([0, 1, 4, 5]);
    expect(Array.from(k)).toEqual([2, 6]);
    expect(Array.from(v)).toEqual([3, 7]);
  });
  it('InternVL2-2B shape: 16 heads, 8 KV heads, d 128 -> row r is group r//512, slot (r%512)//128', () => {
    const rows = Float64Array.from({ length: 4096 }, (_, r) => r);
    const { q, k, v } = splitPackedQkv(rows, 16, 8, 128);
    // Query head 5 = group 2, slot 1 -> rows 2*512 + 128 .. ; K head 3 -> rows 3*512 + 256 ..; V head 7 -> 7*512 + 384.
    expect(q[5 * 128]).toBe(2 * 512 + 128);
    expect(k[3 * 128 + 10]).toBe(3 * 512 + 256 + 10);
    expect(v[7 * 128 + 127]).toBe(7 * 512 + 384 + 127);
  });
  it('MHA (groups of 1): [Q g, K g, V g]', () => {
    const { q, k, v } = splitPackedQkv([0, 1, 2, 3, 4, 5], 2, 2, 1);
    expect([Array.from(q), Array.from(k), Array.from(v)]).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
  });
});

describe('pixel shuffle (model-runtime.md B.3)', () => {
  const grid = Float64Array.from({ length: 16 }, (_, i) => i); // 4x4, C=1, value = row*4 + col
  it('v2: token (i, j) holds source pixels (2i+dy, 2j+dx) at channel dy*2C + dx*C + c', () => {
    expect(Array.from(pixelShuffle(grid, 1, 4, 4, 1, 0.5, 'v2'))).toEqual([
      0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15,
    ]);
  });
  it('v1 is the transposed token grid (not equivalent)', () => {
    expect(Array.from(pixelShuffle(grid, 1, 4, 4, 1, 0.5, 'v1'))).toEqual([
      0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15,
    ]);
  });
  it('v2 equals the 6-D form reshape(B,G/2,2,G/2,2,C) -> transpose(0,1,3,2,4,5) for C=3, 2 images', () => {
    const B = 2;
    const G = 4;
    const C = 3;
    const x = Float64Array.from({ length: B * G * G * C }, (_, i) => Math.sin(i * 1.7));
    const got = pixelShuffle(x, B, G, G, C, 0.5, 'v2');
    for (let b = 0; b < B; b++)
      for (let i2 = 0; i2 < G / 2; i2++)
        for (let j2 = 0; j2 < G / 2; j2++)
          for (let dy = 0; dy < 2; dy++)
            for (let dx = 0; dx < 2; dx++)
              for (let c = 0; c < C; c++) {
                const token = i2 * (G / 2) + j2;
                const ch = dy * 2 * C + dx * C + c;
                const src = ((b * G + 2 * i2 + dy) * G + 2 * j2 + dx) * C + c;
                expect(got[(b * (G / 2) ** 2 + token) * 4 * C + ch]).toBe(x[src]);
              }
  });
  it('permute4 follows torch permute', () => {
    const x = Float64Array.from({ length: 6 }, (_, i) => i); // [1, 2, 3, 1]
    const { data, shape } = permute4(x, [1, 2, 3, 1], [0, 2, 1, 3]);
    expect(shape).toEqual([1, 3, 2, 1]);
    expect(Array.from(data)).toEqual([0, 3, 1, 4, 2, 5]);
  });
});
