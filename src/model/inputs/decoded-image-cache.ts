/**
 * Decoded images kept across runs of one process, so that a sweep over tile caps (`sweep --max-tiles 1,2,4,6,12`)
 * decodes each image once instead of once per cap: decoding is the one stage that does not depend on the cap.
 *
 * Off unless enabled (`enableDecodedImageCache`, which runSweep does for its duration): a single run rarely sees an
 * image twice, and the cache costs memory. Entries are keyed by the image's content (SHA-1 of the encoded bytes
 * plus the pixel limit, since a decode that passed one limit says nothing about a stricter one) and evicted least
 * recently used first when their decoded bytes exceed the budget (default 1 GiB). The pixels live in
 * SharedArrayBuffers, so the PreprocessPool hands a cached image to any worker without copying it.
 */
import { createHash } from 'node:crypto';
import type { RgbImage } from './rgb-image.ts';

/** A decoded image whose pixels live in shared memory (visible to every worker thread). */
export interface SharedRgbImage extends RgbImage {
  readonly data: Uint8Array<SharedArrayBuffer>;
}

export const DEFAULT_DECODE_CACHE_BYTES = 1024 ** 3;

export class DecodedImageCache {
  private readonly entries = new Map<string, SharedRgbImage>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes: number = DEFAULT_DECODE_CACHE_BYTES) {
    if (!(maxBytes >= 0)) throw new Error(`decode cache size must be >= 0 bytes, got ${maxBytes}`);
  }

  /** Bytes of decoded pixels held now. */
  get size(): number {
    return this.bytes;
  }

  get(key: string): SharedRgbImage | undefined {
    const hit = this.entries.get(key);
    if (!hit) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Map order is insertion order: re-inserting marks the entry most recently used.
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  set(key: string, image: SharedRgbImage): void {
    const n = image.data.byteLength;
    if (n > this.maxBytes || this.entries.has(key)) return;
    for (const [k, v] of this.entries) {
      if (this.bytes + n <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.data.byteLength;
    }
    this.entries.set(key, image);
    this.bytes += n;
  }
}

/** The cache key of an encoded image: its content and the pixel limit it is decoded under. */
export function decodedImageKey(bytes: Uint8Array, maxImagePixels: number | undefined): string {
  return `${createHash('sha1').update(bytes).digest('hex')}:${bytes.byteLength}:${maxImagePixels ?? ''}`;
}

/** `image` with its pixels copied into shared memory. */
export function toSharedImage(image: RgbImage): SharedRgbImage {
  const data = new Uint8Array(new SharedArrayBuffer(image.data.byteLength));
  data.set(image.data);
  return { width: image.width, height: image.height, data };
}

let processCache: DecodedImageCache | undefined;

/** Turns the process-wide cache on (a fresh one of `maxBytes`), or off with 0. */
export function enableDecodedImageCache(maxBytes: number = DEFAULT_DECODE_CACHE_BYTES): void {
  processCache = maxBytes > 0 ? new DecodedImageCache(maxBytes) : undefined;
}

/** The process-wide cache, when enabled. */
export function decodedImageCache(): DecodedImageCache | undefined {
  return processCache;
}
