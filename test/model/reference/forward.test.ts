import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint, type Checkpoint } from '../../../src/model/checkpoint/checkpoint.ts';
import { llmLayerNames, LLM_GLOBAL } from '../../../src/model/checkpoint/tensor-names.ts';
import { makeTinyCheckpoint } from '../../../src/model/checkpoint/tiny.ts';
import { tempDir } from '../checkpoint/helpers.ts';
import { argmax, referenceGreedy, referenceLogits, referenceVisionEmbeds } from './forward.ts';
import { linear, rmsNorm, silu } from './math.ts';

let tmp: { dir: string; cleanup: () => Promise<void> };
let ckpt: Checkpoint;
let imgContext: number;
const TILE = 3 * 448 * 448;

/** Deterministic pseudo-normalised pixels in [-2, 2]. */
function pixels(tiles: number, seed: number): Float32Array {
  const p = new Float32Array(tiles * TILE);
  for (let i = 0; i < p.length; i++) p[i] = 2 * Math.sin(i * 0.37 + seed * 1.3) * Math.cos(i * 0.011);
  return p;
}

beforeAll(async () => {
  tmp = await tempDir('ref-');
  const made = await makeTinyCheckpoint(path.join(tmp.dir, 'tiny'), { seed: 0 });
  ckpt = await openCheckpoint(made.dir);
  const tc = (await import('../../../src/model/inputs/tiny-tokenizer.ts')).makeTinyTokenizer()
    .tokenizerConfig as {
    added_tokens_decoder: Record<string, { content: string }>;
  };
  imgContext = Number(
    Object.entries(tc.added_tokens_decoder).find(([, v]) => v.content === '<IMG_CONTEXT>')![0],
  );
});
afterAll(async () => {
  await ckpt?.close();
  await tmp?.cleanup();
});

describe('referenceVisionEmbeds', () => {
  it('gives [tiles, 256, llmHidden], tile by tile, deterministically', async () => {
    const two = pixels(2, 1);
    const both = await referenceVisionEmbeds(ckpt, two, 2);
    expect(both.length).toBe(2 * 256 * 64);
    expect(both.every(Number.isFinite)).toBe(true);
    const second = await referenceVisionEmbeds(ckpt, two.subarray(TILE), 1);
    expect(Array.from(both.subarray(256 * 64))).toEqual(Array.from(second));
    // Different tiles give different embeddings, of a sane magnitude.
    const rms = Math.sqrt(both.reduce((s, v) => s + v * v, 0) / both.length);
    expect(rms).toBeGreaterThan(0.05);
    expect(rms).toBeLessThan(50);
    expect(both[0]).not.toBe(both[256 * 64]);
  });

  it('rejects a pixel count that is not tiles x 3 x 448 x 448', async () => {
    await expect(referenceVisionEmbeds(ckpt, new Float32Array(10), 1)).rejects.toThrow(
      'referenceVisionEmbeds: 10 pixel values, expected 1x602112',
    );
  });
});

