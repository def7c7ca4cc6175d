/**
 * GIF first frame -> RGB as Pillow 9.4 `Image.open(f).convert('RGB')` (PIL/GifImagePlugin.py `_seek(0)`,
 * `load_prepare`; libImaging/GifDecode.c).
 *
 * Own parser rather than sharp because libvips (libnsgif) renders transparent pixels as transparent black and
 * composites frames, while Pillow's frame 0 is a palette ("P") image:
 *   - the canvas is the logical screen, grown to hold the first image's rectangle if it sticks out;
 *   - outside the rectangle the canvas holds the frame's transparent index when the graphic control extension
 *     sets one, else index 0 (`Image.core.fill` / `Image.core.new`);
 *   - transparency is otherwise ignored by convert('RGB'): the transparent index shows its palette colour;
 *   - palette = the local colour table if present, else the global one; indices past its end, or every index when
 *     there is no table at all (mode "L"), map to the grey ramp (i, i, i).
 * Only the first frame is read (the reference calls convert() right after open()).
 */
import type { RgbImage } from './rgb-image.ts';

export function isGif(b: Uint8Array): boolean {
  return b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38 && b[5] === 0x61;
}

export function decodeGif(
  b: Uint8Array,
  origin: string,
  checkSize: (w: number, h: number) => void,
): RgbImage {
  if (!isGif(b) || b.length < 13) throw new Error(`${origin}: not a GIF file`);
  const u16 = (p: number): number => b[p] | (b[p + 1] << 8);
  let screenW = u16(6);
  let screenH = u16(8);
  const flags = b[10];
  let pos = 13;
  let globalPalette: Uint8Array | undefined;
  if (flags & 0x80) {
    const n = 3 << ((flags & 7) + 1);
    globalPalette = b.subarray(pos, pos + n);
    pos += n;
  }
  let transparent: number | undefined;
  const need = (n: number): void => {
    if (pos + n > b.length) throw new Error(`${origin}: truncated GIF at byte ${pos}`);
  };
  for (;;) {
    need(1);
    const tag = b[pos++];
    if (tag === 0x3b) throw new Error(`${origin}: GIF has no image`);
    if (tag === 0x21) {
      need(1);
      const label = b[pos++];
      // first sub-block
      need(1);
      const size = b[pos];
      if (label === 0xf9 && size >= 4) {
        need(1 + size);
        if (b[pos + 1] & 1) transparent = b[pos + 4];
      }
      pos = skipSubBlocks(b, pos, origin);
      continue;
    }
    if (tag !== 0x2c) continue; // Pillow ignores unknown tags between blocks
    need(9);
    const x0 = u16(pos);
    const y0 = u16(pos + 2);
    const fw = u16(pos + 4);
    const fh = u16(pos + 6);
    const iflags = b[pos + 8];
    pos += 9;
    screenW = Math.max(screenW, x0 + fw);
    screenH = Math.max(screenH, y0 + fh);
    checkSize(Math.max(1, screenW), Math.max(1, screenH));
    let palette = globalPalette;
    if (iflags & 0x80) {
      const n = 3 << ((iflags & 7) + 1);
      need(n);
      palette = b.subarray(pos, pos + n);
      pos += n;
    }
    need(1);
    const minCodeSize = b[pos++];
    const { data: lzw } = readSubBlocks(b, pos, origin);
    const indices = new Uint8Array(screenW * screenH).fill(transparent ?? 0);
    decodeLzwInto(lzw, minCodeSize, indices, screenW, x0, y0, fw, fh, (iflags & 0x40) !== 0, origin);
    const lut = new Uint8Array(256 * 3);
    for (let i = 0; i < 256; i++) lut[i * 3] = lut[i * 3 + 1] = lut[i * 3 + 2] = i;
    if (palette) lut.set(palette.subarray(0, Math.min(palette.length, 768)), 0);
    const out = new Uint8Array(screenW * screenH * 3);
    for (let i = 0; i < indices.length; i++) {
      const k = indices[i] * 3;
      out[i * 3] = lut[k];
      out[i * 3 + 1] = lut[k + 1];
      out[i * 3 + 2] = lut[k + 2];
    }
    return { width: screenW, height: screenH, data: out };
  }
}

