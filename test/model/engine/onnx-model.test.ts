/**
 * The engine's static KV cache on a real built tiny model: allocated once per generation, the new slots written
 * into it by each step (GQA itself through the C API, 'in-place'; or the engine from the qkv outputs, 'append'),
 * reused by the next generation of the same batch size; the two bindings agree; and the onnxruntime-node
 * behaviour that made the C API path necessary (a pre-allocated fetch comes back as a copy).
 */
import { rm } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltModelInfo } from '../../../src/model/engine/built-model.ts';
import type { DecoderStepOutput, KvCache } from '../../../src/model/engine/generate.ts';
import { OnnxModel } from '../../../src/model/engine/onnx-model.ts';
import { planSessions, type HostKvBinding } from '../../../src/model/engine/sessions.ts';
import { runDecoder, type DecoderDims } from '../graph/ort-helpers.ts';
import { tinyBuiltModel } from './tiny-built.ts';

let root: string;
let info: BuiltModelInfo;
let model: OnnxModel;
/** onnxruntime-node's own session on the decoder: the reference the engine's steps are checked against. */
let refSession: ort.InferenceSession;
let dims: DecoderDims;

/** The tiny model with its host cache bound one way or the other (sessions.ts HostKvBinding). */
async function openWith(binding: HostKvBinding): Promise<OnnxModel> {
  const settings = { device: 'cpu' as const, threads: 1 };
  const plan = planSessions(settings);
  return OnnxModel.open(info, settings, { ...plan, decoder: { kvCache: { location: 'cpu', binding } } });
}

beforeAll(async () => {
  ({ root, info } = await tinyBuiltModel('onnx-model-', 11));
  model = await OnnxModel.open(info, { device: 'cpu', threads: 1 });
  refSession = await ort.InferenceSession.create(info.files.decoder, { intraOpNumThreads: 1 });
  const l = info.llm;
  dims = { layers: l.layers, kvHeads: l.kvHeads, headDim: l.headDim, hidden: l.hidden, vocab: l.vocab };
});

afterAll(async () => {
  await model?.close();
  await refSession?.release();
  if (root) await rm(root, { recursive: true, force: true });
});

/** The cache tensors behind a KvCache returned by OnnxModel.step (test access to the private layout). */
function cacheTensors(c: KvCache): readonly ort.Tensor[] {
  return (c as unknown as { buffers: { tensors: readonly ort.Tensor[] } }).buffers.tensors;
}

/** Slots [0, length) of a [B, KV, C, D] tensor as a dense [B, KV, length, D] array. */
function written(t: ort.Tensor, length: number): Float32Array {
  const [b, kv, c, d] = t.dims;
  const data = t.data as Float32Array;
  const out = new Float32Array(b * kv * length * d);
  for (let r = 0; r < b * kv; r++) out.set(data.subarray(r * c * d, (r * c + length) * d), r * length * d);
  return out;
}

const ones = (n: number) => new BigInt64Array(n).fill(1n);
const positions = (from: number, n: number) => BigInt64Array.from({ length: n }, (_, i) => BigInt(from + i));

it('opens the decoder through the C API on the CPU provider by default (in-place cache)', () => {
  expect(model.kvBinding).toBe('in-place');
});

