/**
 * An RGB pixel buffer with the few drawing operations the generators need (filled rectangles, filled circles,
 * bitmap-font text), encoded by sharp. Everything is integer arithmetic on whole pixels, so an image is the same on
 * every machine (no anti-aliasing, no system fonts).
 */
import sharp, { type Sharp } from 'sharp';
import { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyph, textWidth } from './bitmap-font.ts';

export type Rgb = readonly [number, number, number];

/** Pixel box, xyxy with exclusive right/bottom edges (COCO `[x, y, w, h]` -> `[x, y, x + w, y + h]`). */
export type Box = readonly [number, number, number, number];

export class RgbImage {
  /** Wraps raw RGB bytes (row-major, 3 bytes per pixel) without copying. */
  constructor(
    readonly width: number,
    readonly height: number,
    readonly data: Uint8Array,
  ) {
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
      throw new Error(`RgbImage: bad size ${width}x${height}`);
    }
    if (data.length !== width * height * 3) {
      throw new Error(`RgbImage: ${data.length} bytes for ${width}x${height} RGB`);
    }
  }

  /** A new image filled with one colour. */
  static blank(width: number, height: number, background: Rgb = [255, 255, 255]): RgbImage {
    const img = new RgbImage(width, height, new Uint8Array(Math.max(0, width * height * 3)));
    img.fillRect([0, 0, width, height], background);
    return img;
  }

  pixel(x: number, y: number): Rgb {
    const i = (y * this.width + x) * 3;
    return [this.data[i], this.data[i + 1], this.data[i + 2]];
  }

  setPixel(x: number, y: number, c: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    this.data[i] = c[0];
    this.data[i + 1] = c[1];
    this.data[i + 2] = c[2];
  }

  /** Fills `[x0, x1) x [y0, y1)`, clipped to the image. */
  fillRect(box: Box, c: Rgb): void {
    const x0 = Math.max(0, Math.round(box[0]));
    const y0 = Math.max(0, Math.round(box[1]));
    const x1 = Math.min(this.width, Math.round(box[2]));
    const y1 = Math.min(this.height, Math.round(box[3]));
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) this.setPixel(x, y, c);
  }

  /** Fills the disc inscribed in `box` (square box): pixel centres within the radius. */
  fillCircle(box: Box, c: Rgb): void {
    const cx = (box[0] + box[2]) / 2;
    const cy = (box[1] + box[3]) / 2;
    const r = Math.min(box[2] - box[0], box[3] - box[1]) / 2;
    for (let y = box[1]; y < box[3]; y++) {
      for (let x = box[0]; x < box[2]; x++) {
        const dx = x + 0.5 - cx;
        const dy = y + 0.5 - cy;
        if (dx * dx + dy * dy <= r * r) this.setPixel(x, y, c);
      }
    }
  }

  /** Draws `text` with its top-left corner at (x, y); returns the drawn box. */
  drawText(text: string, x: number, y: number, scale: number, c: Rgb): Box {
    for (const [k, ch] of [...text].entries()) {
      const rows = glyph(ch);
      const gx = x + k * GLYPH_ADVANCE * scale;
      for (let row = 0; row < GLYPH_HEIGHT; row++) {
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          if (rows[row] & (1 << (GLYPH_WIDTH - 1 - col))) {
            this.fillRect(
              [gx + col * scale, y + row * scale, gx + (col + 1) * scale, y + (row + 1) * scale],
              c,
            );
          }
        }
      }
    }
    return [x, y, x + textWidth(text, scale), y + GLYPH_HEIGHT * scale];
  }

  png(): Promise<Buffer> {
    return this.encoder().png({ compressionLevel: 9 }).toBuffer();
  }

  jpeg(quality = 90): Promise<Buffer> {
    return this.encoder().jpeg({ quality, chromaSubsampling: '4:2:0' }).toBuffer();
  }

  private encoder(): Sharp {
    return sharp(this.data, { raw: { width: this.width, height: this.height, channels: 3 } });
  }
}
