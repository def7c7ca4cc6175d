/**
 * Small JPEG thumbnails of each sample's first image, written by the runner beside the predictions
 * (`thumbs/TASK/ID.jpg`) so the report's sample browser can show them without re-reading the dataset.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

/** File-system-safe, collision-free name for a sample id (ids may contain '/', ':' ...). */
export function thumbnailName(id: string): string {
  return `${encodeURIComponent(id).replace(/\./g, '%2E')}.jpg`;
}

export function thumbnailPath(runDir: string, task: string, id: string): string {
  return path.join(runDir, 'thumbs', encodeURIComponent(task), thumbnailName(id));
}

/** Best effort: a thumbnail that cannot be made (corrupt image) is simply absent. Returns whether one was written. */
export async function writeThumbnail(
  runDir: string,
  task: string,
  id: string,
  image: Uint8Array,
  size = 160,
): Promise<boolean> {
  try {
    const jpeg = await sharp(image, { limitInputPixels: 100_000_000 })
      .resize(size, size, { fit: 'inside' })
      .jpeg({ quality: 70 })
      .toBuffer();
    const file = thumbnailPath(runDir, task, id);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, jpeg);
    return true;
  } catch {
    return false;
  }
}

export async function readThumbnailDataUrl(
  runDir: string,
  task: string,
  id: string,
): Promise<string | undefined> {
  try {
    const bytes = await readFile(thumbnailPath(runDir, task, id));
    return `data:image/jpeg;base64,${bytes.toString('base64')}`;
  } catch {
    return undefined;
  }
}
