// The built fp32 graphs against the independent float64 reference forward (test/model/reference/forward.ts) on a
// tiny random checkpoint. Relative error = max |onnx - reference| / max |reference| over the compared tensor.
// The default build returns logits for the last position only; an `allLogits` build of the same checkpoint is
// compared at every position.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint, type Checkpoint } from '../../../src/model/checkpoint/checkpoint.ts';
import { buildModel } from '../../../src/model/graph/build.ts';
import { referenceGreedy, referenceLogits, referenceVisionEmbeds } from '../reference/forward.ts';
import { writeTinyCheckpoint } from './tiny-fixture.ts';
import {
  argmax,
  i64,
  maxRelError,
  openBuilt,
  randomFloats,
  runDecoder,
  type BuiltSessions,
  type DecoderDims,
} from './ort-helpers.ts';

const V = 512;
const IMG_CONTEXT = 500; // stands in for <IMG_CONTEXT> (92546) in this small vocabulary
let root: string;

async function setup(name: string, configPatch: Record<string, unknown> = {}, allLogits = false) {
  const dir = path.join(root, name);
  await writeTinyCheckpoint(dir, { seed: 7, vocabSize: V, configPatch });
  const built = await buildModel(dir, { variant: 'fp32', cacheDir: path.join(root, 'cache') });
  const ckpt = await openCheckpoint(dir);
  const sessions = await openBuilt(built.dir);
  // the same checkpoint built with logits at every position
  const allSessions = allLogits
    ? await openBuilt(
        (await buildModel(dir, { variant: 'fp32', cacheDir: path.join(root, 'cache'), allLogits })).dir,
      )
    : null;
  const l = built.info.llm;
  const dims: DecoderDims = {
    layers: l.layers,
    kvHeads: l.kvHeads,
    headDim: l.headDim,
    hidden: l.hidden,
    vocab: l.vocab,
  };
  return { ckpt, sessions, allSessions, dims };
}

let main: { ckpt: Checkpoint; sessions: BuiltSessions; allSessions: BuiltSessions | null; dims: DecoderDims };
// ImageNet-normalised pixels lie in about [-2.1, 2.6]
const pixels = randomFloats(2 * 3 * 448 * 448, 21).map((v) => v * 2);

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'graph-ref-'));
  main = await setup('v2', {}, true);
});
afterAll(async () => {
  await main?.sessions.release();
  await main?.allSessions?.release();
  await main?.ckpt.close();
  await rm(root, { recursive: true, force: true });
});

async function onnxVision(s: BuiltSessions, tiles: number): Promise<Float32Array> {
  const px = pixels.subarray(0, tiles * 3 * 448 * 448);
  return (await s.vision.run({ pixel_values: new ort.Tensor('float32', px, [tiles, 3, 448, 448]) }))[
    'image_embeds'
  ].data as Float32Array;
}

describe('fp32 graphs vs the float64 reference forward', () => {
  it('vision embeddings (2 tiles, ps_version v2, select_layer -1) within 1e-4', async () => {
    const ref = await referenceVisionEmbeds(main.ckpt, pixels, 2);
    const got = await onnxVision(main.sessions, 2);
    expect(got.length).toBe(ref.length);
    expect(maxRelError(got, ref)).toBeLessThan(1e-4);
  });

  it('ps_version v1 and select_layer -2 are honoured too', async () => {
    const other = await setup('v1', { ps_version: 'v1', select_layer: -2 });
    try {
      const ref = await referenceVisionEmbeds(other.ckpt, pixels.subarray(0, 3 * 448 * 448), 1);
      const got = await onnxVision(other.sessions, 1);
      expect(maxRelError(got, ref)).toBeLessThan(1e-4);
      // and differs from the v2 / all-layers model with the same weights
      expect(maxRelError(await onnxVision(main.sessions, 1), ref)).toBeGreaterThan(1e-2);
    } finally {
      await other.sessions.release();
      await other.ckpt.close();
    }
  });

  it('logits (allLogits: every position; default: the last) of an image prompt within 1e-4, image embeddings spliced over context tokens', async () => {
    const image = await onnxVision(main.sessions, 1); // [256, H]
    const ids = [1, 33, 7, IMG_CONTEXT, ...new Array(255).fill(IMG_CONTEXT), 9, 44, 120];
    const H = main.dims.hidden;
    const e = (await main.sessions.embed.run({ input_ids: i64(ids, [1, ids.length]) }))['inputs_embeds']
      .data as Float32Array;
    let k = 0;
    ids.forEach((id, n) => {
      if (id === IMG_CONTEXT) e.set(image.subarray(k * H, ++k * H), n * H);
    });
    const run = (s: BuiltSessions) =>
      runDecoder(
        s.decoder,
        main.dims,
        e,
        1,
        ids.length,
        ids.map(() => 1),
        ids.map((_, i) => i),
        null,
      );
    const out = await run(main.allSessions!);
    const last = await run(main.sessions);
    expect(out.logitsDims).toEqual([1, ids.length, V]);
    expect(last.logitsDims).toEqual([1, 1, V]);
    const positions = [0, 3, 200, ids.length - 1];
    const ref = await referenceLogits(main.ckpt, ids, {
      imageEmbeds: image,
      imageContextTokenId: IMG_CONTEXT,
      positions,
    });
    positions.forEach((p, i) => {
      expect(
        maxRelError(out.logits.subarray(p * V, (p + 1) * V), ref.subarray(i * V, (i + 1) * V)),
      ).toBeLessThan(1e-4);
    });
    expect(maxRelError(last.logits, ref.subarray(3 * V))).toBeLessThan(1e-4);
  });

  it('greedy ids with the KV cache equal the reference greedy (full recompute)', async () => {
    const prompt = [1, 250, 17, 99, 3];
    const steps = 6;
    const want = await referenceGreedy(main.ckpt, prompt, undefined, steps, []);
    const embed = async (ids: number[]) =>
      (await main.sessions.embed.run({ input_ids: i64(ids, [1, ids.length]) }))['inputs_embeds']
        .data as Float32Array;
    let step = await runDecoder(
      main.sessions.decoder,
      main.dims,
      await embed(prompt),
      1,
      prompt.length,
      prompt.map(() => 1),
      prompt.map((_, i) => i),
      null,
    );
    expect(step.logitsDims).toEqual([1, 1, V]); // default build: the last prompt position only
    let last = step.logits;
    const got: number[] = [];
    for (let s = 0; s < steps; s++) {
      const next = argmax(last);
      got.push(next);
      const total = prompt.length + s + 1;
      step = await runDecoder(
        main.sessions.decoder,
        main.dims,
        await embed([next]),
        1,
        1,
        new Array(total).fill(1),
        [total - 1],
        step.present,
      );
      last = step.logits;
    }
    expect(got).toEqual(want);
  });
});
