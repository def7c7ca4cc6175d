import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chatResultJson,
  float32LE,
  loadChatImages,
  videoQuestion,
} from '../../../src/model/engine/chat-inputs.ts';
import { ffmpegPath } from '../../../src/common/ffmpeg.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'chat-inputs-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('chat inputs', () => {
  it('prefixes one FrameK line per frame (model card video example)', () => {
    expect(videoQuestion(3, 'What happens?')).toBe(
      'Frame1: <image>\nFrame2: <image>\nFrame3: <image>\nWhat happens?',
    );
    expect(videoQuestion(0, 'Q')).toBe('Q');
  });

  it('tiles each image with its cap and names a file it cannot read', async () => {
    const file = path.join(dir, 'tall.png');
    await writeFile(
      file,
      await sharp({ create: { width: 448, height: 1344, channels: 3, background: '#336699' } })
        .png()
        .toBuffer(),
    );
    const { question, images } = await loadChatImages('Q', { images: [file, file], maxTiles: 3 });
    expect(question).toBe('Q');
    expect(images.map((i) => i.tiles)).toEqual([4, 4]); // 1×3 grid + thumbnail
    const noThumb = await loadChatImages('Q', { images: [file], maxTiles: 3, useThumbnail: false });
    expect(noThumb.images[0].tiles).toBe(3);
    await expect(loadChatImages('Q', { images: [path.join(dir, 'nope.png')] })).rejects.toThrow(
      /nope\.png: cannot read image/,
    );
  });

  it('samples video frames, one tile each, with the FrameK prompt', async () => {
    const file = path.join(dir, 'clip.mp4');
    const w = 32;
    const raw = new Uint8Array(w * w * 3 * 12).map((_, i) => (i * 13) % 256);
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
        `${w}x${w}`,
        '-r',
        '6',
        '-i',
        '-',
      ].concat(['-c:v', 'libx264', '-pix_fmt', 'yuv420p', file]),
      { input: raw },
    );
    expect(r.status, r.stderr.toString().slice(-300)).toBe(0);
    const { question, images } = await loadChatImages('Why?', { video: file, frames: 3, maxTiles: 12 });
    expect(question).toBe(videoQuestion(3, 'Why?'));
    expect(images.map((i) => i.tiles)).toEqual([1, 1, 1]);
    await expect(loadChatImages('Q', { video: file, images: [file] })).rejects.toThrow(/not both/);
  });

  it('writes float32 little-endian and the --json shape', () => {
    const bytes = float32LE(Float32Array.from([1, -2.5]));
    expect(Array.from(bytes)).toEqual([0, 0, 128, 63, 0, 0, 32, 192]);
    const json = chatResultJson(
      {
        text: 'hi',
        inputIds: [1, 2],
        outputIds: [3],
        finishReason: 'stop',
        tiles: [1],
        timings: {
          visionMs: 1,
          prefillMs: 2,
          decodeMs: 3,
          totalMs: 6,
          batchSize: 1,
          prefillTokensPerSecond: 1000,
          decodeTokensPerSecond: 0,
          decodeContextTokens: 2,
        },
      },
      { threads: 3, kvCache: 'in-place' },
    );
    expect(Object.keys(json)).toEqual([
      'input_ids',
      'output_ids',
      'text',
      'tiles',
      'finish_reason',
      'timings',
    ]);
    expect(json.input_ids).toEqual([1, 2]);
    expect(json.timings).toMatchObject({
      total_ms: 6,
      decode_context_tokens: 2,
      threads: 3,
      kv_cache: 'in-place',
    });
  });
});
