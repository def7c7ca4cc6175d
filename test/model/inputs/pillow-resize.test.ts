import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../../src/model/inputs/image-decode.ts';
import { pillowResize, sharpResize } from '../../../src/model/inputs/pillow-resize.ts';
import { resampleCoefficients } from '../../../src/model/inputs/resample-coefficients.ts';
import { byteDiff, fixtureBytes, gunzipFixture, manifest, sha256 } from './image-fixtures.ts';

const sources = new Map<string, Awaited<ReturnType<typeof decodeImage>>>();
async function source(rel: string) {
  if (!sources.has(rel)) sources.set(rel, await decodeImage(fixtureBytes(rel), { origin: rel }));
  return sources.get(rel)!;
}

describe('pillowResize is byte-identical to Pillow 9.4 Image.resize', () => {
  it.each(manifest.resize.map((c) => [`${c.src} -> ${c.width}x${c.height} ${c.filter}`, c] as const))(
    '%s',
    async (_name, c) => {
      const src = await source(c.src);
      const out = pillowResize(src.data, src.width, src.height, c.width, c.height, c.filter);
      expect(out.length).toBe(c.width * c.height * 3);
      if (c.expected)
        expect(byteDiff(out, gunzipFixture(c.expected))).toEqual({ max: 0, count: 0, first: -1 });
      for (const [i, v] of c.samples) expect(out[i], `byte ${i}`).toBe(v);
      expect(sha256(out)).toBe(c.sha256);
    },
  );

  it('covers downscale, upscale, one-axis, odd sizes, 1x1 and identity in the fixtures', () => {
    const kinds = new Set(
      manifest.resize.map((c) => {
        const [w, h] = c.src.includes('1x1') ? [1, 1] : c.src.includes('3x2') ? [3, 2] : [61, 47];
        if (c.width === w && c.height === h) return 'identity';
        if (c.width === 1 && c.height === 1) return '1x1';
        if (c.width === w || c.height === h) return 'one-axis';
        return c.width < w ? 'down' : 'up';
      }),
    );
    expect([...kinds].sort()).toEqual(['1x1', 'down', 'identity', 'one-axis', 'up']);
  });

  it('returns a copy, not the input, on identity sizes', () => {
    const rgb = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const out = pillowResize(rgb, 2, 1, 2, 1, 'bicubic');
    expect(out).toEqual(rgb);
    expect(out).not.toBe(rgb);
  });

  it('keeps a flat colour flat in both directions (weights sum to 1 in fixed point)', () => {
    const rgb = new Uint8Array(37 * 23 * 3).fill(200);
    for (const [w, h] of [
      [5, 7],
      [448, 448],
      [100, 3],
    ]) {
      const out = pillowResize(rgb, 37, 23, w, h, 'bicubic');
      expect(new Set(out)).toEqual(new Set([200]));
    }
  });

  it('stretches the kernel support when downscaling (antialiasing) and not when upscaling', () => {
    expect(resampleCoefficients(1000, 100, 'bicubic').ksize).toBe(41); // ceil(2 * 10) * 2 + 1
    expect(resampleCoefficients(100, 1000, 'bicubic').ksize).toBe(5);
    expect(resampleCoefficients(100, 1000, 'bilinear').ksize).toBe(3);
  });

  it('rejects inconsistent sizes with a clear error', () => {
    expect(() => pillowResize(new Uint8Array(5), 2, 1, 1, 1, 'bicubic')).toThrow(/expected 2x1x3 = 6 bytes/);
    expect(() => pillowResize(new Uint8Array(6), 2, 1, 0, 1, 'bicubic')).toThrow(
      /new width must be a positive integer/,
    );
  });

  it("'fast' (sharp) keeps the size but is not Pillow-exact", async () => {
    const src = await source('src/resize-src.png');
    const exact = pillowResize(src.data, src.width, src.height, 17, 13, 'bicubic');
    const fast = await sharpResize(src.data, src.width, src.height, 17, 13, 'bicubic');
    expect(fast.length).toBe(exact.length);
    expect(byteDiff(fast, exact).count).toBeGreaterThan(0);
  });
});
