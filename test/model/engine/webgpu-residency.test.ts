/**
 * WebGPU device residency on the tiny checkpoint, run on a software GPU (SwiftShader; webgpu-env.ts): greedy ids
 * equal the CPU provider's for single, batched (left-padded) and multi-image prompts; no byte of the KV cache crosses
 * to the host during decode (only the logits come back); kernels per decode step within 12 per layer + head; device
 * tensors are refused by host sessions and by the host accessor; replaced caches are freed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyCheckpoint } from '../../../src/model/checkpoint/tiny.ts';
import { hostData, MeteredSession, TransferMeter } from '../../../src/model/engine/device-tensors.ts';
import { InternVLEngine, type ChatRequest } from '../../../src/model/engine/engine.ts';
import type { KvCache } from '../../../src/model/engine/generate.ts';
import { decoderPlan } from '../../../src/model/engine/sessions.ts';
import { probeWebGpu, reportSkip } from './webgpu-env.ts';

const gpu = await probeWebGpu();
if (!gpu.ok) reportSkip('WebGPU residency tests', gpu.reason);

const TILE = 3 * 448 * 448;
function pixels(tiles: number, seed: number): Float32Array {
  const out = new Float32Array(tiles * TILE);
  for (let i = 0; i < out.length; i++) out[i] = Math.sin(i * 0.001 + seed) * 1.5;
  return out;
}
const noStop = { stopTokens: [] as string[] };
// The cache itself, and the per-layer packed qkv outputs the host path appends it from.
const KV_NAME = /^(past_key_values\.|present\.|new_key_values\.)|\.attention\.wqkv$/;

let root: string;
let ckptDir: string;
let cpu: InternVLEngine;
let webgpu: InternVLEngine;

describe.runIf(gpu.ok)('WebGPU residency (tiny checkpoint, software GPU)', { timeout: 300_000 }, () => {
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'webgpu-'));
    const ckpt = await makeTinyCheckpoint(path.join(root, 'ckpt'), { seed: 5 });
    ckptDir = ckpt.dir;
    cpu = await InternVLEngine.load(ckpt.dir, { cacheDir: path.join(root, 'cache'), threads: 1 });
    webgpu = await InternVLEngine.load(cpu.info.dir, { device: 'webgpu', threads: 1 });
  });

  afterAll(async () => {
    await cpu?.close();
    await webgpu?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('places the KV cache on the device for webgpu only (one decision: sessions.ts decoderPlan)', () => {
    expect(decoderPlan('webgpu').kvCache.location).toBe('device');
    expect(decoderPlan('cpu').kvCache.location).toBe('cpu');
    expect(decoderPlan('cuda').kvCache.location).toBe('cpu');
    expect(webgpu.model.resident).toBe(true);
    expect(cpu.model.resident).toBe(false);
  });

  const cases: { name: string; reqs: ChatRequest[] }[] = [
    {
      name: 'single text prompt',
      reqs: [{ question: 'Hi there', generation: { maxNewTokens: 6, ...noStop } }],
    },
    {
      name: 'batch of three, left-padded (different lengths, an image in one row)',
      reqs: [
        { question: 'Hi', generation: { maxNewTokens: 5, ...noStop } },
        {
          question: 'What is in the picture?',
          pixelValues: pixels(1, 1),
          generation: { maxNewTokens: 6, ...noStop },
        },
        { question: 'And this one?', generation: { maxNewTokens: 4, ...noStop } },
      ],
    },
    {
      name: 'multi-image prompt with history',
      reqs: [
        {
          question: 'Image-1: <image>\nImage-2: <image>\nCompare them.',
          pixelValues: pixels(2, 4),
          numPatchesList: [1, 1],
          history: [['Describe <image>', 'A cat.']],
          generation: { maxNewTokens: 6, ...noStop },
        },
      ],
    },
  ];

  for (const c of cases) {
    it(`greedy ids equal the CPU provider's: ${c.name}`, async () => {
      const want = await cpu.batchChat(c.reqs);
      const got = await webgpu.batchChat(c.reqs);
      expect(got.map((r) => r.outputIds)).toEqual(want.map((r) => r.outputIds));
      expect(got.every((r) => r.outputIds.length > 0)).toBe(true);
    });
  }

  it('decode moves 0 bytes of KV cache to the host: only next-token ids (greedy) or logits (sampling) come back', async () => {
    const reqs: ChatRequest[] = [
      { question: 'Hello', generation: { maxNewTokens: 5, ...noStop } },
      { question: 'A longer question here?', generation: { maxNewTokens: 5, ...noStop } },
    ];
    const [r] = await webgpu.batchChat(reqs);
    const costs = webgpu.model.decodeCosts();
    const prefill = webgpu.model.meter.totals('prefill');
    const kvBytes = (t: typeof prefill) =>
      Object.entries(t.byName)
        .filter(([n]) => KV_NAME.test(n))
        .reduce((s, [, [up, down]]) => s + up + down, 0);
    console.log(
      `webgpu decode step (batch 2): host->device ${costs.hostToDeviceBytesPerStep} B, device->host ` +
        `${costs.deviceToHostBytesPerStep} B, KV cache bytes to/from host ${kvBytes(costs.transfers)}; per name ` +
        JSON.stringify(costs.transfers.byName),
    );
    expect(costs.decodeSteps).toBe(4);
    expect(kvBytes(costs.transfers)).toBe(0);
    expect(kvBytes(prefill)).toBe(0);
    // Greedy rows: what comes back per step is each row's next token (ArgMax on the device), 2 × int64.
    const back = (t: typeof prefill) => Object.keys(t.byName).filter((n) => t.byName[n][1] > 0);
    expect(back(costs.transfers)).toEqual(['next_token']);
    expect(costs.deviceToHostBytesPerStep).toBe(2 * 8);
    // The chat timings carry the same figures.
    expect(r.timings.decodeStep?.deviceToHostBytes).toBe(costs.deviceToHostBytesPerStep);
    expect(r.timings.decodeStep?.hostToDeviceBytes).toBe(costs.hostToDeviceBytesPerStep);

    // Sampling needs the logits: then exactly the last-position logits [2, 1, vocab] float32 come back.
    const sampled = reqs.map((q) => ({ ...q, generation: { ...q.generation, temperature: 0.8, seed: 3 } }));
    await webgpu.batchChat(sampled);
    const s = webgpu.model.decodeCosts();
    expect(kvBytes(s.transfers)).toBe(0);
    expect(back(s.transfers)).toEqual(['logits']);
    expect(s.deviceToHostBytesPerStep).toBe(2 * webgpu.info.llm.vocab * 4);
  });

  it('the meter sees a KV tensor fetched to the host (so the test above can fail)', async () => {
    const info = webgpu.info.built;
    const meter = new TransferMeter();
    const s = new MeteredSession(
      webgpu.model.decoder as ort.InferenceSession,
      info.files.decoder,
      true,
      meter,
    );
    const { layers, kvHeads, headDim, hidden } = info.llm;
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: new ort.Tensor('float32', new Float32Array(2 * hidden).fill(0.1), [1, 2, hidden]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array([1n, 1n]), [1, 2]),
    };
    for (let i = 0; i < layers; i++) {
      for (const kv of ['key', 'value']) {
        feeds[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [
          1,
          kvHeads,
          0,
          headDim,
        ]);
      }
    }
    await s.run(feeds, ['logits', 'present.0.key']);
    expect(meter.totals('prefill').byName['present.0.key']).toEqual([0, kvHeads * 2 * headDim * 4]);
  });

  it('kernels per decode step: at most 12 per layer, the rest is the head', async () => {
    const k = webgpu.model.decodeCosts().kernels;
    expect(k).not.toBeNull();
    console.log(
      `webgpu kernels per decode step: ${k!.device} on the device (${k!.perLayer.join(' + ')} in the layers, ` +
        `${k!.outsideLayers} outside), ${k!.total - k!.device} CPU nodes; by provider ${JSON.stringify(k!.byProvider)}; ` +
        `device ops: ${k!.deviceOps.join(' ')}`,
    );
    expect(k!.perLayer).toHaveLength(webgpu.info.llm.layers);
    for (const n of k!.perLayer) expect(n).toBeLessThanOrEqual(12);
    expect(k!.device).toBe(k!.perLayer.reduce((a, b) => a + b, 0) + k!.outsideLayers);
    // CPU counts too (all nodes on the CPU provider, no device kernel).
    const c = cpu.model.decodeCosts();
    expect(c.kernels?.device).toBe(0);
    expect(c.kernels?.total).toBeGreaterThan(0);
    expect(c.hostToDeviceBytesPerStep).toBe(0);
  });

  it('int4: greedy ids equal the CPU int4/acc0 build; kernels per decode step printed, at most 12 per layer', async () => {
    const opts = { variant: 'int4', accuracyLevel: 0, cacheDir: path.join(root, 'cache'), threads: 1 };
    const c = await InternVLEngine.load(ckptDir, opts);
    const g = await InternVLEngine.load(ckptDir, { ...opts, device: 'webgpu' });
    try {
      const req: ChatRequest = {
        question: 'Hello there, friend',
        generation: { maxNewTokens: 4, ...noStop },
      };
      const [a, b] = [await c.chat(req), await g.chat(req)];
      expect(b.outputIds).toEqual(a.outputIds);
      const k = g.model.decodeCosts().kernels!;
      console.log(
        `webgpu int4 kernels per decode step: ${k.device} on the device (${k.perLayer.join(' + ')} in the layers, ` +
          `${k.outsideLayers} outside); device ops: ${k.deviceOps.join(' ')}`,
      );
      for (const n of k.perLayer) expect(n).toBeLessThanOrEqual(12);
    } finally {
      await c.close();
      await g.close();
    }
  });

  it('grows the device cache when a caller gives no capacity, keeping the written slots', async () => {
    const model = webgpu.model;
    const H = webgpu.info.llm.hidden;
    const ids = BigInt64Array.from([1n, 60n, 61n, 62n, 63n, 64n]);
    const ref = await cpu.model.embedOnHost(ids, 1, 6);
    const run = async (m: typeof model, host: boolean) => {
      const embed = async (from: number, to: number) =>
        host ? ref.slice(from * H, to * H) : await m.embed(ids.slice(from, to), 1, to - from);
      let out = await m.step({
        batch: 1,
        seq: 3,
        embeds: await embed(0, 3),
        attentionMask: new BigInt64Array(3).fill(1n),
        positionIds: BigInt64Array.from([0n, 1n, 2n]),
        past: null,
      });
      for (let t = 3; t < 6; t++) {
        out = await m.step({
          batch: 1,
          seq: 1,
          embeds: await embed(t, t + 1),
          attentionMask: new BigInt64Array(t + 1).fill(1n),
          positionIds: BigInt64Array.of(BigInt(t)),
          past: out.present,
        });
      }
      m.releaseCache(out.present);
      return out.lastLogits;
    };
    const want = await run(cpu.model, true);
    const got = await run(model, false);
    let diff = 0;
    for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(want[i] - got[i]));
    expect(diff).toBeLessThan(1e-4);
  });

  it('refuses a device tensor on a CPU session and in the host accessor', async () => {
    const t = await webgpu.model.deviceKernels().zeros('float32', [1, 2, 4, 16]);
    try {
      expect(() => hostData(t, 'the test tensor')).toThrow(/the test tensor is a device tensor/);
      // any onnxruntime-node CPU session (the CPU model's decoder runs through the C API, which takes JS memory only)
      const cpuDecoder = new MeteredSession(cpu.model.embedder, 'decoder.onnx', false, new TransferMeter());
      await expect(cpuDecoder.run({ 'past_key_values.0.key': t })).rejects.toThrow(
        /'past_key_values.0.key' is a device \(gpu-buffer\) tensor but this session runs on the CPU provider/,
      );
    } finally {
      t.dispose();
    }
  });

  it('reuses the idle device cache for the same batch size and frees it when replaced', async () => {
    const model = webgpu.model;
    const cache = async (batch: number): Promise<{ tensors: ort.Tensor[]; release: () => void }> => {
      const ids = BigInt64Array.from({ length: batch * 3 }, (_, i) => BigInt(10 + i));
      const embeds = await model.embed(ids, batch, 3);
      const out = await model.step({
        batch,
        seq: 3,
        embeds,
        attentionMask: new BigInt64Array(batch * 3).fill(1n),
        positionIds: BigInt64Array.from({ length: batch * 3 }, (_, i) => BigInt(i % 3)),
        past: null,
        capacity: 6,
      });
      const present = out.present as KvCache & { buffers: { tensors: ort.Tensor[] } };
      return { tensors: present.buffers.tensors, release: () => model.releaseCache(present) };
    };
    const a = await cache(1);
    a.release();
    const b = await cache(1);
    expect(b.tensors).toBe(a.tensors);
    b.release();
    const c = await cache(2); // another batch size: the idle batch-1 cache is freed
    expect(a.tensors.every((t) => t.location === 'none')).toBe(true);
    expect(c.tensors.every((t) => t.location === 'gpu-buffer')).toBe(true);
    c.release();
  });
});
