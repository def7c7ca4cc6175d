import { describe, expect, it } from 'vitest';
import { preprocessImage } from '../../../src/model/inputs/image-preprocess.ts';
import {
  float32ToFloat16Bits,
  NORMALIZE_LUT,
  normalizeTiles,
  normalizeTilesFloat16,
  toFloat16,
} from '../../../src/model/inputs/normalize.ts';
import { chooseGrid, dynamicPreprocess, targetRatios } from '../../../src/model/inputs/tiling.ts';
import { byteDiff, fixtureBytes, manifest, readJsonFixture, sha256 } from './image-fixtures.ts';

describe('chooseGrid = find_closest_aspect_ratio over sorted target_ratios', () => {
  const sweep = readJsonFixture<number[][]>('grid.json');

  it(`matches the Python reference on ${sweep.length} sizes x max_num (incl. min_num > 1)`, () => {
    const wrong = sweep.filter(([w, h, mx, i, j, mn]) => {
      const [c, r] = chooseGrid(w, h, mx, mn ?? 1);
      return c !== i || r !== j;
    });
    expect(wrong).toEqual([]);
  });

  // Every tie case named in shared/docs/preprocessing.md, step 3 and the EXIF note.
  it.each([
    [950, 950, 12, [2, 2], 'area 902,500 <= 903,168: tie keeps (2,2)'],
    [951, 951, 12, [3, 3], 'area above half of (3,3): later tie wins'],
    [1200, 600, 12, [2, 1], '2:1 ties (2,1) and (4,2): small area keeps (2,1)'],
    [1300, 650, 12, [4, 2], 'large area takes (4,2)'],
    [700, 560, 6, [1, 1], '1.25 ties (1,1), (2,2), (3,2): small keeps (1,1)'],
    [800, 640, 6, [2, 2], 'middle area takes (2,2) but not (3,2)'],
    [1000, 800, 6, [3, 2], 'large area takes (3,2)'],
    [600, 400, 6, [3, 2], 'EXIF-6 image processed as stored 600x400'],
    [600, 400, 12, [3, 2], 'same at max 12'],
    [400, 600, 6, [2, 3], 'what an exif_transpose port would see'],
    [448, 448, 6, [1, 1], 'square at tile size'],
    [1, 1000, 6, [1, 6], 'extreme portrait'],
  ] as [number, number, number, number[], string][])('%ix%i at max %i -> %j (%s)', (w, h, max, grid) => {
    expect(chooseGrid(w, h, max)).toEqual(grid);
  });

  it('enumerates every (i, j) with min <= i*j <= max, sorted by i*j', () => {
    const r = targetRatios(12);
    const products = r.map(([i, j]) => i * j);
    expect(products).toEqual([...products].sort((a, b) => a - b));
    const ref = new Set<string>();
    for (let n = 1; n <= 12; n++)
      for (let i = 1; i <= n; i++) for (let j = 1; j <= n; j++) if (i * j <= 12) ref.add(`${i},${j}`);
    expect(new Set(r.map((x) => x.join(',')))).toEqual(ref);
    expect(targetRatios(6, 2).every(([i, j]) => i * j >= 2)).toBe(true);
  });

  it('rejects bad arguments', () => {
    expect(() => chooseGrid(0, 10, 6)).toThrow(/bad image size/);
    expect(() => chooseGrid(10, 10, 0)).toThrow(/maxTiles/);
    expect(() => chooseGrid(10, 10, 6, 7)).toThrow(/minTiles/);
  });
});

