/**
 * The images of a chat request as bytes: base64 `data:` URLs always; `http(s)` URLs only when the server allows
 * remote images (own size limit and timeout, no redirects); `file:` and every other scheme never (a client must
 * not make the server read its own disk). Each image is checked against the pixel limit from its header.
 */
import { badRequest, tooLarge } from './http-errors.ts';
import { imageSize } from './image-size.ts';

export interface ImageRef {
  readonly url: string;
  /** Where it was in the body (`messages[2].content[0].image_url.url`), for error messages. */
  readonly param: string;
}

export interface ImageLoadOptions {
  readonly allowRemoteImages?: boolean;
  /** Per remote image, bytes (default 20 MiB) and ms (default 15 000). */
  readonly remoteImageMaxBytes?: number;
  readonly remoteImageTimeoutMs?: number;
  /** Largest width × height accepted (default: no limit). */
  readonly maxImagePixels?: number;
}

export function decodeDataUrl(url: string, param: string): Uint8Array {
  const m = /^data:([^;,]*)((?:;[^;,]*)*?);base64,(.*)$/s.exec(url);
  if (!m)
    throw badRequest(
      `${param}: only base64 data: URLs are accepted (data:image/...;base64,...)`,
      'invalid_image_url',
      param,
    );
  const b64 = m[3].replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64))
    throw badRequest(`${param}: invalid base64`, 'invalid_image_url', param);
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length === 0) throw badRequest(`${param}: empty image`, 'invalid_image_url', param);
  return new Uint8Array(bytes);
}

async function fetchRemoteImage(
  url: string,
  param: string,
  maxBytes: number,
  timeoutMs: number,
): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (err) {
    throw badRequest(
      `${param}: could not fetch the image (${(err as Error).message})`,
      'image_fetch_failed',
      param,
    );
  }
  if (!res.ok)
    throw badRequest(`${param}: fetching the image gave HTTP ${res.status}`, 'image_fetch_failed', param);
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw tooLarge(`${param}: image larger than ${maxBytes} bytes`, 'image_too_large', param);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > maxBytes)
      throw tooLarge(`${param}: image larger than ${maxBytes} bytes`, 'image_too_large', param);
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

async function loadOne(ref: ImageRef, opts: ImageLoadOptions): Promise<Uint8Array> {
  const { url, param } = ref;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'data') return decodeDataUrl(url, param);
  if (scheme === 'http' || scheme === 'https') {
    if (!opts.allowRemoteImages) {
      throw badRequest(
        `${param}: remote image URLs are refused (start serve with --allow-remote-images); send a data: URL`,
        'remote_images_disabled',
        param,
      );
    }
    return fetchRemoteImage(
      url,
      param,
      opts.remoteImageMaxBytes ?? 20 * 1024 * 1024,
      opts.remoteImageTimeoutMs ?? 15_000,
    );
  }
  throw badRequest(
    `${param}: "${scheme ?? url.slice(0, 16)}" image URLs are refused (data: only${opts.allowRemoteImages ? ', or http(s)' : ''})`,
    'invalid_image_url',
    param,
  );
}

/** Every image of a request, in order; 400/413 HttpErrors for bad, refused or oversized ones. */
export async function loadImages(refs: readonly ImageRef[], opts: ImageLoadOptions): Promise<Uint8Array[]> {
  return Promise.all(
    refs.map(async (ref) => {
      const bytes = await loadOne(ref, opts);
      if (opts.maxImagePixels !== undefined) {
        const size = imageSize(bytes);
        if (size && size.width * size.height > opts.maxImagePixels) {
          throw tooLarge(
            `${ref.param}: image of ${size.width}×${size.height} pixels is over the limit of ${opts.maxImagePixels}`,
            'image_too_large',
            ref.param,
          );
        }
      }
      return bytes;
    }),
  );
}
