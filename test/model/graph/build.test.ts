import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InternVLConfig } from '../../../src/model/checkpoint/config.ts';
import {
  buildModel,
  cacheKey,
  readBuildInfo,
  resolveOptions,
  type BuildResult,
} from '../../../src/model/graph/build.ts';
import { writeTinyCheckpoint } from './tiny-fixture.ts';
import {
  argmax,
  cosine,
  i64,
  maxRelError,
  openBuilt,
  randomFloats,
  runDecoder,
  type BuiltSessions,
  type DecoderDims,
} from './ort-helpers.ts';

let root: string;
let ckptDir: string;
let cacheDir: string;
let config: InternVLConfig;
let fp32: BuildResult;
let sessions: BuiltSessions;
/** Same checkpoint built with `allLogits` (logits at every position). */
let fp32All: BuildResult;
let allSessions: BuiltSessions;
let dims: DecoderDims;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'graph-build-'));
  ckptDir = path.join(root, 'ckpt');
  cacheDir = path.join(root, 'cache');
  config = await writeTinyCheckpoint(ckptDir, { seed: 3, vocabSize: 512 });
  await writeFile(path.join(ckptDir, 'tokenizer_config.json'), '{}');
  fp32 = await buildModel(ckptDir, { variant: 'fp32', cacheDir });
  sessions = await openBuilt(fp32.dir);
  fp32All = await buildModel(ckptDir, { variant: 'fp32', cacheDir, allLogits: true });
  allSessions = await openBuilt(fp32All.dir);
  const l = fp32.info.llm;
  dims = { layers: l.layers, kvHeads: l.kvHeads, headDim: l.headDim, hidden: l.hidden, vocab: l.vocab };
});

afterAll(async () => {
  await sessions?.release();
  await allSessions?.release();
  await rm(root, { recursive: true, force: true });
});

async function embed(ids: number[], batch = 1): Promise<Float32Array> {
  const out = await sessions.embed.run({ input_ids: i64(ids, [batch, ids.length / batch]) });
  return out['inputs_embeds'].data as Float32Array;
}

const ids7 = [1, 17, 300, 42, 7, 99, 250];

