/**
 * Encoded image bytes -> packed 8-bit RGB, the way Pillow 9.4's `Image.open(f).convert('RGB')` does it — the first
 * line of InternVL's `load_image` and VLMEvalKit's `load_image` (shared/docs/preprocessing.md, "PIL behaviours").
 *
 * Who decodes what:
 *   - PNG, GIF, BMP: our own readers (png-decode.ts, gif-decode.ts, bmp-decode.ts), because the mode rules
 *     (palette + tRNS, 16-bit clip, high byte, GIF canvas) need the stored samples, which libvips does not expose,
 *     and sharp has no BMP loader. These formats are lossless, so the bytes match Pillow exactly.
 *   - JPEG, WebP, TIFF: sharp (libvips), asked for stored pixels only: `autoOrient: false` (EXIF orientation is
 *     NOT applied, as Image.open does not apply it), `ignoreIcc: true` (Pillow never colour-manages), CMYK kept as
 *     CMYK (`pipelineColourspace('cmyk')`, else libvips would run it through an ICC profile) and converted with
 *     Pillow's own formula below; 16-bit grey TIFF read as 16-bit values and clipped (Pillow mode "I;16").
 *
 * Where our bytes can still differ from Pillow's (each tested or named here):
 *   - JPEG: sharp's libjpeg (mozjpeg's decoder = libjpeg-turbo's, ISLOW IDCT, fancy upsampling) matched Pillow 9.4
 *     + libjpeg-turbo 2.1.5 byte for byte on every fixture (4:2:0, 4:4:4, progressive, grey, CMYK, ICC, EXIF,
 *     a 300x200 page at PIL's default quality 75).
 *     Another libjpeg build (e.g. jpeg-9, or a SIMD path with different rounding) can differ by ±1–3 per sample.
 *   - Lossy WebP: sharp's libwebp 1.6 matched Pillow's libwebp 1.2.4 on the fixture (max diff 0); other libwebp
 *     versions (or decoder options such as fancy upsampling off) may differ slightly. Lossless WebP is exact.
 *   - TIFF: the common layouts (8-bit RGB/RGBA/grey, LZW, 16-bit grey) are tested; exotic TIFFs (YCbCr-JPEG,
 *     16-bit RGB taken as its high byte, float) follow libvips and are not verified against Pillow.
 *   - Formats Pillow reads but we reject with a clear error: RLE BMP, ICO, PPM, JPEG 2000, ...
 */
import sharp, { type Metadata, type Sharp } from 'sharp';
import { decodeBmp, isBmp } from './bmp-decode.ts';
import { decodeGif, isGif } from './gif-decode.ts';
import { decodePng, isPng } from './png-decode.ts';
import type { RgbImage } from './rgb-image.ts';

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp' | 'bmp' | 'tiff';

/** Pillow's `Image.MAX_IMAGE_PIXELS`: above it Pillow warns, above twice it raises DecompressionBombError. */
export const MAX_IMAGE_PIXELS = 89_478_485;

export interface DecodeOptions {
  /** Name used in error messages (file path, `row 17 column image`). */
  origin?: string;
  /** Pillow's MAX_IMAGE_PIXELS; decoding fails above twice this many pixels. `Infinity` disables the guard. */
  maxImagePixels?: number;
  /**
   * Where to put the packed RGB when our own decoder produces it in one piece (PNG): e.g. the resampler's source
   * memory, saving a copy and an allocation. Default: a new array. Only for a caller that uses the image before
   * anything else can write there (a pool worker runs one job at a time).
   */
  output?: (length: number) => Uint8Array;
}

export class DecompressionBombError extends Error {
  override readonly name = 'DecompressionBombError';
}

