/**
 * Video frame sampling as the reference does it, and frame extraction with the ffmpeg that ships with
 * `@ffmpeg-installer/ffmpeg` (installed by `npm ci`, no system ffmpeg needed).
 *
 *   - MVBench (InternVL eval/mvbench/evaluate_mvbench.py `get_index`, `read_video`, `read_frame`;
 *     eval-protocols.md §4.10): 16 segments; decord for video files (`max_frame = len(vr) - 1`,
 *     `fps = vr.get_avg_fps()`, first index 0); frame folders (tvqa: fps 3, first index 1, `%05d.jpg`,
 *     `max_frame = len(os.listdir(dir))`).
 *   - Video-MME (VLMEvalKit vlmeval/dataset/videomme.py `save_video_frames`): `step = len / (n + 1)`,
 *     `int(i * step)` for i = 1..n.
 *
 * Where frames can differ from the reference's decord frames:
 *   - frame numbering: we select the n-th frame the decoder outputs in presentation order (ffmpeg `select=eq(n,k)`);
 *     decord seeks by its own packet index. They agree for ordinary constant-frame-rate files; files with edit
 *     lists, dropped or duplicated timestamps can shift by a frame;
 *   - frame count and fps: counted from the container's video packets and their durations (for MP4 this is exactly
 *     libavformat's `avg_frame_rate` = frames * timescale / sum of sample durations, which decord returns); when the
 *     container gives no packet durations we fall back to the rate ffmpeg prints (2 decimals);
 *   - YUV -> RGB: both use libswscale, but other versions/flags may differ by a few units per sample;
 *   - VLMEvalKit's Video-MME saves frames as JPEG (PIL quality 75) and reloads them; we hand out lossless PNG.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ffmpegPath } from '../../common/ffmpeg.ts';
import type { VideoSource } from '../../datasets/sample.ts';

/** Python's `round()` / NumPy's `np.round` for a float: nearest integer, exact halves to even. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f; // exact for |x| < 2^52
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * MVBench `get_index(bound, fps, max_frame, first_idx)` with `num_segments`:
 *   start, end = bound or (-100000, 100000)
 *   start_idx = max(first_idx, round(start * fps)); end_idx = min(round(end * fps), max_frame)
 *   seg_size = (end_idx - start_idx) / num_segments
 *   idx_k = int(start_idx + seg_size / 2 + np.round(seg_size * k))      (int() truncates toward zero)
 */
export function getIndex(
  bound: readonly [number, number] | null | undefined,
  fps: number,
  maxFrame: number,
  firstIdx: number,
  numSegments: number,
): number[] {
  const [start, end] = bound ?? [-100000, 100000];
  const startIdx = Math.max(firstIdx, roundHalfEven(start * fps));
  const endIdx = Math.min(roundHalfEven(end * fps), maxFrame);
  const segSize = (endIdx - startIdx) / numSegments;
  const out: number[] = [];
  for (let k = 0; k < numSegments; k++)
    out.push(Math.trunc(startIdx + segSize / 2 + roundHalfEven(segSize * k)));
  return out;
}

/** Video-MME (VLMEvalKit `save_video_frames`): `step = len / (n + 1)`, `int(i * step)` for i in 1..n. */
export function videoMmeIndices(frameCount: number, numFrames: number): number[] {
  const step = frameCount / (numFrames + 1);
  const out: number[] = [];
  for (let i = 1; i <= numFrames; i++) out.push(Math.trunc(i * step));
  return out;
}

function runFfmpeg(args: string[], what: string): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      ffmpegPath(),
      ['-hide_banner', '-nostdin', ...args],
      { encoding: 'buffer', maxBuffer: 1 << 30 },
      (err, stdout, stderr) => {
        const errText = stderr.toString('utf8');
        if (err) {
          const tail = errText.trim().split('\n').slice(-3).join(' | ');
          reject(new Error(`${what}: ffmpeg failed (${tail || err.message})`));
        } else {
          resolve({ stdout, stderr: errText });
        }
      },
    );
  });
}

export interface VideoInfo {
  /** Number of video frames (decord's `len(vr)`). */
  readonly frameCount: number;
  /** Average frame rate (decord's `get_avg_fps()`). */
  readonly fps: number;
}

