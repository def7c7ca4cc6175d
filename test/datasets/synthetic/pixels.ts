/** Test helpers that read generated images back as pixels (sharp decode) and look for things in them. */
import sharp from 'sharp';
import {
  GLYPH_ADVANCE,
  GLYPH_HEIGHT,
  GLYPH_WIDTH,
  glyph,
} from '../../../src/datasets/synthetic/bitmap-font.ts';
import { RgbImage } from '../../../src/datasets/synthetic/raster.ts';

export async function decodeRgb(bytes: Uint8Array): Promise<RgbImage> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
  return new RgbImage(info.width, info.height, new Uint8Array(data));
}

const luma = (img: RgbImage, x: number, y: number) => {
  const [r, g, b] = img.pixel(x, y);
  return (r * 299 + g * 587 + b * 114) / 1000;
};

/**
 * Where `text`, drawn in the bitmap font at `scale`, appears in `img` (dark ink on a light background): every
 * glyph pixel dark, every other pixel of the glyph cells light. Searches `region` (xyxy) or the whole image.
 */
export function findText(
  img: RgbImage,
  text: string,
  scale: number,
  region: readonly [number, number, number, number] = [0, 0, img.width, img.height],
): [number, number] | undefined {
  const on: [number, number][] = [];
  const off: [number, number][] = [];
  [...text].forEach((ch, k) => {
    const rows = glyph(ch);
    for (let r = 0; r < GLYPH_HEIGHT; r++)
      for (let c = 0; c < GLYPH_WIDTH; c++) {
        const lit = (rows[r] & (1 << (GLYPH_WIDTH - 1 - c))) !== 0;
        // sample the centre of each font pixel
        const p: [number, number] = [k * GLYPH_ADVANCE * scale + c * scale, r * scale];
        (lit ? on : off).push(p);
      }
  });
  const w = (text.length * GLYPH_ADVANCE - 1) * scale;
  const h = GLYPH_HEIGHT * scale;
  const x1 = Math.min(region[2], img.width) - w;
  const y1 = Math.min(region[3], img.height) - h;
  for (let y = Math.max(0, region[1]); y <= y1; y++) {
    for (let x = Math.max(0, region[0]); x <= x1; x++) {
      if (
        on.every(([dx, dy]) => luma(img, x + dx, y + dy) < 110) &&
        off.every(([dx, dy]) => luma(img, x + dx, y + dy) > 160)
      ) {
        return [x, y];
      }
    }
  }
  return undefined;
}

export function near(a: readonly number[], b: readonly number[], tol: number): boolean {
  return a.every((v, k) => Math.abs(v - b[k]) <= tol);
}