export function detectImageFormat(b: Uint8Array): ImageFormat | undefined {
  if (isPng(b)) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (isGif(b)) return 'gif';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if (isBmp(b)) return 'bmp';
  if (b.length >= 4 && (ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*')) return 'tiff';
  return undefined;
}

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}

/** Pillow's `_decompression_bomb_check`: error when w*h > 2 * MAX_IMAGE_PIXELS. */
export function pixelLimitCheck(
  origin: string,
  maxImagePixels = MAX_IMAGE_PIXELS,
): (w: number, h: number) => void {
  return (w, h) => {
    const pixels = Math.max(1, w) * Math.max(1, h);
    if (pixels > 2 * maxImagePixels) {
      throw new DecompressionBombError(
        `${origin}: image size ${w}x${h} (${pixels} pixels) exceeds the limit of ${2 * maxImagePixels} pixels ` +
          `(twice Pillow's MAX_IMAGE_PIXELS); refusing to decode a possible decompression bomb`,
      );
    }
  };
}

/** Decode any supported image to RGB exactly as `Image.open(f).convert('RGB')`. */
export async function decodeImage(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<RgbImage> {
  const origin = opts.origin ?? 'image';
  const check = pixelLimitCheck(origin, opts.maxImagePixels);
  const format = detectImageFormat(bytes);
  switch (format) {
    case 'png':
      return decodePng(bytes, origin, check, opts.output);
    case 'gif':
      return decodeGif(bytes, origin, check);
    case 'bmp':
      return decodeBmp(bytes, origin, check);
    case 'jpeg':
    case 'webp':
    case 'tiff':
      return decodeWithSharp(bytes, format, origin, check);
    default:
      throw new Error(
        `${origin}: unrecognised image format (first bytes ${Buffer.from(bytes.subarray(0, 8)).toString('hex')}); ` +
          'supported: PNG, JPEG, GIF, WebP, BMP, TIFF',
      );
  }
}

async function decodeWithSharp(
  bytes: Uint8Array,
  format: ImageFormat,
  origin: string,
  check: (w: number, h: number) => void,
): Promise<RgbImage> {
  // Our own pixel guard runs first (on the header); sharp's would fire at a different limit.
  // failOn 'truncated': like Pillow (without LOAD_TRUNCATED_IMAGES) a truncated file is an error, while libjpeg's
  // mere warnings (e.g. extraneous bytes before a marker) are not.
  const input = (): Sharp =>
    sharp(bytes, {
      autoOrient: false,
      ignoreIcc: true,
      limitInputPixels: false,
      failOn: 'truncated',
      pages: 1,
      page: 0,
    });
  let meta: Metadata;
  try {
    meta = await input().metadata();
  } catch (e) {
    throw new Error(`${origin}: cannot read ${format} header (${(e as Error).message})`);
  }
  if (!meta.width || !meta.height) throw new Error(`${origin}: ${format} image has no size`);
  check(meta.width, meta.height);
  try {
    if (meta.space === 'cmyk') {
      const { data, info } = await input()
        .pipelineColourspace('cmyk')
        .toColourspace('cmyk')
        .raw()
        .toBuffer({ resolveWithObject: true });
      return { width: info.width, height: info.height, data: cmykToRgb(data, info.channels) };
    }
    if (meta.depth === 'ushort' && meta.space === 'grey16') {
      const { data, info } = await input()
        .pipelineColourspace('grey16')
        .toColourspace('grey16')
        .raw({ depth: 'ushort' })
        .toBuffer({ resolveWithObject: true });
      const v = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
      const out = new Uint8Array(info.width * info.height * 3);
      // Pillow "I;16" -> RGB clips (Convert.c I16_RGB), like 16-bit grey PNG.
      for (let i = 0, c = info.channels; i < info.width * info.height; i++) {
        const g = v[i * c];
        out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = g > 255 ? 255 : g;
      }
      return { width: info.width, height: info.height, data: out };
    }
    if (meta.depth && meta.depth !== 'uchar' && meta.depth !== 'ushort') {
      throw new Error(`sample format ${meta.depth} is not supported`);
    }
    // 8-bit (and 16-bit RGB, whose conversion libvips does by >> 8 — Pillow keeps the high byte too).
    const { data, info } = await input().raw().toBuffer({ resolveWithObject: true });
    return {
      width: info.width,
      height: info.height,
      data: dropToRgb(data, info.width * info.height, info.channels),
    };
  } catch (e) {
    throw new Error(`${origin}: cannot decode ${format} (${(e as Error).message})`);
  }
}

/** 1..4 interleaved channels -> RGB: grey replicated, alpha dropped (not composited). */
function dropToRgb(data: Uint8Array, n: number, channels: number): Uint8Array {
  if (channels === 3) return new Uint8Array(data.buffer, data.byteOffset, n * 3);
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const p = i * channels;
    if (channels <= 2) {
      out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = data[p];
    } else {
      out[i * 3] = data[p];
      out[i * 3 + 1] = data[p + 1];
      out[i * 3 + 2] = data[p + 2];
    }
  }
  return out;
}

/** Pillow 9.4 `cmyk2rgb` (Convert.c): nk = 255 - K; R = clip(nk - MULDIV255(C, nk)), same for G/M and B/Y. */
export function cmykToRgb(cmyk: Uint8Array, channels = 4): Uint8Array {
  const n = Math.floor(cmyk.length / channels);
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const p = i * channels;
    const nk = 255 - cmyk[p + 3];
    for (let k = 0; k < 3; k++) {
      const t = cmyk[p + k] * nk + 128; // MULDIV255(a, b) = ((t >> 8) + t) >> 8 with t = a*b + 128
      const v = nk - (((t >> 8) + t) >> 8);
      out[i * 3 + k] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}
