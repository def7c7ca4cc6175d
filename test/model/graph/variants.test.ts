// fp16 / int8 / int4 builds stay within stated bounds of the fp32 build on a tiny random checkpoint (seed 3,
// vocab 512, 12-token prompt, one 448px tile). Builds use `allLogits` so every prompt position is compared.
// Measured on seeds 3..6 (ORT 1.30 CPU, builder version 2, int8/int4 default accuracy level 4) — worst case over
// seeds, as min per-position logits cosine / max rel err:
//   fp16 (bf16 checkpoint -> fp16 is exact): max rel err 2.9e-7
//   int8 sym, block 32, acc 4 (default): 0.99979 / 1.64e-2; zero points: 0.99980 / 1.99e-2; acc 0: 0.99988 / 1.23e-2
//   int4 sym, block 32, acc 4 (default): 0.96525 / 0.260; acc 0: 0.96521 / 0.249; zero points: 0.95892 / 0.214;
//     block 16: 0.97992 / 0.181
//   int4 with quantized ViT/mlp1: image-embeds cosine 0.98737
// Builder version 3 (int8/int4 also quantize tok_embeddings by default, GatherBlockQuantized), re-measured the same
// way, worst over seeds 3..6 [seed 3, the one tested here]:
//   int8 default: 0.99970 / 1.93e-2 [0.99978 / 1.71e-2]; acc 0: 0.99988 / 1.40e-2; zero points: 0.99974 / 1.91e-2
//   int4 default: 0.94622 / 0.269 (seed 5) [0.96356 / 0.236]; acc 0: 0.94731 / 0.267 (seed 5) [0.96476 / 0.238];
//     zero points: 0.95328 / 0.298 [0.95653 / 0.252]; block 16: 0.96489 / 0.240 [0.96489 / 0.220]
//   int4 with quantizeEmbeddings: false (v2 behaviour): 0.96525 / 0.260
//   So on seed 5 the int4 default and acc-0 builds fall BELOW the 0.95 cosine bound (the tiny table is N(0,1)
//   random, and a 4-bit table error enters every position's input); the tested seed 3 keeps a 0.0136 margin.
// Random tiny weights (hidden 64, 2 layers) are a harsh case for 4-bit RTN; the bounds below leave a margin over the
// v2 worst cases and over every v3 case on the tested seed, but not over the v3 int4 seed-5 case (see above).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, type BuildOptions } from '../../../src/model/graph/build.ts';
import { writeTinyCheckpoint } from './tiny-fixture.ts';
import { cosine, i64, maxRelError, openBuilt, randomFloats, runDecoder } from './ort-helpers.ts';

let root: string;
let ckptDir: string;
const px = randomFloats(3 * 448 * 448, 9);
const ids = [1, 17, 300, 42, 7, 99, 250, 3, 8, 11, 500, 2];
const V = 512;

interface Outputs {
  image: Float32Array;
  logits: Float32Array;
  accuracyLevel: number | undefined;
}

async function run(opts: Omit<BuildOptions, 'cacheDir'>): Promise<Outputs> {
  const r = await buildModel(ckptDir, { ...opts, cacheDir: path.join(root, 'cache'), allLogits: true });
  const s = await openBuilt(r.dir);
  try {
    const image = (await s.vision.run({ pixel_values: new ort.Tensor('float32', px, [1, 3, 448, 448]) }))[
      'image_embeds'
    ].data as Float32Array;
    const e = (await s.embed.run({ input_ids: i64(ids, [1, ids.length]) }))['inputs_embeds']
      .data as Float32Array;
    const l = r.info.llm;
    const d = { layers: l.layers, kvHeads: l.kvHeads, headDim: l.headDim, hidden: l.hidden, vocab: l.vocab };
    const out = await runDecoder(
      s.decoder,
      d,
      e,
      1,
      ids.length,
      ids.map(() => 1),
      ids.map((_, i) => i),
      null,
    );
    return { image, logits: out.logits, accuracyLevel: r.info.quant?.accuracyLevel };
  } finally {
    await s.release();
  }
}

