/**
 * PNG -> RGB exactly as Pillow 9.4 `Image.open(f).convert('RGB')` (PIL/PngImagePlugin.py + libImaging Unpack/Convert).
 *
 * We parse PNG ourselves instead of asking sharp, because libvips hides what Pillow keeps: it expands palettes
 * (and applies tRNS as alpha), scales 16-bit gray to 8 bits and may gamma/ICC-convert. Pillow's rules:
 *   - gray 1-bit is mode "1" (0/255); 2/4-bit gray are scaled by 0x55/0x11 (rawmodes "L;2", "L;4");
 *   - 16-bit gray opens as mode "I" and convert('RGB') CLIPS to 0..255 (Convert.c `i2rgb`), it does not scale;
 *   - 16-bit RGB/RGBA/LA keep the HIGH byte ("RGB;16B", "RGBA;16B", "LA;16B"), truncating;
 *   - alpha (RGBA, LA) is dropped, never composited; tRNS (palette alpha or colour key) is ignored;
 *   - palette lookup: entries past the PLTE length read Pillow's initial palette, a grey ramp (i, i, i)
 *     (libImaging/Palette.c `ImagingPaletteNew`);
 *   - gAMA, cHRM, sRGB, iCCP are ignored (Pillow never colour-manages on open).
 * Chunk CRCs are checked for the chunks before the first IDAT, as Pillow does (`ChunkStream.crc` in `_open`);
 * IDAT and later CRCs are not checked by Pillow either.
 * Differences left: APNG files decode to their default image (IDAT), which Pillow 9.4 also shows as frame 0.
 */
import { crc32, inflateSync } from 'node:zlib';
import type { RgbImage } from './rgb-image.ts';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && SIGNATURE.every((v, i) => b[i] === v);
}

