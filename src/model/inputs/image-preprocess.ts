/**
 * One image, bytes to model input, as InternVL2's `load_image(image_file, input_size=448, max_num)`:
 * `Image.open(f).convert('RGB')` -> [VLMEvalKit MMMU: `resize((w*2, h*2), BILINEAR)`] -> `dynamic_preprocess`
 * -> per tile ToTensor + Normalize -> `[tiles, 3, 448, 448]`. The engine and the runner call `preprocessImage`.
 */
import { decodedImageCache, decodedImageKey, toSharedImage } from './decoded-image-cache.ts';
import { decodeImage, type DecodeOptions } from './image-decode.ts';
import type { RgbImage } from './rgb-image.ts';
import { denormalizeTiles, normalizeRgbInto, normalizeTiles } from './normalize.ts';
import { sharedResampler } from './pillow-resample-wasm.ts';
import { pillowResize, sharpResize } from './pillow-resize.ts';
import { chooseGrid, dynamicPreprocess, IMAGE_SIZE, type Grid } from './tiling.ts';

export interface PreprocessOptions {
  maxTiles: number;
  minTiles?: number;
  useThumbnail: boolean;
  /** 'exact' (default): Pillow-identical resampling. 'fast': sharp's resize, NOT identical to the reference. */
  resize?: 'exact' | 'fast';
  /**
   * VLMEvalKit's MMMU path (`load_image(upscale=True)`): resize to (w*upscale, h*upscale) with BILINEAR before
   * tiling. Only integer factors >= 1; 1 or undefined means no upscale.
   */
  upscale?: number;
  /** Forwarded to decodeImage (origin for errors, pixel limit). */
  decode?: DecodeOptions;
}

export interface PreprocessedImage {
  /** Size of the image the grid was chosen for: the decoded image, times `upscale` when set. */
  readonly width: number;
  readonly height: number;
  /** `[cols, rows]` of the crop grid (the reference's `(i, j)`). */
  readonly grid: Grid;
  /** Number of 448x448 tiles including the thumbnail: the image costs 256 * tiles `<IMG_CONTEXT>` tokens. */
  readonly tiles: number;
  /** `[tiles, 3, 448, 448]` float32, ImageNet-normalised. */
  readonly pixelValues: Float32Array;
  /** The RGB bytes of each tile (448*448*3, HWC) exactly as normalised; thumbnail last. Cropped on first use. */
  readonly tileRgb: Uint8Array[];
}

/** The fields of a PreprocessedImage that cross a thread boundary (a structured clone drops the lazy getter). */
export interface PreprocessedImageData {
  readonly width: number;
  readonly height: number;
  readonly grid: Grid;
  readonly tiles: number;
  readonly pixelValues: Float32Array;
}

/**
 * `tileRgb` is not kept: it is recovered from `pixelValues` on first use. Normalisation maps each channel's 256
 * byte values to 256 distinct float32 values (NORMALIZE_LUT is strictly increasing), so the bytes come back exactly,
 * and an image on its way to the model carries (and a worker transfers) one buffer instead of two.
 */
class Preprocessed implements PreprocessedImage {
  readonly width: number;
  readonly height: number;
  readonly grid: Grid;
  readonly tiles: number;
  readonly pixelValues: Float32Array;
  #rgb: Uint8Array[] | undefined;

  constructor(d: PreprocessedImageData, rgb?: Uint8Array[]) {
    this.width = d.width;
    this.height = d.height;
    this.grid = d.grid;
    this.tiles = d.tiles;
    this.pixelValues = d.pixelValues;
    this.#rgb = rgb;
  }

  get tileRgb(): Uint8Array[] {
    this.#rgb ??= denormalizeTiles(this.pixelValues, this.tiles, IMAGE_SIZE);
    return this.#rgb;
  }
}

/**
 * Float32 buffers handed back by `releasePixelValues`, by length, for this thread's next image with as many tiles.
 * A 13-tile image is 31 MB of float32: allocating it fresh for every image costs thousands of page faults (the
 * allocator maps fresh zero pages), which is both time and, with several worker threads in one process,
 * contention on the process's memory map. Bounded, per thread.
 */
const spare = new Map<number, Float32Array[]>();
let spareBytes = 0;
const SPARE_MAX_BYTES = 256 * 1024 * 1024;

function takePixelValues(length: number): Float32Array {
  const a = spare.get(length)?.pop();
  if (!a) return new Float32Array(length);
  spareBytes -= a.byteLength;
  return a;
}

/** True when `v` spans a whole (non-shared) ArrayBuffer: only then can the buffer be reused or transferred. */
export function ownsWholeBuffer(v: ArrayBufferView): boolean {
  const b = v.buffer;
  return b instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === b.byteLength;
}

/**
 * Gives an image's `pixelValues` buffer back for reuse by a later `preprocessImage` in this thread (the
 * PreprocessPool's `release` sends it back to a worker). Only for a caller that is done with the image: its
 * pixel values are overwritten later. A buffer that is not a whole ArrayBuffer is ignored.
 */
