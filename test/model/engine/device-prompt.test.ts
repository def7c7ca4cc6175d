/**
 * Pure pieces of the device path: where each prompt row's embedding comes from when image rows are placed one
 * vision run at a time (device-prompt.ts), and how many tiles one vision run may take (vision-batching.ts).
 */
import { describe, expect, it } from 'vitest';
import { imageRowSources } from '../../../src/model/engine/device-prompt.ts';
import {
  activationBytesPerTile,
  CPU_VISION_TILES,
  DEVICE_VISION_MEMORY_BYTES,
  MAX_VISION_TILES,
  tilesWithin,
} from '../../../src/model/engine/vision-batching.ts';

const I = 9; // image token id
const ids = (rows: number[][]) => BigInt64Array.from(rows.flat().map(BigInt));

describe('imageRowSources', () => {
  // batch 2, seq 6, 2 tokens per tile; row 0 has 1 tile, row 1 has 2 tiles (tiles numbered 0 | 1, 2).
  const inputIds = ids([
    [0, 1, I, I, 2, 3],
    [I, I, 5, I, I, 4],
  ]);
  const rowTiles = [1, 2];
  const cases: { first: number; count: number; want: number[] }[] = [
    // one run with every tile: image table rows start at B·S = 12
    { first: 0, count: 3, want: [0, 1, 12, 13, 4, 5, 14, 15, 8, 16, 17, 11] },
    // tile 0 only
    { first: 0, count: 1, want: [0, 1, 12, 13, 4, 5, 6, 7, 8, 9, 10, 11] },
    // tiles 1 and 2 (row 1's), numbered from the run's first tile
    { first: 1, count: 2, want: [0, 1, 2, 3, 4, 5, 12, 13, 8, 14, 15, 11] },
    // no tile: every row keeps its own embedding
    { first: 0, count: 0, want: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] },
  ];
  for (const c of cases) {
    it(`tiles [${c.first}, ${c.first + c.count})`, () => {
      expect([...imageRowSources(inputIds, 2, 6, I, rowTiles, 2, c.first, c.count)].map(Number)).toEqual(
        c.want,
      );
    });
  }

  it('names the row whose image-token count does not match its tiles', () => {
    expect(() => imageRowSources(inputIds, 2, 6, I, [1, 1], 2, 0, 2)).toThrow(/row 1: the prompt has more/);
    expect(() => imageRowSources(inputIds, 2, 6, I, [2, 2], 2, 0, 4)).toThrow(
      /row 0: the prompt has 2 <IMG_CONTEXT> tokens but there are 4 image embeddings/,
    );
  });
});

describe('vision tiles per run', () => {
  const vit300m = { tokens: 1025, hidden: 1024, heads: 16, intermediate: 4096 };
  it('InternViT-300M: ~105 MB of activations per tile, so the 4 GiB device budget takes 40 tiles', () => {
    expect(activationBytesPerTile(vit300m)).toBe(4 * (1025 * (5 * 1024 + 4096) + 16 * 1025 * 1025));
    expect(tilesWithin(DEVICE_VISION_MEMORY_BYTES, vit300m)).toBe(40);
  });
  it('at least one tile, at most MAX_VISION_TILES', () => {
    expect(tilesWithin(1, vit300m)).toBe(1);
    expect(tilesWithin(2 ** 50, vit300m)).toBe(MAX_VISION_TILES);
    expect(CPU_VISION_TILES).toBe(4);
  });
});