describe.each(['in-place', 'append'] as const)('OnnxModel static KV cache (%s)', (binding) => {
  let model: OnnxModel;
  beforeAll(async () => {
    model = await openWith(binding);
    expect(model.kvBinding).toBe(binding);
  });
  afterAll(async () => {
    await model?.close();
  });

  it('prefill + decode steps: same cache tensors every step, their written slots equal the growing present', async () => {
    const prompt = [1, 40, 41, 42, 43];
    const next = [50, 51, 52];
    const capacity = 16;
    const embeds = await model.embedOnHost(BigInt64Array.from([...prompt, ...next].map(BigInt)), 1, 8);
    const H = dims.hidden;
    let out: DecoderStepOutput = await model.step({
      batch: 1,
      seq: 5,
      embeds: embeds.slice(0, 5 * H),
      attentionMask: ones(5),
      positionIds: positions(0, 5),
      past: null,
      capacity,
    });
    const tensors = cacheTensors(out.present);
    expect(tensors).toHaveLength(2 * dims.layers);
    expect(tensors[0].dims).toEqual([1, dims.kvHeads, capacity, dims.headDim]);
    // reference: the same steps letting `present` grow (no static buffer)
    let ref = await runDecoder(
      refSession,
      dims,
      embeds.slice(0, 5 * H),
      1,
      5,
      [1, 1, 1, 1, 1],
      [0, 1, 2, 3, 4],
      null,
    );
    for (let s = 0; s < next.length; s++) {
      const T = 6 + s;
      out = await model.step({
        batch: 1,
        seq: 1,
        embeds: embeds.slice((5 + s) * H, (6 + s) * H),
        attentionMask: ones(T),
        positionIds: positions(T - 1, 1),
        past: out.present,
        capacity,
      });
      ref = await runDecoder(
        refSession,
        dims,
        embeds.slice((5 + s) * H, (6 + s) * H),
        1,
        1,
        new Array(T).fill(1),
        [T - 1],
        ref.present,
      );
      expect(out.present.length).toBe(T);
      expect(cacheTensors(out.present)).toBe(tensors); // no new tensors: appended in place
      for (let l = 0; l < dims.layers; l++) {
        // keys rotated by the engine (float64, then rounded) vs inside GQA (float32): equal up to rounding, which
        // then reaches the next layers' values too
        expect(maxAbs(written(tensors[2 * l], T), ref.present[l][0].data as Float32Array)).toBeLessThan(1e-5);
        expect(maxAbs(written(tensors[2 * l + 1], T), ref.present[l][1].data as Float32Array)).toBeLessThan(
          1e-5,
        );
      }
      expect(maxAbs(out.lastLogits, ref.logits)).toBeLessThan(1e-5);
    }
    model.releaseCache(out.present);
    // the next generation of the same batch size (and no more slots) reuses the idle cache
    const again = await model.step({
      batch: 1,
      seq: 3,
      embeds: embeds.slice(0, 3 * H),
      attentionMask: ones(3),
      positionIds: positions(0, 3),
      past: null,
      capacity: 8,
    });
    expect(cacheTensors(again.present)).toBe(tensors);
    model.releaseCache(again.present);
    // another batch size gets its own
    const two = await model.step({
      batch: 2,
      seq: 3,
      embeds: embeds.slice(0, 6 * H),
      attentionMask: ones(6),
      positionIds: BigInt64Array.from([0n, 1n, 2n, 0n, 1n, 2n]),
      past: null,
      capacity: 4,
    });
    expect(cacheTensors(two.present)[0].dims).toEqual([2, dims.kvHeads, 4, dims.headDim]);
    model.releaseCache(two.present);
  });

  it('grows (keeping the written slots) when a caller gives no capacity', async () => {
    const H = dims.hidden;
    const embeds = await model.embedOnHost(BigInt64Array.from([1n, 60n, 61n, 62n]), 1, 4);
    let out = await model.step({
      batch: 1,
      seq: 3,
      embeds: embeds.slice(0, 3 * H),
      attentionMask: ones(3),
      positionIds: positions(0, 3),
      past: null,
    });
    expect(cacheTensors(out.present)[0].dims[2]).toBe(3);
    const before = written(cacheTensors(out.present)[1], 3);
    out = await model.step({
      batch: 1,
      seq: 1,
      embeds: embeds.slice(3 * H),
      attentionMask: ones(4),
      positionIds: positions(3, 1),
      past: out.present,
    });
    expect(cacheTensors(out.present)[0].dims[2]).toBeGreaterThanOrEqual(4);
    expect(written(cacheTensors(out.present)[1], 3)).toEqual(before);
    const full = await runDecoder(refSession, dims, embeds, 1, 4, [1, 1, 1, 1], [0, 1, 2, 3], null);
    expect(
      maxAbs(written(cacheTensors(out.present)[1], 4), full.present[0][1].data as Float32Array),
    ).toBeLessThan(1e-5);
    model.releaseCache(out.present);
  });
});

describe('chunked prefill (the WebGPU plan)', () => {
  it('a left-padded batch prefilled row by row in chunks of 3 equals one run, then decodes the same', async () => {
    const settings = { device: 'cpu' as const, threads: 1 };
    const plan = planSessions(settings);
    const chunked = await OnnxModel.open(info, settings, {
      ...plan,
      decoder: { ...plan.decoder, prefillChunk: 3 },
    });
    try {
      // row 0: 8 real tokens; row 1: 3 pads then 5 real tokens
      const ids = [1, 70, 71, 72, 73, 74, 75, 76, 0, 0, 0, 1, 80, 81, 82, 83];
      const mask = BigInt64Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1].map(BigInt));
      const pos = BigInt64Array.from([0, 1, 2, 3, 4, 5, 6, 7, 1, 1, 1, 0, 1, 2, 3, 4].map(BigInt));
      const embeds = await model.embed(BigInt64Array.from(ids.map(BigInt)), 2, 8);
      const input = {
        batch: 2,
        seq: 8,
        embeds,
        attentionMask: mask,
        positionIds: pos,
        past: null,
        capacity: 10,
      };
      const whole = await model.step(input);
      const parts = await chunked.step(input);
      expect(maxAbs(parts.lastLogits, whole.lastLogits)).toBeLessThan(1e-5);
      for (let t = 0; t < 2 * dims.layers; t++) {
        expect(
          maxAbs(written(cacheTensors(parts.present)[t], 8), written(cacheTensors(whole.present)[t], 8)),
        ).toBeLessThan(1e-5);
      }
      const next = await model.embed(BigInt64Array.from([90n, 91n]), 2, 1);
      const step = {
        batch: 2,
        seq: 1,
        embeds: next,
        attentionMask: BigInt64Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1].map(BigInt)),
        positionIds: BigInt64Array.from([8n, 5n]),
        capacity: 10,
      };
      const a = await model.step({ ...step, past: whole.present });
      const b = await chunked.step({ ...step, past: parts.present });
      expect(maxAbs(b.lastLogits, a.lastLogits)).toBeLessThan(1e-5);
      model.releaseCache(a.present);
    } finally {
      await chunked.close();
    }
  });
});

