/**
 * The fp16-compute decoder (graph/compute-dtype.ts, for GPU providers): float16 everywhere inside (KV cache, cos/sin,
 * norms, weights, MatMulNBits scales), float32 embeddings in and logits out. Its graph is checked on the CPU
 * provider directly (ORT has CPU float16 kernels for GQA, the norms and MatMulNBits and casts around the rest):
 * prefill and a decode step agree with the fp32 build to fp16 precision. The engine refuses it on the CPU provider,
 * naming --device; on a WebGPU adapter with shader-f16 its greedy ids are compared with fp32 (SwiftShader has no
 * shader-f16: that test skips, saying so).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyCheckpoint } from '../../../src/model/checkpoint/tiny.ts';
import { readBuiltModelInfo, type BuiltModelInfo } from '../../../src/model/engine/built-model.ts';
import { InternVLEngine } from '../../../src/model/engine/engine.ts';
import { OnnxModel } from '../../../src/model/engine/onnx-model.ts';
import { buildModel } from '../../../src/model/graph/build.ts';
import { probeWebGpu, reportSkip } from '../engine/webgpu-env.ts';

let root: string;
let ckpt: string;
const built: Record<string, BuiltModelInfo> = {};

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'fp16c-'));
  ckpt = (await makeTinyCheckpoint(path.join(root, 'ckpt'), { seed: 7 })).dir;
  const cacheDir = path.join(root, 'cache');
  for (const [label, opts] of [
    ['fp32', { variant: 'fp32' }],
    ['fp32/fp16c', { variant: 'fp32', compute: 'fp16' }],
    ['int4/acc0', { variant: 'int4', accuracyLevel: 0 }],
    ['int4/fp16c', { variant: 'int4', accuracyLevel: 0, compute: 'fp16' }],
  ] as const) {
    built[label] = readBuiltModelInfo((await buildModel(ckpt, { ...opts, cacheDir })).dir);
  }
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** Prefill of `ids` then one decode step, empty past, on the CPU provider; returns both steps' logits. */
async function prefillAndStep(info: BuiltModelInfo, ids: number[], next: number): Promise<Float32Array[]> {
  const opts = { executionProviders: ['cpu'], intraOpNumThreads: 1 };
  const embed = await ort.InferenceSession.create(info.files.embed, opts);
  const dec = await ort.InferenceSession.create(info.files.decoder, opts);
  const type = dec.inputMetadata.find((m) => m.name === 'past_key_values.0.key') as { type: string };
  const { layers, kvHeads, headDim } = info.llm;
  const out: Float32Array[] = [];
  let past: ort.Tensor[] = Array.from({ length: 2 * layers }, () =>
    type.type === 'float16'
      ? new ort.Tensor('float16', new Uint16Array(0), [1, kvHeads, 0, headDim])
      : new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]),
  );
  let total = 0;
  for (const step of [ids, [next]]) {
    const e = await embed.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(step.map(BigInt)), [1, step.length]),
    });
    total += step.length;
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: e.inputs_embeds,
      attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
    };
    past.forEach((t, i) => (feeds[`past_key_values.${i >> 1}.${i & 1 ? 'value' : 'key'}`] = t));
    const names = past.map((_, i) => `present.${i >> 1}.${i & 1 ? 'value' : 'key'}`);
    const r = await dec.run(feeds, ['logits', ...names]);
    expect(r.logits.type).toBe('float32');
    out.push(r.logits.data as Float32Array);
    past = names.map((n) => r[n]);
  }
  await embed.release();
  await dec.release();
  return out;
}

const argmax = (a: Float32Array) => a.reduce((b, v, i) => (v > a[b] ? i : b), 0);
function maxRel(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}

describe('fp16-compute decoder', () => {
  it('stores the cache, cos/sin, norms and scales as float16; embeddings in and logits out stay float32', async () => {
    for (const label of ['fp32/fp16c', 'int4/fp16c']) {
      const s = await ort.InferenceSession.create(built[label].files.decoder, {
        executionProviders: ['cpu'],
      });
      const type = (name: string, list: readonly ort.InferenceSession.ValueMetadata[]) =>
        (list.find((m) => m.name === name) as { type: string }).type;
      expect(type('inputs_embeds', s.inputMetadata)).toBe('float32');
      expect(type('past_key_values.0.key', s.inputMetadata)).toBe('float16');
      expect(type('present.1.value', s.outputMetadata)).toBe('float16');
      expect(type('logits', s.outputMetadata)).toBe('float32');
      await s.release();
    }
    expect(built['fp32/fp16c'].dir).not.toBe(built.fp32.dir); // its own cache key
  });

  for (const [label, ref, bound] of [
    ['fp32/fp16c', 'fp32', 5e-3],
    ['int4/fp16c', 'int4/acc0', 5e-3],
  ] as const) {
    it(`${label}: prefill and decode logits within ${bound} (max rel) of ${ref}, same greedy token`, async () => {
      const ids = [1, 40, 41, 42, 43, 44];
      const want = await prefillAndStep(built[ref], ids, 50);
      const got = await prefillAndStep(built[label], ids, 50);
      for (let s = 0; s < 2; s++) {
        const rel = maxRel(got[s], want[s]);
        console.log(`${label} vs ${ref}, step ${s}: max rel logit diff ${rel.toExponential(2)}`);
        expect(rel).toBeLessThan(bound);
        expect(argmax(got[s])).toBe(argmax(want[s]));
      }
    });
  }

  it('the engine refuses it on the CPU provider, naming --device', async () => {
    await expect(OnnxModel.open(built['fp32/fp16c'], { device: 'cpu', threads: 1 })).rejects.toThrow(
      /fp16 compute .*GPU providers only; use --device webgpu/,
    );
  });
});

const gpu = await probeWebGpu();
if (gpu.ok && !gpu.float16) reportSkipF16(gpu.float16Reason);
else if (!gpu.ok) reportSkip('fp16 WebGPU tests', gpu.reason);

function reportSkipF16(reason: string): void {
  // Not a CI failure: a software adapter without shader-f16 is the expected case here.
  console.warn(`skipping fp16 WebGPU tests: ${reason}`);
}

describe.runIf(gpu.ok && gpu.float16)(
  'fp16 compute on WebGPU (needs shader-f16)',
  { timeout: 300_000 },
  () => {
    it('greedy ids agree with fp32 on WebGPU; prints the max logit difference', async () => {
      const fp32 = await InternVLEngine.load(built.fp32.dir, { device: 'webgpu' });
      const fp16 = await InternVLEngine.load(built['fp32/fp16c'].dir, { device: 'webgpu' });
      try {
        const req = {
          question: 'Hello there',
          keepPromptLogits: true,
          generation: { maxNewTokens: 8, stopTokens: [] },
        };
        const a = await fp32.chat(req);
        const b = await fp16.chat(req);
        const rel = maxRel(b.promptLogits!, a.promptLogits!);
        console.log(
          `webgpu fp16 vs fp32: max rel logit diff ${rel.toExponential(2)}; ids ${b.outputIds} vs ${a.outputIds}`,
        );
        expect(rel).toBeLessThan(2e-2);
        expect(b.outputIds[0]).toBe(a.outputIds[0]);
      } finally {
        await fp32.close();
        await fp16.close();
      }
    });
  },
);
