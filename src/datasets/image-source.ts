/**
 * Lazy `ImageSource`s: a file inside the dataset root, or bytes fetched on demand (a base64 TSV cell, a parquet
 * struct). `load()` reads the bytes and checks them cheaply before anyone decodes them: the header must be a known
 * image format and its width x height must stay under a pixel limit (decompression-bomb guard; sharp reads only
 * the header for `metadata()`). Errors name the origin (file, row, field).
 */
import { readFile } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import type { ImageSource } from './sample.ts';

/**
 * PIL raises DecompressionBombError above 2 x Image.MAX_IMAGE_PIXELS (2 x 89_478_485); the reference pipelines
 * would crash on such an image, so we refuse it with a per-sample error instead.
 */
export const DEFAULT_MAX_PIXELS = 2 * 89_478_485;

export interface ImageCheckOptions {
  /** Largest width x height accepted (default DEFAULT_MAX_PIXELS). */
  maxPixels?: number;
}

/** Header check: known format and width x height within the limit. Throws `ORIGIN: reason`. */
export async function checkImageBytes(
  bytes: Uint8Array,
  origin: string,
  opts: ImageCheckOptions = {},
): Promise<void> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (bytes.length === 0) throw new Error(`${origin}: image is empty (0 bytes)`);
  let meta: Metadata;
  try {
    // limitInputPixels: false so that the header is read even for huge images and we can give our own message.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new Error(`${origin}: not a readable image (${(e as Error).message})`);
  }
  const { width, height } = meta;
  if (!width || !height) throw new Error(`${origin}: image header has no size`);
  if (width * height > maxPixels) {
    throw new Error(
      `${origin}: image is ${width}x${height} = ${width * height} pixels, over the limit of ${maxPixels} ` +
        `(decompression bomb guard)`,
    );
  }
}

/** An image file (already resolved inside the dataset root). */
export function fileImage(absPath: string, origin: string, opts: ImageCheckOptions = {}): ImageSource {
  return {
    origin,
    async load() {
      let bytes: Uint8Array;
      try {
        bytes = await readFile(absPath);
      } catch (e) {
        throw new Error(
          `${origin}: cannot read image ${absPath} (${(e as NodeJS.ErrnoException).code ?? e})`,
        );
      }
      await checkImageBytes(bytes, origin, opts);
      return bytes;
    },
  };
}

/** Image bytes produced on demand by `get` (which may throw; its message is prefixed with the origin). */
export function lazyBytesImage(
  get: () => Promise<Uint8Array> | Uint8Array,
  origin: string,
  opts: ImageCheckOptions = {},
): ImageSource {
  return {
    origin,
    async load() {
      let bytes: Uint8Array;
      try {
        bytes = await get();
      } catch (e) {
        const msg = (e as Error).message;
        throw new Error(msg.startsWith(origin) ? msg : `${origin}: ${msg}`);
      }
      await checkImageBytes(bytes, origin, opts);
      return bytes;
    },
  };
}

/** Python's base64.b64decode (validate=False) accepts only full 4-char groups after dropping non-alphabet chars;
 * we are stricter and refuse any non-alphabet char, so a truncated or garbled cell is caught before decoding. */
export function base64Problem(s: string): string | undefined {
  const t = s.replace(/\s+/g, '');
  if (t.length === 0) return 'empty';
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t)) return 'characters outside the base64 alphabet';
  if (t.length % 4 !== 0) return `length ${t.length} is not a multiple of 4 (truncated?)`;
  return undefined;
}

export function decodeBase64(s: string): Uint8Array {
  return Buffer.from(s.replace(/\s+/g, ''), 'base64');
}