describe('in-place (C API) and append (onnxruntime-node) host caches', () => {
  it('give the same logits and cache slots on a left-padded batch, prefill then greedy decode steps', async () => {
    const append = await openWith('append');
    try {
      const ids = [1, 70, 71, 72, 73, 74, 0, 0, 1, 80, 81, 82];
      const mask = [1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1];
      const pos = [0, 1, 2, 3, 4, 5, 1, 1, 0, 1, 2, 3];
      const embeds = await model.embedOnHost(BigInt64Array.from(ids.map(BigInt)), 2, 6);
      const first = {
        batch: 2,
        seq: 6,
        embeds,
        attentionMask: BigInt64Array.from(mask.map(BigInt)),
        positionIds: BigInt64Array.from(pos.map(BigInt)),
        past: null,
        capacity: 12,
      };
      let a = await model.step(first);
      let b = await append.step(first);
      let next = [pos[5] + 1, pos[11] + 1];
      for (let s = 0; s <= 4; s++) {
        expect(maxAbs(a.lastLogits, b.lastLogits)).toBeLessThan(1e-5);
        for (let t = 0; t < 2 * dims.layers; t++) {
          const la = written(cacheTensors(a.present)[t], a.present.length);
          const lb = written(cacheTensors(b.present)[t], b.present.length);
          expect(maxAbs(la, lb)).toBeLessThan(1e-5);
        }
        if (s === 4) break;
        // greedy ids from the in-place logits, fed to both
        const tok = [0, 1].map((r) => {
          const row = a.lastLogits.subarray(r * dims.vocab, (r + 1) * dims.vocab);
          return row.indexOf(Math.max(...row));
        });
        const e = await model.embedOnHost(BigInt64Array.from(tok.map(BigInt)), 2, 1);
        const T = a.present.length + 1;
        // each row's prompt mask, then one real slot per generated token
        const m = new BigInt64Array(2 * T);
        for (let r = 0; r < 2; r++)
          for (let j = 0; j < T; j++) m[r * T + j] = j < 6 ? BigInt(mask[r * 6 + j]) : 1n;
        const step = {
          batch: 2,
          seq: 1,
          embeds: e,
          attentionMask: m,
          positionIds: BigInt64Array.from(next.map(BigInt)),
          capacity: 12,
        };
        a = await model.step({ ...step, past: a.present });
        b = await append.step({ ...step, past: b.present });
        next = next.map((p) => p + 1);
      }
      model.releaseCache(a.present);
    } finally {
      await append.close();
    }
  });
});

function maxAbs(a: Float32Array, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('onnxruntime-node 1.30 and pre-allocated fetches', () => {
  it('writes into a pre-allocated output but returns a copy of it (so fetching the whole cache copies it)', async () => {
    const { kvHeads, headDim, hidden } = dims;
    const capacity = 6;
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: new ort.Tensor('float32', new Float32Array(2 * hidden).fill(0.25), [1, 2, hidden]),
      attention_mask: new ort.Tensor('int64', ones(2), [1, 2]),
    };
    const fetches: Record<string, ort.Tensor | null> = { logits: null };
    const mine: ort.Tensor[] = [];
    for (let l = 0; l < dims.layers; l++) {
      for (const kv of ['key', 'value']) {
        const t = new ort.Tensor('float32', new Float32Array(kvHeads * capacity * headDim), [
          1,
          kvHeads,
          capacity,
          headDim,
        ]);
        mine.push(t);
        feeds[`past_key_values.${l}.${kv}`] = t; // the same buffer as past and present: GQA appends in place
        fetches[`present.${l}.${kv}`] = t;
      }
    }
    const res = await refSession.run(feeds, fetches);
    const returned = res['present.0.key'];
    const ours = mine[0].data as Float32Array;
    expect(Array.from(written(mine[0], 2)).some((v) => v !== 0)).toBe(true); // written in place
    expect(returned.data).toEqual(ours);
    // ...but handed back in a new buffer: a write to it does not reach ours
    (returned.data as Float32Array)[0] = 12345;
    expect(ours[0]).not.toBe(12345);
  });
});
