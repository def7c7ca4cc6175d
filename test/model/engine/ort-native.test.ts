/**
 * onnxruntime's C API through koffi (ort-native.ts) on a real built tiny decoder: the library found is the one
 * onnxruntime-node loads; names and types come from the graph; a run with the cache bound as past and present
 * gives onnxruntime-node's logits and writes the new slots into the bound memory (nothing copied back); outputs ORT
 * allocates come back with their shapes; bad input names the file and the tensor; the profiler writes a trace.
 */
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltModelInfo } from '../../../src/model/engine/built-model.ts';
import { NativeSession, nativeUnavailable, type NativeTensor } from '../../../src/model/engine/ort-native.ts';
import { tinyBuiltModel } from './tiny-built.ts';

let root: string;
let info: BuiltModelInfo;
let native: NativeSession;
let node: ort.InferenceSession;

beforeAll(async () => {
  ({ root, info } = await tinyBuiltModel('ort-native-', 5));
  native = await NativeSession.open(info.files.decoder, { threads: 1 });
  node = await ort.InferenceSession.create(info.files.decoder, { intraOpNumThreads: 1 });
});

afterAll(async () => {
  native?.release();
  await node?.release();
  if (root) await rm(root, { recursive: true, force: true });
});

/** Feeds for a prefill of `seq` tokens (batch 1) on caches of `capacity` slots; the cache tensors returned apart. */
function prefill(seq: number, capacity: number) {
  const { hidden, layers, kvHeads, headDim } = info.llm;
  const embeds = Float32Array.from({ length: seq * hidden }, (_, i) => Math.sin(i * 0.37) * 0.5);
  const mask = new BigInt64Array(seq).fill(1n);
  const caches: Float32Array[] = [];
  const inputs: Record<string, NativeTensor> = {
    inputs_embeds: { data: embeds, dims: [1, seq, hidden] },
    attention_mask: { data: mask, dims: [1, seq] },
  };
  const bound: Record<string, NativeTensor> = {};
  for (let l = 0; l < layers; l++) {
    for (const kv of ['key', 'value']) {
      const data = new Float32Array(kvHeads * capacity * headDim);
      caches.push(data);
      inputs[`past_key_values.${l}.${kv}`] = { data, dims: [1, kvHeads, capacity, headDim] };
      bound[`present.${l}.${kv}`] = inputs[`past_key_values.${l}.${kv}`];
    }
  }
  return { embeds, mask, inputs, bound, caches };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('NativeSession (onnxruntime C API through koffi)', () => {
  it("loads onnxruntime-node's own library and reads names and types from the graph", async () => {
    expect(await nativeUnavailable()).toBeNull();
    const pkg = JSON.parse(
      fs.readFileSync(path.join('node_modules', 'onnxruntime-node', 'package.json'), 'utf8'),
    ) as { version: string };
    expect(native.version).toBe(pkg.version);
    expect(native.inputNames).toEqual(node.inputNames);
    expect(native.outputNames).toEqual(node.outputNames);
    expect(native.inputTypes.get('inputs_embeds')).toBe('float32');
    expect(native.inputTypes.get('attention_mask')).toBe('int64');
  });

  it("binds the cache as past and present: onnxruntime-node's logits, new slots written in place", async () => {
    const seq = 4;
    const capacity = 7;
    const { embeds, mask, inputs, bound, caches } = prefill(seq, capacity);
    const before = caches.map((c) => c.slice());
    const out = await native.run(inputs, bound, ['logits']);
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: new ort.Tensor('float32', embeds, [1, seq, info.llm.hidden]),
      attention_mask: new ort.Tensor('int64', mask, [1, seq]),
    };
    const { kvHeads, headDim, layers } = info.llm;
    for (let l = 0; l < layers; l++) {
      for (const kv of ['key', 'value']) {
        const zeros = new Float32Array(kvHeads * capacity * headDim);
        feeds[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', zeros, [
          1,
          kvHeads,
          capacity,
          headDim,
        ]);
      }
    }
    const fetchNames = [
      'logits',
      ...Array.from({ length: layers }, (_, l) => [`present.${l}.key`, `present.${l}.value`]).flat(),
    ];
    const ref = await node.run(feeds, fetchNames);
    expect(out.logits.dims).toEqual(ref.logits.dims);
    expect(maxAbs(out.logits.data as Float32Array, ref.logits.data as Float32Array)).toBeLessThan(1e-6);
    caches.forEach((c, i) => {
      const present = ref[fetchNames[i + 1]].data as Float32Array;
      expect(c).not.toEqual(before[i]); // written...
      expect(maxAbs(c, present)).toBeLessThan(1e-6); // ...with what GQA puts in its own present buffer
    });
  });

  it('returns int64 outputs ORT allocates (next_token) with their shape', async () => {
    expect(native.outputNames).toContain('next_token');
    const { inputs, bound } = prefill(3, 3);
    const out = await native.run(inputs, bound, ['next_token', 'logits']);
    expect(out.next_token.data).toBeInstanceOf(BigInt64Array);
    expect(out.next_token.dims).toEqual([1, 1]);
    const logits = out.logits.data as Float32Array;
    const row = logits.subarray(logits.length - info.llm.vocab);
    expect(Number(out.next_token.data[0])).toBe(row.indexOf(Math.max(...row)));
  });

  it('names the file and the tensor when the input is wrong', async () => {
    const { inputs, bound } = prefill(2, 2);
    const short = { ...inputs, inputs_embeds: { data: new Float32Array(3), dims: [1, 2, info.llm.hidden] } };
    await expect(native.run(short, bound, ['logits'])).rejects.toThrow(
      /decoder\.onnx: 'inputs_embeds' holds 3 values, dims \[1, 2, \d+\]/,
    );
    const unknown = { ...inputs, not_an_input: { data: new Float32Array(1), dims: [1] } };
    await expect(native.run(unknown, bound, ['logits'])).rejects.toThrow(
      /decoder\.onnx: run: .*not_an_input/,
    );
  });

  it('profiles when asked: endProfiling gives the trace of the runs', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ort-native-prof-'));
    const s = await NativeSession.open(info.files.decoder, {
      threads: 1,
      profileFilePrefix: path.join(dir, 'p'),
    });
    try {
      const { inputs, bound } = prefill(2, 3);
      await s.run(inputs, bound, ['logits']);
      const file = s.endProfiling();
      expect(file.startsWith(path.join(dir, 'p'))).toBe(true);
      const events = JSON.parse(fs.readFileSync(file, 'utf8')) as { name: string; cat?: string }[];
      expect(events.some((e) => e.name === 'model_run')).toBe(true);
      expect(events.filter((e) => e.cat === 'Node').length).toBeGreaterThan(0);
    } finally {
      s.release();
      await rm(dir, { recursive: true, force: true });
    }
    const released = s;
    await expect(released.run({}, {}, [])).rejects.toThrow(/session released/);
  });
});
