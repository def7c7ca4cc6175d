import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../../src/model/inputs/image-decode.ts';
import { ffmpegPath } from '../../../src/common/ffmpeg.ts';
import {
  formatFrameName,
  getIndex,
  loadVideoFrames,
  loadVideoMmeFrames,
  probeVideo,
  roundHalfEven,
  splitPngStream,
  videoMmeIndices,
} from '../../../src/model/inputs/video-frames.ts';
import { readJsonFixture } from './image-fixtures.ts';

interface GetIndexCase {
  bound: [number, number] | null;
  fps: number;
  maxFrame: number;
  firstIdx: number;
  numSegments: number;
  expected: number[];
}
const ref = readJsonFixture<{
  getIndex: GetIndexCase[];
  videomme: { frames: number; num: number; expected: number[] }[];
}>('get-index.json');

describe('frame index sampling (NumPy rounding)', () => {
  it.each([
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [3.5, 4],
    [-0.5, 0],
    [-1.5, -2],
    [2.4999999, 2],
    [2.5000001, 3],
    [-300000, -300000],
  ])('roundHalfEven(%d) = %d', (x, want) => {
    expect(roundHalfEven(x) + 0).toBe(want);
  });

  it(`get_index matches the Python/NumPy reference on ${ref.getIndex.length} cases`, () => {
    const wrong = ref.getIndex.filter(
      (c) => getIndex(c.bound, c.fps, c.maxFrame, c.firstIdx, c.numSegments).join() !== c.expected.join(),
    );
    expect(wrong).toEqual([]);
  });

  it('rounds exact halves to even (tvqa folder of 10 frames, 4 segments: 4.5 -> 4)', () => {
    expect(getIndex(undefined, 3, 10, 1, 4)).toEqual([2, 4, 6, 9]);
  });

  it('Video-MME indices match VLMEvalKit save_video_frames', () => {
    for (const c of ref.videomme)
      expect(videoMmeIndices(c.frames, c.num), `${c.frames}/${c.num}`).toEqual(c.expected);
  });

  it('formats printf frame names', () => {
    expect(formatFrameName('%05d.jpg', 7)).toBe('00007.jpg');
    expect(formatFrameName('frame_%d.png', 12)).toBe('frame_12.png');
  });
});

describe('loadVideoFrames', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'video-frames-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a tvqa-style frame folder (fps 3, first index 1, %05d.jpg, max_frame = entries)', async () => {
    const frames = path.join(dir, 'tvqa');
    mkdirSync(frames, { recursive: true });
    for (let i = 1; i <= 10; i++)
      writeFileSync(path.join(frames, formatFrameName('%05d.jpg', i)), `frame ${i}`);
    const src = { kind: 'frames', dir: frames, fps: 3, firstIndex: 1, pattern: '%05d.jpg' } as const;
    const got = await loadVideoFrames(src, 4);
    expect(got.map((b) => new TextDecoder().decode(b))).toEqual(['frame 2', 'frame 4', 'frame 6', 'frame 9']);
    const bounded = await loadVideoFrames({ ...src, bound: [1, 2] }, 2);
    // start_idx = max(1, round(3)) = 3, end_idx = min(6, 10) = 6, seg 1.5 -> [3, 5]
    expect(bounded.map((b) => new TextDecoder().decode(b))).toEqual(['frame 3', 'frame 5']);
    await expect(loadVideoFrames({ ...src, pattern: '%04d.jpg' }, 4)).rejects.toThrow(
      /0002\.jpg: frame 2 of .* cannot be read/,
    );
  });

  /** A 30-frame, 10 fps H.264 MP4 whose frame k is solid grey 8*k, so a frame tells its own index. */
  function makeVideo(name: string, rate: string, n = 30): string {
    const w = 32;
    const h = 32;
    const raw = new Uint8Array(w * h * 3 * n);
    for (let k = 0; k < n; k++) raw.fill(8 * k, k * w * h * 3, (k + 1) * w * h * 3);
    const file = path.join(dir, name);
    const r = spawnSync(
      ffmpegPath(),
      [
        '-y',
        '-hide_banner',
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        '-s',
        `${w}x${h}`,
        '-r',
        rate,
        '-i',
        '-',
      ].concat(['-c:v', 'libx264', '-crf', '1', '-pix_fmt', 'yuv420p', file]),
      { input: raw },
    );
    expect(r.status, r.stderr.toString().slice(-500)).toBe(0);
    return file;
  }
  async function greyLevels(frames: Uint8Array[]): Promise<number[]> {
    return Promise.all(
      frames.map(async (f) => Math.round((await decodeImage(f)).data[3 * (16 * 32 + 16)] / 8)),
    );
  }

  it('probes frame count and average fps with the bundled ffmpeg', async () => {
    const file = makeVideo('ntsc.mp4', '30000/1001', 12);
    const info = await probeVideo(file);
    expect(info.frameCount).toBe(12);
    expect(info.fps).toBe(30000 / 1001);
  });

  it('extracts the get_index frames of a video file (max_frame = frames - 1, first index 0), repeats included', async () => {
    const file = makeVideo('grey.mp4', '10');
    expect(await probeVideo(file)).toEqual({ frameCount: 30, fps: 10 });
    const frames = await loadVideoFrames({ kind: 'file', path: file }, 4);
    expect(getIndex(undefined, 10, 29, 0, 4)).toEqual([3, 10, 17, 25]);
    expect(await greyLevels(frames)).toEqual([3, 10, 17, 25]);
    const bounded = await loadVideoFrames({ kind: 'file', path: file, bound: [0.5, 1.5] }, 2);
    expect(await greyLevels(bounded)).toEqual(getIndex([0.5, 1.5], 10, 29, 0, 2));
    const many = await loadVideoFrames({ kind: 'file', path: file }, 40); // more segments than frames
    expect(await greyLevels(many)).toEqual(getIndex(undefined, 10, 29, 0, 40));
    const mme = await loadVideoMmeFrames(file, 4);
    expect(await greyLevels(mme)).toEqual(videoMmeIndices(30, 4));
  });

  it('fails clearly on a missing video', async () => {
    await expect(loadVideoFrames({ kind: 'file', path: path.join(dir, 'nope.mp4') }, 4)).rejects.toThrow(
      /nope\.mp4: ffmpeg failed/,
    );
  });

  it('splits a concatenated PNG stream', () => {
    const one = readFileSync(new URL('../../fixtures/images/src/gray.png', import.meta.url));
    const parts = splitPngStream(Buffer.concat([one, one]));
    expect(parts.length).toBe(2);
    expect(Buffer.compare(Buffer.from(parts[1]), one)).toBe(0);
  });
});
