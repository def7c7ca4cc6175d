/**
 * Decode once per sweep: with the process-wide decoded-image cache on, the same image at several tile caps is
 * decoded once (in-process and through the worker pool), and every result is what an uncached run gives.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  DecodedImageCache,
  decodedImageCache,
  decodedImageKey,
  enableDecodedImageCache,
  toSharedImage,
} from '../../../src/model/inputs/decoded-image-cache.ts';
import { preprocessImage, type PreprocessOptions } from '../../../src/model/inputs/image-preprocess.ts';
import { PreprocessPool } from '../../../src/model/inputs/preprocess-pool.ts';
import { noisyPicture } from './noisy-picture.ts';

const picture = (w: number, h: number, seed: number) => noisyPicture(w, h, { seed });

afterEach(() => enableDecodedImageCache(0));

const caps: PreprocessOptions[] = [
  { maxTiles: 1, useThumbnail: true },
  { maxTiles: 4, useThumbnail: true },
  { maxTiles: 6, useThumbnail: true },
  { maxTiles: 6, useThumbnail: true, resize: 'fast' },
  { maxTiles: 2, useThumbnail: true, upscale: 2 },
];

describe('decoded-image cache', () => {
  it.each([0, 1, 2])('pool of %i: one decode per image across tile caps, same results', async (size) => {
    const images = [await picture(500, 300, 1), await picture(200, 260, 2)];
    const want = await Promise.all(images.flatMap((b) => caps.map((o) => preprocessImage(b, o))));
    enableDecodedImageCache();
    const pool = new PreprocessPool({ size });
    try {
      // one round first (the decodes), then the other caps: each image decoded exactly once
      const got = [];
      for (const b of images) for (const o of caps) got.push(await pool.preprocess(new Uint8Array(b), o));
      const cache = decodedImageCache()!;
      expect(cache.misses).toBe(images.length);
      expect(cache.hits).toBe(images.length * (caps.length - 1));
      expect(cache.size).toBe(500 * 300 * 3 + 200 * 260 * 3);
      got.forEach((g, i) => {
        expect([g.grid, g.tiles]).toEqual([want[i].grid, want[i].tiles]);
        expect(
          Buffer.from(g.pixelValues.buffer).equals(Buffer.from(want[i].pixelValues.buffer)),
          `result ${i}`,
        ).toBe(true);
        g.tileRgb.forEach((t, k) =>
          expect(Buffer.from(t).equals(Buffer.from(want[i].tileRgb[k]))).toBe(true),
        );
      });
    } finally {
      await pool.close();
    }
  });

  it('evicts least recently used entries beyond its byte budget; keys depend on content and pixel limit', () => {
    const img = (n: number) => toSharedImage({ width: n, height: 1, data: new Uint8Array(n * 3) });
    const c = new DecodedImageCache(100);
    c.set('a', img(10)); // 30 bytes
    c.set('b', img(10));
    c.set('c', img(10));
    expect(c.get('a')).toBeDefined(); // a is now the most recent
    c.set('d', img(10)); // 120 > 100: evicts b, the least recently used
    expect([c.get('b'), c.get('a'), c.get('c'), c.get('d')].map((x) => x !== undefined)).toEqual([
      false,
      true,
      true,
      true,
    ]);
    expect(c.size).toBe(90);
    c.set('huge', img(40)); // larger than the whole budget: not kept, nothing evicted
    expect(c.size).toBe(90);
    const bytes = new Uint8Array([1, 2, 3]);
    expect(decodedImageKey(bytes, undefined)).toBe(decodedImageKey(new Uint8Array([1, 2, 3]), undefined));
    expect(decodedImageKey(bytes, undefined)).not.toBe(decodedImageKey(new Uint8Array([1, 2, 4]), undefined));
    expect(decodedImageKey(bytes, undefined)).not.toBe(decodedImageKey(bytes, 1000));
  });

  it('is off unless enabled', async () => {
    expect(decodedImageCache()).toBeUndefined();
    enableDecodedImageCache(1 << 20);
    expect(decodedImageCache()?.maxBytes).toBe(1 << 20);
    enableDecodedImageCache(0);
    expect(decodedImageCache()).toBeUndefined();
  });
});
