/**
 * Short MVBench-like clips: a coloured square moving in one direction (Moving Direction), and a square whose colour
 * changes part-way (an Episodic-Reasoning-like clip with a start/end bound). Written as an H.264 MP4 with the ffmpeg
 * of `@ffmpeg-installer/ffmpeg` (single-threaded, bit-exact flags: same frames -> same bytes), or as a tvqa-style
 * folder of JPEG frames (`00001.jpg`, ... at 3 fps).
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ffmpegPath } from '../../common/ffmpeg.ts';
import { COLORS, COLOR_NAMES } from './shapes.ts';
import { RgbImage } from './raster.ts';
import type { Rng } from './rng.ts';

export type Direction = 'left' | 'right' | 'up' | 'down';
export const DIRECTIONS: readonly Direction[] = ['left', 'right', 'up', 'down'];

export interface MovingSquareClip {
  readonly color: string;
  readonly direction: Direction;
  readonly fps: number;
  readonly frames: readonly RgbImage[];
}

/** `frameCount` frames of a square moving across a `width` x `height` field. Sizes must be even (yuv420p). */
export function makeMovingSquare(
  rng: Rng,
  frameCount = 24,
  fps = 8,
  width = 128,
  height = 96,
): MovingSquareClip {
  const color = rng.pick(COLOR_NAMES);
  const direction = rng.pick(DIRECTIONS);
  const size = 20;
  const fixedX = rng.int(10, width - size - 10);
  const fixedY = rng.int(10, height - size - 10);
  const frames: RgbImage[] = [];
  for (let f = 0; f < frameCount; f++) {
    const t = f / (frameCount - 1);
    const alongX = Math.round(4 + t * (width - size - 8));
    const alongY = Math.round(4 + t * (height - size - 8));
    const x = direction === 'right' ? alongX : direction === 'left' ? width - size - alongX : fixedX;
    const y = direction === 'down' ? alongY : direction === 'up' ? height - size - alongY : fixedY;
    const img = RgbImage.blank(width, height, [235, 235, 235]);
    img.fillRect([x, y, x + size, y + size], COLORS[color]);
    frames.push(img);
  }
  return { color, direction, fps, frames };
}

export interface ColorChangeClip {
  readonly before: string;
  readonly after: string;
  /** Seconds at which the colour changes. */
  readonly changeAt: number;
  readonly fps: number;
  readonly frames: readonly RgbImage[];
}

/** A still square that turns from one colour to another at `changeAt` seconds (frame k shows time k / fps). */
export function makeColorChange(rng: Rng, seconds = 5, fps = 3, width = 128, height = 96): ColorChangeClip {
  const [before, after] = rng.sample(COLOR_NAMES, 2);
  const changeAt = 2;
  const frames: RgbImage[] = [];
  for (let f = 0; f < seconds * fps; f++) {
    const img = RgbImage.blank(width, height, [235, 235, 235]);
    img.fillRect([44, 28, 84, 68], COLORS[f / fps < changeAt ? before : after]);
    frames.push(img);
  }
  return { before, after, changeAt, fps, frames };
}

/** Encodes RGB frames to an H.264 MP4 (yuv420p, constant frame rate) at `file`. */
export async function writeMp4(frames: readonly RgbImage[], fps: number, file: string): Promise<void> {
  if (!frames.length) throw new Error(`${file}: no frames to encode`);
  const { width, height } = frames[0];
  if (width % 2 || height % 2)
    throw new Error(`${file}: frame size ${width}x${height} must be even (yuv420p)`);
  await mkdir(path.dirname(file), { recursive: true });
  const args = [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', '-'],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', '-threads', '1'],
    // bit-exact: no encoder version strings or creation times in the container
    ...['-fflags', '+bitexact', '-flags:v', '+bitexact', '-map_metadata', '-1', '-movflags', '+faststart'],
    file,
  ];
  await new Promise<void>((resolve, reject) => {
    const p = spawn(ffmpegPath(), args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => reject(new Error(`${file}: cannot run ffmpeg (${e.message})`)));
    p.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${file}: ffmpeg exited with ${code}: ${err.trim()}`)),
    );
    p.stdin.on('error', () => undefined); // a failed ffmpeg closes stdin early; 'close' reports why
    for (const f of frames) p.stdin.write(f.data);
    p.stdin.end();
  });
}

/** Writes frames as `dir/00001.jpg`, ... (tvqa `frames_fps3_hq` layout: first index 1, `%05d.jpg`). */
export async function writeFrameFolder(
  frames: readonly RgbImage[],
  dir: string,
  firstIndex = 1,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [k, f] of frames.entries()) {
    await writeFile(path.join(dir, `${String(k + firstIndex).padStart(5, '0')}.jpg`), await f.jpeg(90));
  }
}
