/**
 * Pixel buffers handed back (releasePixelValues / PreprocessPool.release) are reused for the next image with as
 * many tiles, and a reused buffer holding another image's values gives exactly the fresh result.
 */
import { describe, expect, it } from 'vitest';
import {
  preprocessImage,
  releasePixelValues,
  type PreprocessOptions,
} from '../../../src/model/inputs/image-preprocess.ts';
import { PreprocessPool } from '../../../src/model/inputs/preprocess-pool.ts';
import { noisyPicture } from './noisy-picture.ts';

const picture = (w: number, h: number, seed: number) => noisyPicture(w, h, { seed });

const opts: PreprocessOptions = { maxTiles: 6, useThumbnail: true };
const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));

describe('pixel buffer reuse', () => {
  it('in-process: a released buffer is reused, fully overwritten', async () => {
    const x = await picture(600, 400, 1); // 3x2 + thumbnail = 7 tiles
    const y = await picture(300, 200, 2); // also 7 tiles
    const freshY = await preprocessImage(y, opts);
    const rx = await preprocessImage(x, opts);
    const bufX = rx.pixelValues;
    releasePixelValues(bufX);
    const ry = await preprocessImage(y, opts);
    expect(ry.pixelValues).toBe(bufX); // the same buffer, now holding y
    expect(same(ry.pixelValues, freshY.pixelValues)).toBe(true);
    expect(ry.tileRgb.map((t) => Buffer.from(t).toString('base64'))).toEqual(
      freshY.tileRgb.map((t) => Buffer.from(t).toString('base64')),
    );
  });

  it.each([0, 1, 2])('pool of %i: release then preprocess gives the fresh result', async (size) => {
    const x = await picture(600, 400, 3);
    const y = await picture(300, 200, 4);
    const freshY = await preprocessImage(y, opts);
    const pool = new PreprocessPool({ size });
    try {
      for (let round = 0; round < 3; round++) {
        const rx = await pool.preprocess(x, opts);
        pool.release(rx);
        if (size > 0) expect(rx.pixelValues.length).toBe(0); // transferred back to the worker
        const ry = await pool.preprocess(y, opts);
        expect(same(ry.pixelValues, freshY.pixelValues), `round ${round}`).toBe(true);
        pool.release(ry);
      }
    } finally {
      await pool.close();
    }
  });
});

describe('a worker decodes PNG rows straight into the resampler memory', () => {
  // 448x448 at minTiles 2: the grid is resized (2x2) and the thumbnail is the source itself, read after the
  // kernel's memory may have grown; 896x448 at max 2: the grid is the source itself.
  it.each([
    ['448x448, min 2: same-size thumbnail', 448, 448, { maxTiles: 4, minTiles: 2, useThumbnail: true }],
    ['896x448, max 2: same-size grid', 896, 448, { maxTiles: 2, useThumbnail: true }],
    ['2000x1500 then reused memory', 2000, 1500, { maxTiles: 6, useThumbnail: true }],
  ] as [string, number, number, PreprocessOptions][])('%s: same as in-process', async (_n, w, h, o) => {
    const b = await picture(w, h, w + h);
    const want = await preprocessImage(b, o);
    const pool = new PreprocessPool({ size: 1 });
    try {
      for (let k = 0; k < 2; k++) {
        const got = await pool.preprocess(b, o);
        expect(got.grid).toEqual(want.grid);
        expect(same(got.pixelValues, want.pixelValues)).toBe(true);
      }
    } finally {
      await pool.close();
    }
  });
});