describe('buildModel', () => {
  it('writes the contract files and build.json; copies the tokenizer/config files', async () => {
    const files = await readdir(fp32.dir);
    for (const f of [
      'vision.onnx',
      'vision.onnx.data',
      'embed.onnx',
      'embed.onnx.data',
      'decoder.onnx',
      'decoder.onnx.data',
    ]) {
      expect(files).toContain(f);
    }
    expect(files).toContain('config.json');
    expect(files).toContain('tokenizer_config.json');
    expect(files.some((f) => f.includes('.tmp-'))).toBe(false);
    const info = await readBuildInfo(fp32.dir);
    expect(info).toMatchObject({
      variant: 'fp32',
      quant: null,
      logits: 'last',
      llm: { hidden: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, vocab: 512 },
      vision: { imageSize: 448, numImageToken: 256 },
      files: { vision: 'vision.onnx', embed: 'embed.onnx', decoder: 'decoder.onnx' },
    });
    expect(info.checkpointHash).toMatch(/^[0-9a-f]{64}$/);
    expect(path.basename(fp32.dir)).toBe(info.cacheKey);
    expect((await readBuildInfo(fp32All.dir)).logits).toBe('all');
  });

  it('a second build is a cache hit; another variant or option is not', async () => {
    const again = await buildModel(ckptDir, { variant: 'fp32', cacheDir });
    expect(again).toMatchObject({ dir: fp32.dir, cached: true });
    const q1 = await buildModel(ckptDir, { variant: 'int4', cacheDir, blockSize: 16 });
    const q2 = await buildModel(ckptDir, { variant: 'int4', cacheDir, blockSize: 32 });
    expect(q1.cached).toBe(false);
    expect(q2.cached).toBe(false);
    expect(q1.dir).not.toBe(q2.dir);
    expect((await buildModel(ckptDir, { variant: 'int4', cacheDir, blockSize: 16 })).cached).toBe(true);
    // allLogits is part of the key
    expect(fp32All.dir).not.toBe(fp32.dir);
    expect(fp32All.info.cacheKey).not.toBe(fp32.info.cacheKey);
    const hash = fp32.info.checkpointHash;
    expect(cacheKey(hash, resolveOptions({ variant: 'int8', allLogits: true }))).not.toBe(
      cacheKey(hash, resolveOptions({ variant: 'int8' })),
    );
    expect(cacheKey(hash, resolveOptions({ variant: 'int8', allLogits: false }))).toBe(
      cacheKey(hash, resolveOptions({ variant: 'int8' })),
    );
  });

  it('int8/int4 default to MatMulNBits accuracy level 4; 0 stays available', () => {
    for (const variant of ['int8', 'int4'] as const) {
      expect(resolveOptions({ variant }).quant).toEqual({
        blockSize: 32,
        zeroPoint: false,
        accuracyLevel: 4,
      });
      expect(resolveOptions({ variant, accuracyLevel: 0 }).quant?.accuracyLevel).toBe(0);
    }
    expect(resolveOptions({ variant: 'fp16' }).quant).toBeNull();
  });

  it('refuses to overwrite a folder that is not a build, and bad options', async () => {
    const other = path.join(root, 'not-a-build');
    await mkdir(other);
    await writeFile(path.join(other, 'precious.txt'), 'x');
    await expect(buildModel(ckptDir, { variant: 'fp32', outDir: other })).rejects.toThrow(
      /not a built model/,
    );
    await expect(buildModel(ckptDir, { variant: 'fp32', blockSize: 32 })).rejects.toThrow(/int8\/int4 only/);
    await expect(buildModel(ckptDir, { variant: 'int4', blockSize: 48, cacheDir })).rejects.toThrow(
      /power of two/,
    );
    await expect(buildModel(ckptDir, { variant: 'int4', accuracyLevel: 7, cacheDir })).rejects.toThrow(
      /accuracy level/,
    );
  });

  it('graphs have the contract I/O', () => {
    expect(sessions.vision.inputNames).toEqual(['pixel_values']);
    expect(sessions.vision.outputNames).toEqual(['image_embeds']);
    expect(sessions.embed.inputNames).toEqual(['input_ids']);
    expect(sessions.embed.outputNames).toEqual(['inputs_embeds']);
    // no position_ids: GroupQueryAttention places rotary by cache slot (decoder-graph.ts)
    expect(sessions.decoder.inputNames.slice(0, 3)).toEqual([
      'inputs_embeds',
      'attention_mask',
      'past_key_values.0.key',
    ]);
    expect(sessions.decoder.inputNames).toContain('past_key_values.1.value');
    expect(sessions.decoder.outputNames).toEqual(
      expect.arrayContaining(['logits', 'present.0.key', 'present.1.value']),
    );
  });

  it('vision: [N,3,448,448] -> [N,256,hidden]; tiles are independent', async () => {
    const px = randomFloats(2 * 3 * 448 * 448, 9);
    const both = await sessions.vision.run({ pixel_values: new ort.Tensor('float32', px, [2, 3, 448, 448]) });
    expect(both['image_embeds'].dims).toEqual([2, 256, config.llm.hiddenSize]);
    const second = await sessions.vision.run({
      pixel_values: new ort.Tensor('float32', px.slice(3 * 448 * 448), [1, 3, 448, 448]),
    });
    const a = (both['image_embeds'].data as Float32Array).subarray(256 * 64);
    expect(maxRelError(a, second['image_embeds'].data as Float32Array)).toBeLessThan(1e-5);
  });
});