describe('dynamic_preprocess tiles are byte-identical to Pillow', () => {
  it.each(
    manifest.tiles.map(
      (c) =>
        [
          `${c.src} max ${c.maxNum}${c.useThumbnail ? '' : ' no-thumb'}${c.upscale > 1 ? ` upscale x${c.upscale}` : ''}`,
          c,
        ] as const,
    ),
  )('%s', async (_n, c) => {
    const r = await preprocessImage(fixtureBytes(c.src), {
      maxTiles: c.maxNum,
      useThumbnail: c.useThumbnail,
      upscale: c.upscale,
    });
    expect([r.width, r.height]).toEqual([c.width, c.height]);
    expect(r.grid).toEqual(c.grid);
    expect(r.tiles).toBe(c.tiles.length);
    r.tileRgb.forEach((t, k) => {
      for (const [i, v] of c.tiles[k].samples) expect(t[i], `tile ${k} byte ${i}`).toBe(v);
      expect(sha256(t), `tile ${k}`).toBe(c.tiles[k].sha256);
    });
    // (compare as bytes: a deep toEqual over millions of floats takes minutes)
    const want = normalizeTiles(r.tileRgb);
    expect(r.pixelValues.length).toBe(r.tiles * 3 * 448 * 448);
    expect(Buffer.compare(Buffer.from(r.pixelValues.buffer), Buffer.from(want.buffer))).toBe(0);
  });

  it('crops row-major and appends the thumbnail only when there is more than one tile', async () => {
    // 4x2 blocks of distinct colours, scaled to exactly 2x1 tiles: tile k must be the k-th block pair, row-major
    const w = 896;
    const h = 448;
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) data.set([x < 448 ? 10 : 200, y, 0], (y * w + x) * 3);
    const two = await dynamicPreprocess({ width: w, height: h, data }, { maxTiles: 2, useThumbnail: true });
    expect(two.grid).toEqual([2, 1]);
    expect(two.tiles.length).toBe(3);
    expect(two.tiles[0][0]).toBe(10);
    expect(two.tiles[1][0]).toBe(200);
    const one = await dynamicPreprocess({ width: w, height: h, data }, { maxTiles: 1, useThumbnail: true });
    expect(one.tiles.length).toBe(1);
    const noThumb = await dynamicPreprocess(
      { width: w, height: h, data },
      { maxTiles: 2, useThumbnail: false },
    );
    expect(noThumb.tiles.length).toBe(2);
  });

  it("'fast' mode chooses the same grid, with pixels close to but not equal to Pillow's", async () => {
    const opts = { maxTiles: 6, useThumbnail: true } as const;
    const exact = await preprocessImage(fixtureBytes('src/doc-300x200.png'), opts);
    const fast = await preprocessImage(fixtureBytes('src/doc-300x200.png'), { ...opts, resize: 'fast' });
    expect(fast.grid).toEqual(exact.grid);
    expect(fast.tiles).toBe(exact.tiles);
    expect(byteDiff(fast.tileRgb[0], exact.tileRgb[0]).count).toBeGreaterThan(0);
  });

  it('rejects a non-integer upscale', async () => {
    await expect(
      preprocessImage(fixtureBytes('src/gray.png'), { maxTiles: 1, useThumbnail: true, upscale: 1.5 }),
    ).rejects.toThrow(/upscale must be an integer/);
  });
});

describe('normalisation = ToTensor + Normalize(ImageNet) in float32', () => {
  const ref = readJsonFixture<{ float32Bits: number[][]; float16Bits: number[][] }>('normalize.json');

  it('matches NumPy float32 bit for bit for every uint8 value and channel', () => {
    const bits = new Uint32Array(NORMALIZE_LUT.buffer.slice(0));
    expect([0, 1, 2].map((c) => [...bits.subarray(c * 256, c * 256 + 256)])).toEqual(ref.float32Bits);
  });

  it('float16 matches NumPy astype(float16)', () => {
    expect([0, 1, 2].map((c) => [...toFloat16(NORMALIZE_LUT.subarray(c * 256, c * 256 + 256))])).toEqual(
      ref.float16Bits,
    );
  });

  it.each([
    [0, 0],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [65520, 0x7c00],
    [Infinity, 0x7c00],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000],
    [3 * 2 ** -25, 0x0002],
    [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02],
  ])('float16 bits of %d = %i', (v, bits) => {
    expect(float32ToFloat16Bits(v)).toBe(bits);
  });

  it('lays out [tiles, 3, H, W] (CHW per tile)', () => {
    const t0 = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]); // 2x2 RGB
    const t1 = new Uint8Array(12).fill(255);
    const out = normalizeTiles([t0, t1], 2);
    expect(out.length).toBe(24);
    expect(out[0]).toBe(NORMALIZE_LUT[0]); // R of pixel 0
    expect(out[1]).toBe(NORMALIZE_LUT[3]); // R of pixel 1
    expect(out[4]).toBe(NORMALIZE_LUT[256 + 1]); // G of pixel 0
    expect(out[8 + 3]).toBe(NORMALIZE_LUT[512 + 11]); // B of pixel 3
    expect(out[12]).toBe(NORMALIZE_LUT[255]);
    expect([...normalizeTilesFloat16([t0, t1], 2)]).toEqual([...toFloat16(out)]);
    expect(() => normalizeTiles([new Uint8Array(5)], 2)).toThrow(/tile 0 has 5 bytes/);
  });
});
