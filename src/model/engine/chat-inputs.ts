/**
 * Turning files into a chat request (used by `internvl-eval chat`): images preprocessed with their tile cap, or a
 * video's frames (one tile each) with the model card's `Frame{i}: <image>\n` prefix
 * (InternVL2-2B model card, video example: `video_prefix = ''.join([f'Frame{i+1}: <image>\n' ...])`).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { preprocessImage, type PreprocessedImage } from '../inputs/image-preprocess.ts';
import { loadVideoFrames } from '../inputs/video-frames.ts';
import type { ChatResult } from './engine.ts';

export interface ChatInputOptions {
  readonly images?: readonly string[];
  readonly video?: string;
  /** Frames sampled from the video (model card: 8). */
  readonly frames?: number;
  /** Tile cap per image (model card: 12); video frames always use 1. */
  readonly maxTiles?: number;
  readonly useThumbnail?: boolean;
  readonly resize?: 'exact' | 'fast';
}

export function videoQuestion(frameCount: number, question: string): string {
  let prefix = '';
  for (let i = 0; i < frameCount; i++) prefix += `Frame${i + 1}: <image>\n`;
  return prefix + question;
}

export async function loadChatImages(
  question: string,
  opts: ChatInputOptions,
): Promise<{ question: string; images: PreprocessedImage[] }> {
  const useThumbnail = opts.useThumbnail ?? true;
  const resize = opts.resize ? { resize: opts.resize } : {};
  if (opts.video && opts.images && opts.images.length > 0)
    throw new Error('give --image or --video, not both');
  if (opts.video) {
    const frames = await loadVideoFrames({ kind: 'file', path: path.resolve(opts.video) }, opts.frames ?? 8);
    const images: PreprocessedImage[] = [];
    for (let i = 0; i < frames.length; i++) {
      try {
        images.push(await preprocessImage(frames[i], { maxTiles: 1, useThumbnail, ...resize }));
      } catch (err) {
        throw new Error(`${opts.video}: frame ${i + 1}: ${(err as Error).message}`);
      }
    }
    return { question: videoQuestion(images.length, question), images };
  }
  const images: PreprocessedImage[] = [];
  for (const file of opts.images ?? []) {
    const bytes = await readFile(file).catch((err: Error) => {
      throw new Error(`${file}: cannot read image (${err.message})`);
    });
    try {
      images.push(
        await preprocessImage(new Uint8Array(bytes), {
          maxTiles: opts.maxTiles ?? 12,
          useThumbnail,
          ...resize,
        }),
      );
    } catch (err) {
      throw new Error(`${file}: ${(err as Error).message}`);
    }
  }
  return { question, images };
}

/** The `chat --json` object. */
/**
 * `chat --json`: `threads` is the engine's intra-op thread count (EngineInfo.threads), `kv_cache` how the decoder's
 * cache is written (EngineInfo.kvCache).
 */
export function chatResultJson(
  r: ChatResult,
  engine: { threads: number; kvCache?: string },
): Record<string, unknown> {
  return {
    input_ids: r.inputIds,
    output_ids: r.outputIds,
    text: r.text,
    tiles: r.tiles,
    finish_reason: r.finishReason,
    timings: {
      vision_ms: r.timings.visionMs,
      prefill_ms: r.timings.prefillMs,
      decode_ms: r.timings.decodeMs,
      total_ms: r.timings.totalMs,
      prompt_tokens: r.inputIds.length,
      output_tokens: r.outputIds.length,
      prefill_tokens_per_s: r.timings.prefillTokensPerSecond,
      decode_tokens_per_s: r.timings.decodeTokensPerSecond,
      decode_context_tokens: r.timings.decodeContextTokens,
      threads: engine.threads,
      kv_cache: engine.kvCache ?? null,
      // Per decode step: host<->device bytes (0 on the CPU provider) and kernels (nodes) run, device ones apart.
      host_to_device_bytes_per_decode_step: r.timings.decodeStep?.hostToDeviceBytes ?? null,
      device_to_host_bytes_per_decode_step: r.timings.decodeStep?.deviceToHostBytes ?? null,
      kernels_per_decode_step: r.timings.decodeStep?.kernels ?? null,
      device_kernels_per_decode_step: r.timings.decodeStep?.deviceKernels ?? null,
    },
  };
}

/** float32 little-endian bytes of a logits row (`--dump-logits`). */
export function float32LE(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}
