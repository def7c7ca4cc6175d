/**
 * BMP -> RGB as Pillow 9.4 `Image.open(f).convert('RGB')` (PIL/BmpImagePlugin.py `BmpImageFile._bitmap`,
 * libImaging/Unpack.c). sharp's prebuilt libvips has no BMP loader, so this is our own reader.
 *
 * Supported as Pillow supports them: OS/2 v1 (12-byte) and Windows v3/v4/v5 headers; 1/2/4/8-bit palette
 * (lookup; entries past the table read the grey ramp), 16-bit (BGR;15 by default, BI_BITFIELDS 565/555,
 * expanded with `v * 255 / 31` integer division as Unpack.c does), 24-bit BGR, 32-bit BGRX and the BI_BITFIELDS
 * layouts Pillow accepts (alpha dropped). Rows are bottom-up unless the height is negative.
 * Not supported (clear error): RLE4/RLE8 compression, embedded JPEG/PNG, unusual bitfield layouts.
 */
import type { RgbImage } from './rgb-image.ts';

export function isBmp(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d;
}

type Layout = 'BGRX' | 'XBGR' | 'ABGR' | 'RGBA' | 'BGRA' | 'BGR' | 'BGR;16' | 'BGR;15';

const MASKS32: Record<string, Layout> = {
  'ff0000,ff00,ff,0': 'BGRX',
  'ff000000,ff0000,ff00,0': 'XBGR',
  'ff000000,ff0000,ff00,ff': 'ABGR',
  'ff,ff00,ff0000,ff000000': 'RGBA',
  'ff0000,ff00,ff,ff000000': 'BGRA',
  '0,0,0,0': 'BGRA',
};
const MASKS_RGB: Record<string, Layout> = {
  '24:ff0000,ff00,ff': 'BGR',
  '16:f800,7e0,1f': 'BGR;16',
  '16:7c00,3e0,1f': 'BGR;15',
};

export function decodeBmp(
  b: Uint8Array,
  origin: string,
  checkSize: (w: number, h: number) => void,
): RgbImage {
  if (!isBmp(b) || b.length < 26) throw new Error(`${origin}: not a BMP file`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let offset = dv.getUint32(10, true);
  const headerSize = dv.getUint32(14, true);
  const h0 = 18;
  let width: number;
  let height: number;
  let bits: number;
  let compression = 0;
  let colors = 0;
  let topDown = false;
  let paletteEntry = 4;
  let masks: number[] | undefined;
  if (headerSize === 12) {
    width = dv.getUint16(h0, true);
    height = dv.getUint16(h0 + 2, true);
    bits = dv.getUint16(h0 + 6, true);
    paletteEntry = 3;
  } else if ([40, 64, 108, 124].includes(headerSize)) {
    if (b.length < 14 + headerSize) throw new Error(`${origin}: truncated BMP header`);
    width = dv.getInt32(h0, true);
    const rawH = dv.getInt32(h0 + 4, true);
    topDown = rawH < 0;
    height = Math.abs(rawH);
    bits = dv.getUint16(h0 + 10, true);
    compression = dv.getUint32(h0 + 12, true);
    colors = dv.getUint32(h0 + 28, true);
    if (compression === 3) {
      if (headerSize >= 56) {
        masks = [0, 1, 2, 3].map((i) => dv.getUint32(h0 + 36 + i * 4, true));
      } else {
        // 40-byte header: three masks follow the header, the fourth is reserved (Pillow sets a_mask = 0)
        masks = [0, 1, 2].map((i) => dv.getUint32(14 + headerSize + i * 4, true));
        masks.push(0);
      }
    }
  } else {
    throw new Error(`${origin}: unsupported BMP header type (${headerSize})`);
  }
  if (width < 1 || height < 1) throw new Error(`${origin}: BMP has an empty size (${width}x${height})`);
  checkSize(width, height);
  if (!colors) colors = bits <= 16 ? 2 ** bits : 0;
  if (offset === 14 + headerSize && bits <= 8) offset += 4 * colors; // Pillow's quirk for a missing offset

  let layout: Layout | 'P' = 'P';
  if (bits <= 8) {
    if (![1, 2, 4, 8].includes(bits)) throw new Error(`${origin}: unsupported BMP pixel depth (${bits})`);
  } else if (bits === 16) layout = 'BGR;15';
  else if (bits === 24) layout = 'BGR';
  else if (bits === 32) layout = 'BGRX';
  else throw new Error(`${origin}: unsupported BMP pixel depth (${bits})`);
  if (compression === 3) {
    const key = masks!.map((m) => m.toString(16));
    const l = bits === 32 ? MASKS32[key.join(',')] : MASKS_RGB[`${bits}:${key.slice(0, 3).join(',')}`];
    if (!l) throw new Error(`${origin}: unsupported BMP bitfields layout`);
    layout = l;
  } else if (compression === 1 || compression === 2) {
    throw new Error(`${origin}: RLE-compressed BMP is not supported`);
  } else if (compression !== 0) {
    throw new Error(`${origin}: unsupported BMP compression (${compression})`);
  }

  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) lut[i * 3] = lut[i * 3 + 1] = lut[i * 3 + 2] = i;
  if (layout === 'P') {
    if (!(colors > 0 && colors <= 65536))
      throw new Error(`${origin}: unsupported BMP palette size (${colors})`);
    const palStart = 14 + headerSize;
    for (let i = 0; i < Math.min(colors, 256); i++) {
      const p = palStart + i * paletteEntry;
      if (p + 3 > b.length) throw new Error(`${origin}: truncated BMP palette`);
      lut[i * 3] = b[p + 2];
      lut[i * 3 + 1] = b[p + 1];
      lut[i * 3 + 2] = b[p];
    }
  }

  const stride = ((width * bits + 31) >> 3) & ~3;
  if (offset + stride * height > b.length) throw new Error(`${origin}: truncated BMP pixel data`);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = offset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      let r: number;
      let g: number;
      let bl: number;
      if (layout === 'P') {
        const per = 8 / bits;
        const idx =
          bits === 8
            ? b[row + x]
            : (b[row + Math.floor(x / per)] >> (8 - bits * ((x % per) + 1))) & ((1 << bits) - 1);
        r = lut[idx * 3];
        g = lut[idx * 3 + 1];
        bl = lut[idx * 3 + 2];
      } else if (layout === 'BGR;15' || layout === 'BGR;16') {
        const px = b[row + x * 2] | (b[row + x * 2 + 1] << 8);
        bl = Math.trunc(((px & 31) * 255) / 31);
        if (layout === 'BGR;15') {
          g = Math.trunc((((px >> 5) & 31) * 255) / 31);
          r = Math.trunc((((px >> 10) & 31) * 255) / 31);
        } else {
          g = Math.trunc((((px >> 5) & 63) * 255) / 63);
          r = Math.trunc((((px >> 11) & 31) * 255) / 31);
        }
      } else if (layout === 'BGR') {
        const p = row + x * 3;
        [bl, g, r] = [b[p], b[p + 1], b[p + 2]];
      } else {
        const p = row + x * 4;
        const q = [b[p], b[p + 1], b[p + 2], b[p + 3]];
        // byte order in memory for each raw mode (Pillow's names list bytes in file order)
        if (layout === 'BGRX' || layout === 'BGRA') [bl, g, r] = [q[0], q[1], q[2]];
        else if (layout === 'XBGR' || layout === 'ABGR') [bl, g, r] = [q[1], q[2], q[3]];
        else [r, g, bl] = [q[0], q[1], q[2]];
      }
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = bl;
    }
  }
  return { width, height, data: out };
}