export function releasePixelValues(values: Float32Array): void {
  if (!ownsWholeBuffer(values)) return;
  if (values.length === 0 || spareBytes + values.byteLength > SPARE_MAX_BYTES) return;
  const list = spare.get(values.length) ?? [];
  if (list.includes(values)) return;
  list.push(values);
  spare.set(values.length, list);
  spareBytes += values.byteLength;
}

/** A PreprocessedImage from its data (e.g. received from a worker thread). */
export function preprocessedImage(d: PreprocessedImageData): PreprocessedImage {
  return new Preprocessed(d);
}

/** The data of a PreprocessedImage (to send to another thread). */
export function preprocessedImageData(image: PreprocessedImage): PreprocessedImageData {
  const { width, height, grid, tiles, pixelValues } = image;
  return { width, height, grid, tiles, pixelValues };
}

export async function preprocessImage(
  bytes: Uint8Array,
  opts: PreprocessOptions,
): Promise<PreprocessedImage> {
  return preprocessDecoded(await decodeCached(bytes, opts), opts);
}

/**
 * `decodeImage`, through the process-wide decoded-image cache when it is enabled (sweeps: decoded-image-cache.ts).
 */
export async function decodeCached(bytes: Uint8Array, opts: PreprocessOptions): Promise<RgbImage> {
  const cache = decodedImageCache();
  if (!cache) return decodeImage(bytes, opts.decode);
  const key = decodedImageKey(bytes, opts.decode?.maxImagePixels);
  const hit = cache.get(key);
  if (hit) return hit;
  const shared = toSharedImage(await decodeImage(bytes, opts.decode));
  cache.set(key, shared);
  return shared;
}

/** `preprocessImage` from the decoded image (`Image.open(f).convert('RGB')` already done). */
export async function preprocessDecoded(
  decoded: RgbImage,
  opts: PreprocessOptions,
): Promise<PreprocessedImage> {
  let img = decoded;
  const exact = (opts.resize ?? 'exact') === 'exact';
  const up = opts.upscale ?? 1;
  if (!Number.isInteger(up) || up < 1)
    throw new Error(`preprocessImage: upscale must be an integer >= 1, got ${up}`);
  if (up !== 1) {
    const w = img.width * up;
    const h = img.height * up;
    const data = exact
      ? pillowResize(img.data, img.width, img.height, w, h, 'bilinear')
      : await sharpResize(img.data, img.width, img.height, w, h, 'bilinear');
    img = { width: w, height: h, data };
  }
  if (exact) return new Preprocessed(tileExact(img, opts));
  const { grid, tiles } = await dynamicPreprocess(img, {
    maxTiles: opts.maxTiles,
    minTiles: opts.minTiles,
    useThumbnail: opts.useThumbnail,
    resize: opts.resize,
  });
  return new Preprocessed(
    {
      width: img.width,
      height: img.height,
      grid,
      tiles: tiles.length,
      pixelValues: normalizeTiles(tiles, IMAGE_SIZE),
    },
    tiles,
  );
}

/**
 * `dynamic_preprocess` + ToTensor + Normalize in exact mode, without intermediate tiles: the image is resized once
 * per grid by the WebAssembly kernel (into its reused memory), each tile is normalised straight from the resized
 * image (a crop as a view: offset + stride).
 * Same bytes as `dynamicPreprocess` + `normalizeTiles` (the fixture tests check both).
 */
function tileExact(img: RgbImage, opts: PreprocessOptions): PreprocessedImageData {
  const size = IMAGE_SIZE;
  const plane = size * size;
  const grid = chooseGrid(img.width, img.height, opts.maxTiles, opts.minTiles ?? 1, size);
  const [cols, rows] = grid;
  const crops = cols * rows;
  const thumb = opts.useThumbnail && crops !== 1;
  const tiles = crops + (thumb ? 1 : 0);
  const pixelValues = takePixelValues(tiles * 3 * plane); // every value is written below
  const r = sharedResampler();
  r.setSource(img.data, img.width, img.height);
  const tw = size * cols;
  const th = size * rows;
  // Same size: Pillow returns a copy, so the source itself is the resized image.
  const resized = tw === img.width && th === img.height ? r.sourceView() : r.resize(tw, th, 'bicubic');
  const stride = tw * 3;
  for (let k = 0; k < crops; k++) {
    const at = Math.floor(k / cols) * size * stride + (k % cols) * size * 3;
    normalizeRgbInto(resized, at, stride, size, pixelValues, k * 3 * plane);
  }
  if (thumb) {
    // From the ORIGINAL image, appended last. Same size (a 448x448 source with more than one crop, e.g. minTiles 2):
    // Pillow's copy, i.e. the source itself.
    const t = img.width === size && img.height === size ? r.sourceView() : r.resize(size, size, 'bicubic');
    normalizeRgbInto(t, 0, size * 3, size, pixelValues, crops * 3 * plane);
  }
  return { width: img.width, height: img.height, grid, tiles, pixelValues };
}
