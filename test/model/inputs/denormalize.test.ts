import { describe, expect, it } from 'vitest';
import {
  denormalizeTiles,
  NORMALIZE_LUT,
  normalizeRgbInto,
  normalizeTiles,
} from '../../../src/model/inputs/normalize.ts';

describe('denormalizeTiles recovers the RGB bytes of normalised tiles exactly', () => {
  it('every byte value of every channel, in two tiles', () => {
    const size = 16; // 256 pixels: pixel i holds (i, 255 - i, i * 7 mod 256)
    const tiles = [0, 1].map((t) => {
      const rgb = new Uint8Array(size * size * 3);
      for (let i = 0; i < size * size; i++) rgb.set([(i + t) & 255, 255 - i, (i * 7) & 255], i * 3);
      return rgb;
    });
    const back = denormalizeTiles(normalizeTiles(tiles, size), 2, size);
    expect(back.map((b) => Buffer.from(b).toString('hex'))).toEqual(
      tiles.map((b) => Buffer.from(b).toString('hex')),
    );
  });

  it('the table is strictly increasing per channel (what makes the inverse exact)', () => {
    for (let c = 0; c < 3; c++)
      for (let v = 1; v < 256; v++)
        expect(NORMALIZE_LUT[c * 256 + v]).toBeGreaterThan(NORMALIZE_LUT[c * 256 + v - 1]);
  });

  it.each([
    [
      'a value between two table entries',
      0.5 * (NORMALIZE_LUT[10] + NORMALIZE_LUT[11]),
      /not a normalised byte/,
    ],
    ['a value far outside the table', 1e6, /not a normalised byte/],
  ])('rejects %s', (_n, x, err) => {
    const v = new Float32Array(3 * 4 * 4).fill(NORMALIZE_LUT[0]);
    v[5] = x;
    expect(() => denormalizeTiles(v, 1, 4)).toThrow(err);
  });

  it('rejects too few values', () => {
    expect(() => denormalizeTiles(new Float32Array(10), 1, 4)).toThrow(/cannot hold 1 tiles/);
  });
});

describe('normalizeRgbInto reads a tile at any byte alignment of its source view', () => {
  it.each([
    [0, 0],
    [2, 2], // view and offset both off a word boundary, their sum on it
    [1, 3],
    [4, 0],
  ])('view at byte %i, tile at offset %i: the same values as an aligned copy', (viewAt, tileAt) => {
    const size = 8;
    const stride = size * 3;
    const backing = new Uint8Array(viewAt + tileAt + size * stride);
    for (let i = 0; i < backing.length; i++) backing[i] = (i * 37) & 255;
    const view = backing.subarray(viewAt);
    const got = new Float32Array(3 * size * size);
    normalizeRgbInto(view, tileAt, stride, size, got, 0);
    const aligned = view.slice(tileAt, tileAt + size * stride);
    expect(Array.from(got)).toEqual(Array.from(normalizeTiles([aligned], size)));
  });
});
