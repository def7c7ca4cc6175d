/**
 * Writing preprocessed images out for inspection (`internvl-eval preprocess --dump-tiles / --out`): what users look
 * at when a score does not match the card.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

/** Each tile as an 8-bit RGB PNG (lossless: exactly the bytes that get normalised): tile-00.png, tile-01.png, ... */
export async function writeTilePngs(
  tiles: readonly Uint8Array[],
  dir: string,
  size = 448,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const [i, tile] of tiles.entries()) {
    const file = path.join(dir, `tile-${String(i).padStart(2, '0')}.png`);
    const png = await sharp(tile, { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toBuffer();
    await writeFile(file, png);
    files.push(file);
  }
  return files;
}

/** A float32 array as raw little-endian bytes (numpy: `np.fromfile(f, '<f4').reshape(tiles, 3, 448, 448)`). */
export async function writeFloat32LE(file: string, values: Float32Array): Promise<void> {
  let bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  if (endianness() !== 'LE') {
    bytes = Buffer.alloc(values.byteLength);
    values.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  }
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, bytes);
}