interface Header {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace: number;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const VALID_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

/** Decode a PNG to packed RGB. `checkSize` enforces the pixel limit before anything is allocated. */
export function decodePng(
  b: Uint8Array,
  origin: string,
  checkSize: (w: number, h: number) => void,
  output: (length: number) => Uint8Array = (n) => new Uint8Array(n),
): RgbImage {
  if (!isPng(b)) throw new Error(`${origin}: not a PNG file`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let pos = 8;
  let header: Header | undefined;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let seenIdat = false;
  while (pos + 8 <= b.length) {
    const len = dv.getUint32(pos);
    const type = String.fromCharCode(b[pos + 4], b[pos + 5], b[pos + 6], b[pos + 7]);
    const start = pos + 8;
    const end = start + len;
    if (end + 4 > b.length) {
      if (type === 'IDAT' || !seenIdat)
        throw new Error(`${origin}: truncated PNG (chunk ${type} at byte ${pos})`);
      break; // trailing garbage after the image data: Pillow stops reading there too
    }
    const data = b.subarray(start, end);
    if (!seenIdat && type !== 'IDAT') {
      const want = dv.getUint32(end);
      const got = crc32(b.subarray(pos + 4, end)) >>> 0;
      if (want !== got)
        throw new Error(`${origin}: broken PNG file (bad checksum in chunk ${type} at byte ${pos})`);
    }
    if (type === 'IHDR') {
      if (len < 13) throw new Error(`${origin}: PNG IHDR too short`);
      const hdv = new DataView(data.buffer, data.byteOffset, data.byteLength);
      header = {
        width: hdv.getUint32(0),
        height: hdv.getUint32(4),
        bitDepth: data[8],
        colorType: data[9],
        interlace: data[12],
      };
      const depths = VALID_DEPTHS[header.colorType];
      if (!depths) throw new Error(`${origin}: PNG colour type ${header.colorType} is not valid`);
      if (!depths.includes(header.bitDepth)) {
        throw new Error(
          `${origin}: PNG bit depth ${header.bitDepth} is not valid for colour type ${header.colorType}`,
        );
      }
      if (header.width < 1 || header.height < 1) throw new Error(`${origin}: PNG has an empty size`);
      if (header.interlace > 1)
        throw new Error(`${origin}: PNG interlace method ${header.interlace} is unknown`);
      checkSize(header.width, header.height);
    } else if (type === 'PLTE') {
      palette = data;
    } else if (type === 'IDAT') {
      seenIdat = true;
      idat.push(data);
    } else if (seenIdat) {
      break; // first chunk after the image data: everything needed is read
    }
    pos = end + 4;
  }
  if (!header) throw new Error(`${origin}: PNG has no IHDR chunk`);
  if (idat.length === 0) throw new Error(`${origin}: PNG has no image data (IDAT)`);
  if (header.colorType === 3 && !palette) throw new Error(`${origin}: palette PNG without a PLTE chunk`);

  let raw: Uint8Array;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch (e) {
    throw new Error(`${origin}: PNG image data is corrupt or truncated (${(e as Error).message})`);
  }
  // 8-bit RGB: the unfiltered rows are the result, so they go straight to `output`.
  const direct = header.colorType === 2 && header.bitDepth === 8;
  const samples = unfilterImage(raw, header, origin, direct ? output : undefined);
  return { width: header.width, height: header.height, data: toRgb(samples, header, palette, output) };
}

/** Bytes per complete pixel for filtering (at least 1), and bytes per row of `w` pixels. */
function rowBytes(w: number, h: Header): number {
  return Math.ceil((w * CHANNELS[h.colorType] * h.bitDepth) / 8);
}

const ADAM7: readonly [number, number, number, number][] = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/**
 * Undo the per-row filters. Returns full-image rows, each `rowBytes(width)` long, still packed at the file's bit
 * depth (interlaced passes are scattered back into place).
 */
function unfilterImage(
  raw: Uint8Array,
  h: Header,
  origin: string,
  output: (length: number) => Uint8Array = (n) => new Uint8Array(n),
): Uint8Array {
  const bpp = Math.max(1, (CHANNELS[h.colorType] * h.bitDepth) >> 3);
  const stride = rowBytes(h.width, h);
  if (h.interlace === 0) {
    const out = output(stride * h.height);
    unfilterPass(raw, 0, h.height, stride, bpp, out, origin);
    return out;
  }
  const out = output(stride * h.height);
  const bitsPerPixel = CHANNELS[h.colorType] * h.bitDepth;
  let offset = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const pw = Math.ceil((h.width - x0) / dx);
    const ph = Math.ceil((h.height - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    const pstride = rowBytes(pw, h);
    const pass = new Uint8Array(pstride * ph);
    offset = unfilterPass(raw, offset, ph, pstride, bpp, pass, origin);
    for (let py = 0; py < ph; py++) {
      const y = y0 + py * dy;
      for (let px = 0; px < pw; px++) {
        const x = x0 + px * dx;
        copyPixelBits(pass, py * pstride, px, out, y * stride, x, bitsPerPixel);
      }
    }
  }
  return out;
}

function copyPixelBits(
  src: Uint8Array,
  srcRow: number,
  sx: number,
  dst: Uint8Array,
  dstRow: number,
  dx: number,
  bits: number,
): void {
  if (bits >= 8) {
    const n = bits >> 3;
    for (let k = 0; k < n; k++) dst[dstRow + dx * n + k] = src[srcRow + sx * n + k];
    return;
  }
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  const sShift = 8 - bits * ((sx % perByte) + 1);
  const v = (src[srcRow + Math.floor(sx / perByte)] >> sShift) & mask;
  const dShift = 8 - bits * ((dx % perByte) + 1);
  const di = dstRow + Math.floor(dx / perByte);
  dst[di] = (dst[di] & ~(mask << dShift)) | (v << dShift);
}

/** Unfilter `rows` rows starting at `offset` in `raw` into `out`; returns the offset after them. */
function unfilterPass(
  raw: Uint8Array,
  offset: number,
  rows: number,
  stride: number,
  bpp: number,
  out: Uint8Array,
  origin: string,
): number {
  for (let y = 0; y < rows; y++) {
    if (offset + 1 + stride > raw.length)
      throw new Error(`${origin}: PNG image data is truncated (row ${y})`);
    const filter = raw[offset];
    const src = offset + 1;
    const cur = y * stride;
    const prev = cur - stride;
    // Each filter in its own loop, the first `bpp` bytes (no left neighbour) and the first row (no row above:
    // zeros, PNG spec 9.2) split off, so the inner loops have no per-byte branches.
    const a0 = Math.min(bpp, stride);
    switch (filter) {
      case 0:
        out.set(raw.subarray(src, src + stride), cur);
        break;
      case 1:
        for (let i = 0; i < a0; i++) out[cur + i] = raw[src + i];
        for (let i = a0; i < stride; i++) out[cur + i] = raw[src + i] + out[cur + i - bpp];
        break;
      case 2:
        if (y === 0) out.set(raw.subarray(src, src + stride), cur);
        else for (let i = 0; i < stride; i++) out[cur + i] = raw[src + i] + out[prev + i];
        break;
      case 3:
        if (y === 0) {
          for (let i = 0; i < a0; i++) out[cur + i] = raw[src + i];
          for (let i = a0; i < stride; i++) out[cur + i] = raw[src + i] + (out[cur + i - bpp] >> 1);
        } else {
          for (let i = 0; i < a0; i++) out[cur + i] = raw[src + i] + (out[prev + i] >> 1);
          for (let i = a0; i < stride; i++)
            out[cur + i] = raw[src + i] + ((out[cur + i - bpp] + out[prev + i]) >> 1);
        }
        break;
      case 4:
        if (y === 0) {
          // Paeth with b = c = 0 always predicts a: the Sub filter.
          for (let i = 0; i < a0; i++) out[cur + i] = raw[src + i];
          for (let i = a0; i < stride; i++) out[cur + i] = raw[src + i] + out[cur + i - bpp];
        } else {
          // a = 0, c = 0: the predictor is b.
          for (let i = 0; i < a0; i++) out[cur + i] = raw[src + i] + out[prev + i];
          for (let i = a0; i < stride; i++) {
            const a = out[cur + i - bpp];
            const b = out[prev + i];
            const c = out[prev + i - bpp];
            // PNG spec 9.4: p = a + b - c; pa = |p - a| = |b - c|, pb = |a - c|, pc = |a + b - 2c|
            let pa = b - c;
            let pb = a - c;
            let pc = pa + pb;
            if (pa < 0) pa = -pa;
            if (pb < 0) pb = -pb;
            if (pc < 0) pc = -pc;
            out[cur + i] = raw[src + i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          }
        }
        break;
      default:
        throw new Error(`${origin}: PNG row ${y} has unknown filter type ${filter}`);
    }
    offset += 1 + stride;
  }
  return offset;
}

/** Pillow's mode conversion of the unfiltered samples to packed RGB. */
function toRgb(
  s: Uint8Array,
  h: Header,
  palette: Uint8Array | undefined,
  output: (length: number) => Uint8Array,
): Uint8Array {
  const { width, height, bitDepth: d, colorType: ct } = h;
  // 8-bit RGB, not interlaced or already de-interlaced: the unfiltered rows ARE packed RGB.
  if (ct === 2 && d === 8) return s;
  const out = output(width * height * 3);
  const stride = rowBytes(width, h);
  if (ct === 3 || (ct === 0 && d < 16)) {
    // 256-entry RGB lookup: palette (grey ramp past the PLTE end), or the grey scaling of "1" / "L;2" / "L;4" / "L".
    const lut = new Uint8Array(256 * 3);
    for (let i = 0; i < 256; i++) {
      let v = i;
      if (ct === 0) v = d === 1 ? (i ? 255 : 0) : d === 2 ? i * 0x55 : d === 4 ? i * 0x11 : i;
      lut[i * 3] = lut[i * 3 + 1] = lut[i * 3 + 2] = v & 255;
    }
    if (ct === 3 && palette) {
      const n = Math.min(256, Math.floor(palette.length / 3));
      lut.set(palette.subarray(0, n * 3), 0);
    }
    const perByte = 8 / d;
    const mask = (1 << d) - 1;
    for (let y = 0; y < height; y++) {
      const row = y * stride;
      for (let x = 0; x < width; x++) {
        const idx =
          d === 8 ? s[row + x] : (s[row + Math.floor(x / perByte)] >> (8 - d * ((x % perByte) + 1))) & mask;
        const o = (y * width + x) * 3;
        out[o] = lut[idx * 3];
        out[o + 1] = lut[idx * 3 + 1];
        out[o + 2] = lut[idx * 3 + 2];
      }
    }
    return out;
  }
  const ch = CHANNELS[ct];
  const bps = d >> 3; // bytes per sample: 1 or 2 (big-endian; the high byte comes first)
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    for (let x = 0; x < width; x++) {
      const p = row + x * ch * bps;
      const o = (y * width + x) * 3;
      if (ct === 0) {
        // mode "I": convert('RGB') clips to 0..255 (Convert.c i2rgb), it does NOT scale 16 -> 8 bits.
        const v = (s[p] << 8) | s[p + 1];
        out[o] = out[o + 1] = out[o + 2] = v > 255 ? 255 : v;
      } else if (ct === 4) {
        out[o] = out[o + 1] = out[o + 2] = s[p]; // L (or its high byte); alpha dropped
      } else {
        out[o] = s[p];
        out[o + 1] = s[p + bps];
        out[o + 2] = s[p + 2 * bps];
      }
    }
  }
  return out;
}