function minPositionCosine(a: Float32Array, b: Float32Array): number {
  let min = 1;
  for (let p = 0; p < ids.length; p++)
    min = Math.min(min, cosine(a.subarray(p * V, (p + 1) * V), b.subarray(p * V, (p + 1) * V)));
  return min;
}

let fp32: Outputs;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'graph-variants-'));
  ckptDir = path.join(root, 'ckpt');
  await writeTinyCheckpoint(ckptDir, { seed: 3, vocabSize: V });
  fp32 = await run({ variant: 'fp32' });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('variants vs fp32', () => {
  it('fp16: exact up to float32 rounding (bf16 weights are exact in fp16)', async () => {
    const o = await run({ variant: 'fp16' });
    expect(maxRelError(o.logits, fp32.logits)).toBeLessThan(1e-5);
    expect(maxRelError(o.image, fp32.image)).toBeLessThan(1e-5);
  });

  it.each([
    { name: 'int8', opts: { variant: 'int8' as const }, acc: 4, minCos: 0.9995, maxRel: 0.04, minRel: 1e-4 },
    {
      name: 'int8 acc 0',
      opts: { variant: 'int8' as const, accuracyLevel: 0 },
      acc: 0,
      minCos: 0.9995,
      maxRel: 0.03,
      minRel: 1e-4,
    },
    {
      name: 'int8 zero points',
      opts: { variant: 'int8' as const, zeroPoint: true },
      acc: 4,
      minCos: 0.9995,
      maxRel: 0.04,
      minRel: 1e-4,
    },
    { name: 'int4', opts: { variant: 'int4' as const }, acc: 4, minCos: 0.95, maxRel: 0.4, minRel: 1e-2 },
    {
      name: 'int4 acc 0',
      opts: { variant: 'int4' as const, accuracyLevel: 0 },
      acc: 0,
      minCos: 0.95,
      maxRel: 0.4,
      minRel: 1e-2,
    },
    {
      name: 'int4 zero points',
      opts: { variant: 'int4' as const, zeroPoint: true },
      acc: 4,
      minCos: 0.95,
      maxRel: 0.4,
      minRel: 1e-2,
    },
    {
      name: 'int4 block 16',
      opts: { variant: 'int4' as const, blockSize: 16 },
      acc: 4,
      minCos: 0.95,
      maxRel: 0.4,
      minRel: 1e-2,
    },
  ])(
    '$name (accuracy level $acc): logits cosine >= $minCos per position, max rel err <= $maxRel; ViT untouched',
    async ({ opts, acc, minCos, maxRel, minRel }) => {
      const o = await run(opts);
      expect(o.accuracyLevel).toBe(acc);
      const cos = minPositionCosine(o.logits, fp32.logits);
      const rel = maxRelError(o.logits, fp32.logits);
      expect(cos).toBeGreaterThanOrEqual(minCos);
      expect(rel).toBeLessThanOrEqual(maxRel);
      // the quantization is really applied (errors are not zero)
      expect(rel).toBeGreaterThan(minRel);
      // ViT + mlp1 keep fp16 weights: exact for a bf16 checkpoint
      expect(maxRelError(o.image, fp32.image)).toBeLessThan(1e-5);
    },
  );

  it.each(['int8', 'int4'] as const)(
    '%s: the default accuracy level 4 really reaches MatMulNBits (logits differ from level 0)',
    async (variant) => {
      const def = await run({ variant });
      const exact = await run({ variant, accuracyLevel: 0 });
      expect(maxRelError(def.logits, exact.logits)).toBeGreaterThan(1e-4);
    },
  );

  it('int4 with quantizeVision: image embeddings cosine >= 0.98', async () => {
    const o = await run({ variant: 'int4', quantizeVision: true });
    const cos = cosine(o.image, fp32.image);
    expect(cos).toBeGreaterThanOrEqual(0.98);
    expect(cos).toBeLessThan(0.99999);
  });
});
