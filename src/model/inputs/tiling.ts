/**
 * InternVL's dynamic tiling, identical to `dynamic_preprocess` + `find_closest_aspect_ratio`
 * (OpenGVLab/InternVL internvl_chat/internvl/train/dataset.py; same code in VLMEvalKit vlmeval/vlm/internvl_chat.py).
 * shared/docs/preprocessing.md "The algorithm, exactly" and eval-protocols.md §2.1.
 */
import { pillowResize, sharpResize } from './pillow-resize.ts';
import type { ResampleFilter } from './resample-coefficients.ts';
import type { RgbImage } from './rgb-image.ts';

export const IMAGE_SIZE = 448;

/** Grid as `[cols, rows]` = `(i, j)` of the reference: the resized image is (448*cols) x (448*rows). */
export type Grid = [cols: number, rows: number];

/**
 * Candidate grids in the reference's iteration order: all (i, j) with minTiles <= i*j <= maxTiles, sorted by i*j.
 * The reference sorts a Python `set`, so equal-product grids come in hash order; preprocessing.md shows (and
 * `check_set_order_irrelevant()` proves for maxTiles <= 40) that no tie involves two grids of the same product,
 * so any order within a product gives the same answer. We use i ascending, then j.
 */
export function targetRatios(maxTiles: number, minTiles = 1): Grid[] {
  const out: Grid[] = [];
  for (let n = minTiles; n <= maxTiles; n++) {
    for (let i = 1; i <= n; i++) {
      if (n % i === 0) out.push([i, n / i]);
    }
  }
  return out;
}

/**
 * `find_closest_aspect_ratio`: smallest |w/h - i/j| in float64; on an EXACT tie the later (larger) grid wins only
 * if the image area exceeds half the grid's pixel area (`area > 0.5 * 448 * 448 * i * j`). Note the quirk: that
 * condition does not compare against the current best grid. Start value (1, 1) with diff +inf.
 */
export function chooseGrid(
  width: number,
  height: number,
  maxTiles: number,
  minTiles = 1,
  imageSize = IMAGE_SIZE,
): Grid {
  if (!(width > 0 && height > 0)) throw new Error(`chooseGrid: bad image size ${width}x${height}`);
  if (!Number.isInteger(maxTiles) || maxTiles < 1)
    throw new Error(`chooseGrid: maxTiles must be >= 1, got ${maxTiles}`);
  if (!Number.isInteger(minTiles) || minTiles < 1 || minTiles > maxTiles) {
    throw new Error(`chooseGrid: minTiles must be in 1..maxTiles, got ${minTiles}`);
  }
  const aspect = width / height;
  const area = width * height;
  let bestDiff = Infinity;
  let best: Grid = [1, 1];
  for (const r of targetRatios(maxTiles, minTiles)) {
    const diff = Math.abs(aspect - r[0] / r[1]);
    if (diff < bestDiff) {
      bestDiff = diff;
      best = [r[0], r[1]];
    } else if (diff === bestDiff && area > 0.5 * imageSize * imageSize * r[0] * r[1]) {
      best = [r[0], r[1]];
    }
  }
  return best;
}

export interface TilingOptions {
  maxTiles: number;
  minTiles?: number;
  useThumbnail: boolean;
  /** 'exact' = Pillow-identical BICUBIC (default); 'fast' = sharp/libvips cubic, NOT identical. */
  resize?: 'exact' | 'fast';
  imageSize?: number;
}

export interface Tiling {
  readonly grid: Grid;
  /** Each tile `imageSize*imageSize*3` RGB bytes: row-major crops, then the thumbnail when there are >1 crops. */
  readonly tiles: Uint8Array[];
}

async function resize(
  img: RgbImage,
  w: number,
  h: number,
  mode: 'exact' | 'fast',
  filter: ResampleFilter,
): Promise<Uint8Array> {
  return mode === 'exact'
    ? pillowResize(img.data, img.width, img.height, w, h, filter)
    : sharpResize(img.data, img.width, img.height, w, h, filter);
}

/** `dynamic_preprocess(image, min_num, max_num, image_size, use_thumbnail)` on an RGB image. */
export async function dynamicPreprocess(img: RgbImage, opts: TilingOptions): Promise<Tiling> {
  const size = opts.imageSize ?? IMAGE_SIZE;
  const mode = opts.resize ?? 'exact';
  const grid = chooseGrid(img.width, img.height, opts.maxTiles, opts.minTiles ?? 1, size);
  const [cols, rows] = grid;
  const tw = size * cols;
  const resized = await resize(img, tw, size * rows, mode, 'bicubic');
  const tiles: Uint8Array[] = [];
  for (let k = 0; k < cols * rows; k++) {
    const x0 = (k % cols) * size;
    const y0 = Math.floor(k / cols) * size;
    const tile = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      const src = ((y0 + y) * tw + x0) * 3;
      tile.set(resized.subarray(src, src + size * 3), y * size * 3);
    }
    tiles.push(tile);
  }
  // Thumbnail from the ORIGINAL image, appended last, only when there is more than one crop.
  if (opts.useThumbnail && tiles.length !== 1) tiles.push(await resize(img, size, size, mode, 'bicubic'));
  return { grid, tiles };
}
