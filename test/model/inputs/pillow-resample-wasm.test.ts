import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileWat, WAT_FILES } from '../../../scripts/wasm/build-wasm.ts';
import { PillowResampler } from '../../../src/model/inputs/pillow-resample-wasm.ts';
import { pillowResizeScalar } from '../../../src/model/inputs/pillow-resize.ts';
import type { ResampleFilter } from '../../../src/model/inputs/resample-coefficients.ts';

/** Deterministic bytes with many hard 0/255 edges (where clipping and negative lobes matter). */
function image(w: number, h: number, seed: number): Uint8Array {
  let s = seed;
  const out = new Uint8Array(w * h * 3);
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const r = s / 0x7fffffff;
    out[i] = r < 0.15 ? 0 : r < 0.3 ? 255 : Math.floor(r * 256);
  }
  return out;
}

describe('WebAssembly resample kernel = the TypeScript port of Pillow, byte for byte', () => {
  // Sizes that exercise: 1-pixel images, row tails shorter than a vector, up- and downscaling, one pass only,
  // wide kernels (large reductions) and the row window of the horizontal pass.
  const cases: [number, number, number, number, ResampleFilter][] = [
    [1, 1, 5, 3, 'bicubic'],
    [3, 2, 1, 1, 'bicubic'],
    [5, 7, 5, 3, 'bicubic'],
    [5, 7, 9, 7, 'bilinear'],
    [17, 13, 448, 448, 'bicubic'],
    [37, 23, 16, 23, 'bicubic'],
    [640, 9, 21, 40, 'bicubic'],
    [300, 200, 896, 448, 'bicubic'],
    [300, 200, 600, 400, 'bilinear'],
    [1000, 700, 448, 448, 'bicubic'],
    [1000, 700, 1344, 896, 'bicubic'],
    [2000, 50, 448, 448, 'bicubic'],
  ];
  const r = new PillowResampler();
  it.each(cases)('%ix%i -> %ix%i %s', (w, h, nw, nh, filter) => {
    const src = image(w, h, w * 31 + h);
    const want = pillowResizeScalar(src, w, h, nw, nh, filter);
    r.setSource(src, w, h);
    const got = r.resize(nw, nh, filter);
    expect(got.length).toBe(want.length);
    expect(Buffer.compare(Buffer.from(got), Buffer.from(want))).toBe(0);
  });

  it('reuses its memory: a smaller image after a larger one gives the same bytes as a fresh resampler', () => {
    const big = image(1200, 900, 1);
    r.setSource(big, 1200, 900);
    r.resize(1344, 896, 'bicubic');
    const small = image(50, 40, 2);
    r.setSource(small, 50, 40);
    const fresh = new PillowResampler();
    fresh.setSource(small, 50, 40);
    expect(Buffer.from(r.resize(31, 17, 'bicubic'))).toEqual(Buffer.from(fresh.resize(31, 17, 'bicubic')));
  });

  it.each(WAT_FILES)('the committed .wasm is what scripts/wasm/build-wasm.ts makes of %s', async (wat) => {
    const built = await compileWat(wat);
    const committed = new Uint8Array(
      readFileSync(new URL(`../../../${wat.replace(/\.wat$/, '.wasm')}`, import.meta.url)),
    );
    expect(Buffer.from(committed).equals(Buffer.from(built))).toBe(true);
  });
});
