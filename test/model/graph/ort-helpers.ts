// Small helpers for the graph tests: run a GraphBuilder graph or a built folder in onnxruntime-node (CPU).
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { GraphBuilder } from '../../../src/model/graph/onnx-builder.ts';

export async function runGraph(
  g: GraphBuilder,
  feeds: Record<string, ort.Tensor>,
): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(g.encode(), { executionProviders: ['cpu'] });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

export function f32(data: ArrayLike<number>, dims: number[]): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.from(data), dims);
}

export function i64(data: ArrayLike<number>, dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(Array.from(data, (v) => BigInt(v))), dims);
}

export interface BuiltSessions {
  vision: ort.InferenceSession;
  embed: ort.InferenceSession;
  decoder: ort.InferenceSession;
  release(): Promise<void>;
}

export async function openBuilt(dir: string): Promise<BuiltSessions> {
  const opts: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: 1 };
  const [vision, embed, decoder] = await Promise.all(
    ['vision', 'embed', 'decoder'].map((f) => ort.InferenceSession.create(path.join(dir, `${f}.onnx`), opts)),
  );
  return {
    vision,
    embed,
    decoder,
    release: async () => {
      await Promise.all([vision.release(), embed.release(), decoder.release()]);
    },
  };
}

export interface DecoderDims {
  layers: number;
  kvHeads: number;
  headDim: number;
  hidden: number;
  vocab: number;
}

export interface DecoderStep {
  logits: Float32Array;
  /** [B, 1, V] (default build: last position only) or [B, S, V] (`allLogits` build). */
  logitsDims: readonly number[];
  /** [layer][0 = key, 1 = value] */
  present: ort.Tensor[][];
}

/** One decoder call. `past` null = empty cache. */
export async function runDecoder(
  s: ort.InferenceSession,
  d: DecoderDims,
  embeds: Float32Array,
  batch: number,
  seq: number,
  mask: number[],
  positions: number[],
  past: ort.Tensor[][] | null,
): Promise<DecoderStep> {
  const feeds: Record<string, ort.Tensor> = {
    inputs_embeds: new ort.Tensor('float32', embeds, [batch, seq, d.hidden]),
    attention_mask: i64(mask, [batch, mask.length / batch]),
  };
  // The fused decoder derives rotary positions from the cache slots (decoder-graph.ts); older graphs take them.
  if (s.inputNames.includes('position_ids')) feeds['position_ids'] = i64(positions, [batch, seq]);
  for (let i = 0; i < d.layers; i++) {
    ['key', 'value'].forEach((kv, j) => {
      feeds[`past_key_values.${i}.${kv}`] =
        past?.[i][j] ?? new ort.Tensor('float32', new Float32Array(0), [batch, d.kvHeads, 0, d.headDim]);
    });
  }
  const out = await s.run(feeds);
  const present = Array.from({ length: d.layers }, (_, i) => [
    out[`present.${i}.key`],
    out[`present.${i}.value`],
  ]);
  return { logits: out['logits'].data as Float32Array, logitsDims: out['logits'].dims, present };
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/** max |a - b| / max |b|: error relative to the reference's scale. */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

export function argmax(a: ArrayLike<number>, from = 0, to = a.length): number {
  let best = from;
  for (let i = from; i < to; i++) if (a[i] > a[best]) best = i;
  return best - from;
}

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32). */
export function randomFloats(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}