describe('referenceLogits', () => {
  const ids = [1, 5, 17, 42, 99, 7];

  it('returns vocab-sized rows; "all" ends with "last"; causal (a prefix does not see later tokens)', async () => {
    const V = ckpt.config.llm.vocabSize;
    const last = await referenceLogits(ckpt, ids);
    expect(last.length).toBe(V);
    const all = await referenceLogits(ckpt, ids, { positions: 'all' });
    expect(all.length).toBe(ids.length * V);
    Array.from(last).forEach((v, i) => expect(all[(ids.length - 1) * V + i]).toBeCloseTo(v, 10));
    const prefix = await referenceLogits(ckpt, ids.slice(0, 3));
    Array.from(prefix).forEach((v, i) => expect(all[2 * V + i]).toBeCloseTo(v, 10));
    const picked = await referenceLogits(ckpt, ids, { positions: [2, 0] });
    expect(picked[0]).toBeCloseTo(all[2 * V], 10);
    expect(picked[V]).toBeCloseTo(all[0], 10);
    // Peaked logits: the top two are well separated at the last position.
    const sorted = Array.from(last).sort((a, b) => b - a);
    expect(sorted[0] - sorted[1]).toBeGreaterThan(1e-3);
  });

  it('one token: attention is V of its KV head, so logits follow from the weights directly', async () => {
    const c = ckpt.config.llm;
    const H = c.hiddenSize;
    const hd = c.headDim;
    const w = async (n: string) => ckpt.tensor(n).toFloat32();
    const id = 33;
    const emb = await w(LLM_GLOBAL.tokEmbeddings);
    let x = Float64Array.from(emb.subarray(id * H, (id + 1) * H));
    for (let l = 0; l < c.numHiddenLayers; l++) {
      const n = llmLayerNames(l);
      const h = rmsNorm(x, H, await w(n.attentionNorm), c.rmsNormEps);
      const wqkv = await w(n.wqkv);
      const gs = c.kvGroups + 2;
      // Query head j reads V of KV head g = j // groups: rows (g*gs + gs-1)*hd .. of wqkv.
      const attn = new Float64Array(c.numAttentionHeads * hd);
      for (let j = 0; j < c.numAttentionHeads; j++) {
        const g = Math.floor(j / c.kvGroups);
        const vRows = wqkv.subarray((g * gs + gs - 1) * hd * H, (g * gs + gs) * hd * H);
        attn.set(linear(h, 1, H, vRows, hd), j * hd);
      }
      const o = linear(attn, 1, c.numAttentionHeads * hd, await w(n.wo), H);
      x = x.map((v, i) => v + o[i]);
      const h2 = rmsNorm(x, H, await w(n.ffnNorm), c.rmsNormEps);
      const gate = linear(h2, 1, H, await w(n.w1), c.intermediateSize);
      const up = linear(h2, 1, H, await w(n.w3), c.intermediateSize);
      const down = linear(
        gate.map((g, i) => silu(g) * up[i]),
        1,
        c.intermediateSize,
        await w(n.w2),
        H,
      );
      x = x.map((v, i) => v + down[i]);
    }
    const expected = linear(
      rmsNorm(x, H, await w(LLM_GLOBAL.norm), c.rmsNormEps),
      1,
      H,
      await w(LLM_GLOBAL.output),
      c.vocabSize,
    );
    const got = await referenceLogits(ckpt, [id]);
    Array.from(expected).forEach((v, i) => expect(got[i]).toBeCloseTo(v, 9));
  });

  it('splices image embeddings over context tokens in order and checks their count', async () => {
    const H = ckpt.config.llm.hiddenSize;
    const withCtx = [1, 5, imgContext, imgContext, 9];
    const embA = Float64Array.from({ length: 2 * H }, (_, i) => Math.cos(i));
    const embB = Float64Array.from(embA).reverse();
    const a = await referenceLogits(ckpt, withCtx, { imageEmbeds: embA, imageContextTokenId: imgContext });
    const b = await referenceLogits(ckpt, withCtx, { imageEmbeds: embB, imageContextTokenId: imgContext });
    const plain = await referenceLogits(ckpt, withCtx);
    expect(a[0]).not.toBeCloseTo(b[0], 6);
    expect(a[0]).not.toBeCloseTo(plain[0], 6);
    await expect(
      referenceLogits(ckpt, withCtx, { imageEmbeds: embA.subarray(H), imageContextTokenId: imgContext }),
    ).rejects.toThrow('more context tokens than the 1 image embeddings');
    await expect(
      referenceLogits(ckpt, [1, imgContext], { imageEmbeds: embA, imageContextTokenId: imgContext }),
    ).rejects.toThrow('2 image embeddings but 1 context tokens in input_ids');
  });
});

describe('referenceGreedy', () => {
  it('is argmax of the logits step by step, deterministic, and stops on a stop id', async () => {
    const ids = [1, 5, 17, 42];
    const out = await referenceGreedy(ckpt, ids, undefined, 4, []);
    expect(out).toHaveLength(4);
    expect(await referenceGreedy(ckpt, ids, undefined, 4, [])).toEqual(out);
    let seq = [...ids];
    for (const expected of out) {
      const next = argmax(await referenceLogits(ckpt, seq));
      expect(next).toBe(expected);
      seq = [...seq, next];
    }
    expect(await referenceGreedy(ckpt, ids, undefined, 4, [out[1]])).toEqual(out.slice(0, 2));
  });
});