/** Frame count and average fps of the first video stream, from its packets (stream copy, no decoding). */
export async function probeVideo(file: string): Promise<VideoInfo> {
  const { stdout, stderr } = await runFfmpeg(
    ['-i', file, '-map', '0:v:0', '-c', 'copy', '-f', 'framecrc', '-'],
    file,
  );
  let tbNum = 0;
  let tbDen = 0;
  let count = 0;
  let durSum = 0;
  let missingDuration = false;
  for (const line of stdout.toString('utf8').split('\n')) {
    const tb = /^#tb 0: (\d+)\/(\d+)/.exec(line);
    if (tb) {
      tbNum = Number(tb[1]);
      tbDen = Number(tb[2]);
      continue;
    }
    if (line.startsWith('#') || !line.trim()) continue;
    const f = line.split(',').map((s) => s.trim());
    if (f[0] !== '0') continue;
    count++;
    const dur = Number(f[3]);
    if (!(dur > 0)) missingDuration = true;
    durSum += dur;
  }
  if (count === 0) throw new Error(`${file}: no video frames found`);
  let fps: number;
  if (!missingDuration && tbNum > 0 && tbDen > 0) {
    fps = (count * tbDen) / (durSum * tbNum);
  } else {
    const m = /Stream #0:\d+.*Video:.*?, ([\d.]+)k? fps/.exec(stderr);
    if (!m) throw new Error(`${file}: cannot determine the frame rate`);
    fps = Number(m[1]) * (/[\d.]+k fps/.test(m[0]) ? 1000 : 1);
  }
  return { frameCount: count, fps };
}

/** Split a concatenation of PNG files (ffmpeg image2pipe output) into the individual files. */
export function splitPngStream(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  while (pos + 8 <= buf.length) {
    const start = pos;
    pos += 8; // signature
    for (;;) {
      if (pos + 12 > buf.length) throw new Error('truncated PNG in ffmpeg output');
      const len = dv.getUint32(pos);
      const type = String.fromCharCode(buf[pos + 4], buf[pos + 5], buf[pos + 6], buf[pos + 7]);
      pos += 12 + len;
      if (type === 'IEND') break;
    }
    out.push(buf.slice(start, pos));
  }
  return out;
}

/** Decode the frames at the given (0-based, presentation-order) indices as PNG files, in the order asked. */
export async function extractFrames(file: string, indices: readonly number[]): Promise<Uint8Array[]> {
  const unique = [...new Set(indices)].sort((a, b) => a - b);
  if (unique.some((i) => !Number.isInteger(i) || i < 0)) {
    throw new Error(`${file}: frame indices must be non-negative integers, got ${indices.join(',')}`);
  }
  const select = unique.map((i) => `eq(n\\,${i})`).join('+');
  const { stdout } = await runFfmpeg(
    [
      '-i',
      file,
      '-map',
      '0:v:0',
      '-vf',
      `select=${select}`,
      '-vsync',
      '0',
      '-f',
      'image2pipe',
      '-c:v',
      'png',
      '-pix_fmt',
      'rgb24',
      '-',
    ],
    file,
  );
  const frames = splitPngStream(stdout);
  if (frames.length !== unique.length) {
    throw new Error(
      `${file}: asked for frames ${unique.join(',')} but ffmpeg returned ${frames.length} frames`,
    );
  }
  const byIndex = new Map(unique.map((idx, k) => [idx, frames[k]]));
  return indices.map((i) => byIndex.get(i)!);
}

/** printf-style `%05d` / `%d` frame file name. */
export function formatFrameName(pattern: string, index: number): string {
  return pattern.replace(/%(0?)(\d*)d/, (_m, zero: string, width: string) =>
    String(index).padStart(width ? Number(width) : 0, zero ? '0' : ' '),
  );
}

/**
 * The reference's frames for a video: encoded images (PNG for video files, the stored files for frame folders),
 * one per segment, in order. Each frame is then tiled on its own (`preprocessImage(frame, { maxTiles: 1, ... })`).
 */
export async function loadVideoFrames(video: VideoSource, numSegments: number): Promise<Uint8Array[]> {
  if (video.kind === 'file') {
    const info = await probeVideo(video.path);
    const idx = getIndex(video.bound, info.fps, info.frameCount - 1, 0, numSegments);
    return extractFrames(video.path, idx);
  }
  let entries: string[];
  try {
    entries = await readdir(video.dir);
  } catch (e) {
    throw new Error(`${video.dir}: cannot list frame folder (${(e as Error).message})`);
  }
  // max_frame = len(os.listdir(dir)): every entry counts, as in the reference
  const idx = getIndex(video.bound, video.fps, entries.length, video.firstIndex, numSegments);
  return Promise.all(
    idx.map(async (i) => {
      const file = path.join(video.dir, formatFrameName(video.pattern, i));
      try {
        return new Uint8Array(await readFile(file));
      } catch (e) {
        throw new Error(`${file}: frame ${i} of ${video.dir} cannot be read (${(e as Error).message})`);
      }
    }),
  );
}

/** Video-MME's frames for a video file (VLMEvalKit `save_video_frames` indices), PNG-encoded, in order. */
export async function loadVideoMmeFrames(file: string, numFrames: number): Promise<Uint8Array[]> {
  const info = await probeVideo(file);
  return extractFrames(file, videoMmeIndices(info.frameCount, numFrames));
}