describe('decoder', () => {
  const V = () => dims.vocab;
  const a = ids7;
  const b = [1, 55, 400, 9];
  // row b is left-padded by 3 (pad token id 0; its embedding must not matter)
  const mask = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1];
  const pos = [0, 1, 2, 3, 4, 5, 6, 1, 1, 1, 0, 1, 2, 3]; // cumsum(mask) - 1, pads -> 1

  it('default logits are [B,1,V], the allLogits build last row (left-padded batch)', async () => {
    const e = await embed([...a, 0, 0, 0, ...b], 2);
    const last = await runDecoder(sessions.decoder, dims, e, 2, 7, mask, pos, null);
    const all = await runDecoder(allSessions.decoder, dims, e, 2, 7, mask, pos, null);
    expect(last.logitsDims).toEqual([2, 1, V()]);
    expect(all.logitsDims).toEqual([2, 7, V()]);
    for (let r = 0; r < 2; r++) {
      const row = all.logits.subarray((r * 7 + 6) * V(), (r * 7 + 7) * V());
      expect(maxRelError(last.logits.subarray(r * V(), (r + 1) * V()), row)).toBeLessThan(1e-6);
    }
    // the KV cache is the same either way
    expect(maxRelError(last.present[1][1].data as Float32Array, all.present[1][1].data as Float32Array)).toBe(
      0,
    );
  });

  it('int4 (MatMulNBits head, accuracy level 4): last-only logits equal the allLogits last row', async () => {
    const q = await buildModel(ckptDir, { variant: 'int4', cacheDir });
    const qAll = await buildModel(ckptDir, { variant: 'int4', cacheDir, allLogits: true });
    const [s1, s2] = [await openBuilt(q.dir), await openBuilt(qAll.dir)];
    try {
      const e = await embed(a);
      const ones = a.map(() => 1);
      const p = a.map((_, i) => i);
      const last = await runDecoder(s1.decoder, dims, e, 1, 7, ones, p, null);
      const all = await runDecoder(s2.decoder, dims, e, 1, 7, ones, p, null);
      expect(last.logitsDims).toEqual([1, 1, V()]);
      expect(maxRelError(last.logits, all.logits.subarray(6 * V()))).toBeLessThan(1e-6);
    } finally {
      await Promise.all([s1.release(), s2.release()]);
    }
  });

  it('KV cache: prefill 4 then 3 one-token steps equals one full pass', async () => {
    const e = await embed(ids7);
    const H = dims.hidden;
    const full = await runDecoder(
      allSessions.decoder,
      dims,
      e,
      1,
      7,
      [1, 1, 1, 1, 1, 1, 1],
      [0, 1, 2, 3, 4, 5, 6],
      null,
    );
    const at = (p: number) => full.logits.subarray(p * V(), (p + 1) * V());
    // every prefill position (allLogits build), then the default build's last position
    const prefillAll = await runDecoder(
      allSessions.decoder,
      dims,
      e.slice(0, 4 * H),
      1,
      4,
      [1, 1, 1, 1],
      [0, 1, 2, 3],
      null,
    );
    expect(maxRelError(prefillAll.logits, full.logits.subarray(0, 4 * V()))).toBeLessThan(1e-5);
    let step = await runDecoder(
      sessions.decoder,
      dims,
      e.slice(0, 4 * H),
      1,
      4,
      [1, 1, 1, 1],
      [0, 1, 2, 3],
      null,
    );
    expect(maxRelError(step.logits, at(3))).toBeLessThan(1e-5);
    for (let p = 4; p < 7; p++) {
      const stepMask = new Array(p + 1).fill(1);
      step = await runDecoder(
        sessions.decoder,
        dims,
        e.slice(p * H, (p + 1) * H),
        1,
        1,
        stepMask,
        [p],
        step.present,
      );
      expect(step.present[0][0].dims).toEqual([1, dims.kvHeads, p + 1, dims.headDim]);
      expect(step.logitsDims).toEqual([1, 1, V()]);
      expect(maxRelError(step.logits, at(p))).toBeLessThan(1e-5);
    }
  });

  it('left-padded batch equals unbatched: every real position (allLogits build)', async () => {
    const e = await embed([...a, 0, 0, 0, ...b], 2);
    const batched = await runDecoder(allSessions.decoder, dims, e, 2, 7, mask, pos, null);
    const aloneA = await runDecoder(
      allSessions.decoder,
      dims,
      await embed(a),
      1,
      7,
      a.map(() => 1),
      [0, 1, 2, 3, 4, 5, 6],
      null,
    );
    const aloneB = await runDecoder(
      allSessions.decoder,
      dims,
      await embed(b),
      1,
      4,
      [1, 1, 1, 1],
      [0, 1, 2, 3],
      null,
    );
    expect(maxRelError(batched.logits.subarray(0, 7 * V()), aloneA.logits)).toBeLessThan(1e-5);
    expect(maxRelError(batched.logits.subarray(10 * V(), 14 * V()), aloneB.logits)).toBeLessThan(1e-5);
  });

  it('left-padded batch equals unbatched: last logits (default build), prefill and decode steps with padded past', async () => {
    const H = dims.hidden;
    const e = await embed([...a, 0, 0, 0, ...b], 2);
    const batched = await runDecoder(sessions.decoder, dims, e, 2, 7, mask, pos, null);
    const aloneA = await runDecoder(
      sessions.decoder,
      dims,
      await embed(a),
      1,
      7,
      a.map(() => 1),
      [0, 1, 2, 3, 4, 5, 6],
      null,
    );
    const aloneB = await runDecoder(
      sessions.decoder,
      dims,
      await embed(b),
      1,
      4,
      [1, 1, 1, 1],
      [0, 1, 2, 3],
      null,
    );
    expect(batched.logitsDims).toEqual([2, 1, V()]);
    expect(maxRelError(batched.logits.subarray(0, V()), aloneA.logits)).toBeLessThan(1e-5);
    expect(maxRelError(batched.logits.subarray(V()), aloneB.logits)).toBeLessThan(1e-5);
    // the rows differ (the comparison could fail)
    expect(maxRelError(aloneA.logits, aloneB.logits)).toBeGreaterThan(1e-2);

    // one decode step for both rows: new tokens 33 (row a, position 7) and 44 (row b, position 4)
    const step = await embed([33, 44], 2);
    const b2 = await runDecoder(
      sessions.decoder,
      dims,
      step,
      2,
      1,
      [...mask.slice(0, 7), 1, ...mask.slice(7), 1],
      [7, 4],
      batched.present,
    );
    const a1 = await runDecoder(
      sessions.decoder,
      dims,
      step.slice(0, H),
      1,
      1,
      new Array(8).fill(1),
      [7],
      aloneA.present,
    );
    const b1 = await runDecoder(
      sessions.decoder,
      dims,
      step.slice(H),
      1,
      1,
      new Array(5).fill(1),
      [4],
      aloneB.present,
    );
    expect(maxRelError(b2.logits.subarray(0, V()), a1.logits)).toBeLessThan(1e-5);
    expect(maxRelError(b2.logits.subarray(V()), b1.logits)).toBeLessThan(1e-5);
    expect(argmax(b2.logits, V(), 2 * V())).toBe(argmax(b1.logits));
  });

  it('attention_mask matters: masking a middle token changes the last logits', async () => {
    const e = await embed(ids7);
    const p = [0, 1, 2, 3, 4, 5, 6];
    const all = await runDecoder(sessions.decoder, dims, e, 1, 7, [1, 1, 1, 1, 1, 1, 1], p, null);
    const holed = await runDecoder(sessions.decoder, dims, e, 1, 7, [1, 1, 1, 0, 1, 1, 1], p, null);
    expect(cosine(all.logits, holed.logits)).toBeLessThan(0.99999);
  });
});
