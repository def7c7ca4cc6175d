/**
 * One image, bytes to model input, as InternVL2's `load_image(image_file, input_size=448, max_num)`:
 * `Image.open(f).convert('RGB')` -> [VLMEvalKit MMMU: `resize((w*2, h*2), BILINEAR)`] -> `dynamic_preprocess`
 * -> per tile ToTensor + Normalize -> `[tiles, 3, 448, 448]`. The engine and the runner call `preprocessImage`.
 */
import { decodeImage, type DecodeOptions } from './image-decode.ts';
import { normalizeTiles } from './normalize.ts';
import { pillowResize, sharpResize } from './pillow-resize.ts';
import { dynamicPreprocess, IMAGE_SIZE, type Grid } from './tiling.ts';

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
  /** The RGB bytes of each tile (448*448*3, HWC) exactly as normalised; thumbnail last. */
  readonly tileRgb: Uint8Array[];
}

export async function preprocessImage(
  bytes: Uint8Array,
  opts: PreprocessOptions,
): Promise<PreprocessedImage> {
  let img = await decodeImage(bytes, opts.decode);
  const up = opts.upscale ?? 1;
  if (!Number.isInteger(up) || up < 1)
    throw new Error(`preprocessImage: upscale must be an integer >= 1, got ${up}`);
  if (up !== 1) {
    const w = img.width * up;
    const h = img.height * up;
    const data =
      (opts.resize ?? 'exact') === 'exact'
        ? pillowResize(img.data, img.width, img.height, w, h, 'bilinear')
        : await sharpResize(img.data, img.width, img.height, w, h, 'bilinear');
    img = { width: w, height: h, data };
  }
  const { grid, tiles } = await dynamicPreprocess(img, {
    maxTiles: opts.maxTiles,
    minTiles: opts.minTiles,
    useThumbnail: opts.useThumbnail,
    resize: opts.resize,
  });
  return {
    width: img.width,
    height: img.height,
    grid,
    tiles: tiles.length,
    pixelValues: normalizeTiles(tiles, IMAGE_SIZE),
    tileRgb: tiles,
  };
}
