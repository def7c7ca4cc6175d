/**
 * The WebGPU provider against the CPU on the tiny model (opt-in: INTERNVL_EVAL_WEBGPU_TESTS=1 with an adapter, e.g.
 * SwiftShader: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json; minutes on a CPU-emulated adapter).
 * Prompts are longer than WebGPU's prefill chunk (DecoderPlan.prefillChunk), batched with left padding.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyCheckpoint } from '../../../src/model/checkpoint/tiny.ts';
import { InternVLEngine, type ChatRequest } from '../../../src/model/engine/engine.ts';

const enabled = process.env['INTERNVL_EVAL_WEBGPU_TESTS'] === '1';
let root: string;
let cpu: InternVLEngine;
let gpu: InternVLEngine;

beforeAll(async () => {
  if (!enabled) return;
  root = await mkdtemp(path.join(os.tmpdir(), 'webgpu-'));
  const ckpt = await makeTinyCheckpoint(path.join(root, 'ckpt'), { seed: 5 });
  const cacheDir = path.join(root, 'cache');
  cpu = await InternVLEngine.load(ckpt.dir, { cacheDir, threads: 1 });
  gpu = await InternVLEngine.load(ckpt.dir, { cacheDir, device: 'webgpu' });
}, 600_000);

afterAll(async () => {
  await cpu?.close();
  await gpu?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

function maxRel(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

describe.skipIf(!enabled)('WebGPU provider = CPU (fused decoder, chunked prefill)', () => {
  it('text prompts of different lengths, batched: same ids, prompt logits within 1e-5', async () => {
    const reqs: ChatRequest[] = [
      { question: 'Hi', keepPromptLogits: true, generation: { maxNewTokens: 6, stopTokens: [] } },
      {
        question: 'Describe a long and winding road through the hills, then tell me where it goes next.',
        keepPromptLogits: true,
        generation: { maxNewTokens: 6, stopTokens: [] },
      },
    ];
    const [c, g] = [await cpu.batchChat(reqs), await gpu.batchChat(reqs)];
    expect(g.map((r) => r.outputIds)).toEqual(c.map((r) => r.outputIds));
    for (let i = 0; i < reqs.length; i++) {
      expect(c[i].inputIds.length).toBeGreaterThan(31);
      expect(maxRel(g[i].promptLogits!, c[i].promptLogits!)).toBeLessThan(1e-5);
    }
  }, 600_000);
});