function skipSubBlocks(b: Uint8Array, pos: number, origin: string): number {
  for (;;) {
    if (pos >= b.length) throw new Error(`${origin}: truncated GIF block at byte ${pos}`);
    const n = b[pos++];
    if (n === 0) return pos;
    pos += n;
  }
}

function readSubBlocks(b: Uint8Array, pos: number, origin: string): { data: Uint8Array; end: number } {
  const parts: Uint8Array[] = [];
  for (;;) {
    if (pos >= b.length) break; // data ran out: decode what is there (Pillow's decoder stops likewise)
    const n = b[pos++];
    if (n === 0) break;
    if (pos + n > b.length) throw new Error(`${origin}: truncated GIF image data at byte ${pos}`);
    parts.push(b.subarray(pos, pos + n));
    pos += n;
  }
  return { data: Buffer.concat(parts), end: pos };
}

/** Rows of an interlaced image in stored order: every 8th from 0, every 8th from 4, every 4th from 2, odd rows. */
function rowOrder(h: number, interlaced: boolean): number[] {
  if (!interlaced) return Array.from({ length: h }, (_, i) => i);
  const rows: number[] = [];
  for (const [start, step] of [
    [0, 8],
    [4, 8],
    [2, 4],
    [1, 2],
  ]) {
    for (let y = start; y < h; y += step) rows.push(y);
  }
  return rows;
}

/** Variable-width LZW (GIF89a appendix F), writing the frame's pixels into the canvas at (x0, y0). */
function decodeLzwInto(
  data: Uint8Array,
  minCodeSize: number,
  canvas: Uint8Array,
  canvasW: number,
  x0: number,
  y0: number,
  fw: number,
  fh: number,
  interlaced: boolean,
  origin: string,
): void {
  if (minCodeSize < 1 || minCodeSize > 11) throw new Error(`${origin}: bad GIF LZW code size ${minCodeSize}`);
  const rows = rowOrder(fh, interlaced);
  const total = fw * fh;
  const clear = 1 << minCodeSize;
  const eoi = clear + 1;
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const stack = new Uint8Array(4097);
  for (let i = 0; i < clear; i++) {
    prefix[i] = -1;
    suffix[i] = i;
  }
  let codeSize = minCodeSize + 1;
  let next = eoi + 1;
  let prev = -1;
  let bitBuf = 0;
  let bitCount = 0;
  let p = 0;
  let written = 0;
  const put = (v: number): void => {
    if (written >= total) return;
    const y = rows[Math.floor(written / fw)];
    const x = written % fw;
    canvas[(y0 + y) * canvasW + x0 + x] = v;
    written++;
  };
  while (written < total) {
    while (bitCount < codeSize && p < data.length) {
      bitBuf |= data[p++] << bitCount;
      bitCount += 8;
    }
    if (bitCount < codeSize) break;
    const code = bitBuf & ((1 << codeSize) - 1);
    bitBuf >>>= codeSize;
    bitCount -= codeSize;
    if (code === clear) {
      codeSize = minCodeSize + 1;
      next = eoi + 1;
      prev = -1;
      continue;
    }
    if (code === eoi) break;
    let cur = code;
    if (prev === -1) {
      if (code >= clear) throw new Error(`${origin}: corrupt GIF LZW data`);
      put(code);
      prev = code;
      continue;
    }
    let sp = 0;
    if (code >= next) {
      if (code > next) throw new Error(`${origin}: corrupt GIF LZW data`);
      // KwKwK case: the new string is prev + first(prev)
      cur = prev;
      let c = cur;
      while (prefix[c] !== -1) c = prefix[c];
      stack[sp++] = suffix[c];
    }
    let c = cur;
    while (c !== -1 && sp < stack.length) {
      stack[sp++] = suffix[c];
      c = prefix[c];
    }
    const first = stack[sp - 1];
    while (sp > 0) put(stack[--sp]);
    if (next < 4096) {
      prefix[next] = prev;
      suffix[next] = first;
      next++;
      if (next === 1 << codeSize && codeSize < 12) codeSize++;
    }
    prev = code;
  }
}
