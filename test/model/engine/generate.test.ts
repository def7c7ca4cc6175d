import { describe, expect, it } from 'vitest';
import { generate, type RowSettings } from '../../../src/model/engine/generate.ts';
import { leftPad, positionIdsFromMask, extendMask } from '../../../src/model/engine/padding.ts';
import { SeededRandom, argmax, sampleToken } from '../../../src/model/engine/sampling.ts';
import { ToyDecoder } from './toy-decoder.ts';

const PAD = 0;

async function run(
  prompts: number[][],
  settings: RowSettings[],
  opts: { useCache?: boolean; keepPromptLogits?: boolean } = {},
  decoder = new ToyDecoder(),
) {
  const padded = leftPad(prompts, PAD);
  const embeds = await decoder.embed(padded.inputIds, padded.batch, padded.seq);
  return generate(
    decoder,
    {
      batch: padded.batch,
      seq: padded.seq,
      embeds,
      attentionMask: padded.attentionMask,
      positionIds: padded.positionIds,
    },
    settings,
    { padTokenId: PAD, ...opts },
  );
}

const greedy = (maxNewTokens: number, stopTokenIds: number[] = [], minNewTokens = 0): RowSettings => ({
  maxNewTokens,
  minNewTokens,
  stopTokenIds,
});

describe('padding math', () => {
  it.each([
    { mask: [1, 1, 1], pos: [0, 1, 2] },
    { mask: [0, 0, 1, 1], pos: [1, 1, 0, 1] },
    { mask: [0, 1, 0, 1], pos: [1, 0, 1, 1] },
  ])('positions for mask $mask', ({ mask, pos }) => {
    const m = BigInt64Array.from(mask.map(BigInt));
    expect(Array.from(positionIdsFromMask(m, 1, mask.length), Number)).toEqual(pos);
  });

  it('left pads shorter prompts and masks the pads', () => {
    const p = leftPad([[5, 6, 7], [8]], 9);
    expect(p.seq).toBe(3);
    expect(Array.from(p.inputIds, Number)).toEqual([5, 6, 7, 9, 9, 8]);
    expect(Array.from(p.attentionMask, Number)).toEqual([1, 1, 1, 0, 0, 1]);
    expect(Array.from(p.positionIds, Number)).toEqual([0, 1, 2, 1, 1, 0]);
    expect(p.padding).toEqual([0, 2]);
  });

  it('extends a mask by a column of ones per row', () => {
    const m = extendMask(BigInt64Array.from([0n, 1n, 1n, 1n]), 2, 2);
    expect(Array.from(m, Number)).toEqual([0, 1, 1, 1, 1, 1]);
  });

  it('rejects an empty prompt', () => {
    expect(() => leftPad([[1], []], 0)).toThrow(/prompt 1 is empty/);
  });
});

describe('sampling', () => {
  it('argmax takes the first of equal maxima and skips suppressed ids', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([1, 3, 3, 2], new Set([1]))).toBe(2);
  });

  it('is deterministic per seed and differs between seeds', () => {
    const row = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i));
    const draw = (seed: number) => {
      const r = new SeededRandom(seed);
      return Array.from({ length: 20 }, () => sampleToken(row, { temperature: 1, seed }, r));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it.each([
    { name: 'top-k 1', s: { temperature: 1.5, topK: 1 } },
    { name: 'tiny top-p', s: { temperature: 1.5, topP: 1e-6 } },
  ])('$name reduces to greedy', ({ s }) => {
    const row = Float32Array.from({ length: 30 }, (_, i) => Math.cos(i * 1.3));
    const r = new SeededRandom(3);
    for (let i = 0; i < 10; i++) expect(sampleToken(row, s, r)).toBe(argmax(row));
  });

  it('top-k keeps only the k best tokens', () => {
    const row = Float32Array.from([0, 5, 4, 1, 4.5]);
    const r = new SeededRandom(1);
    const seen = new Set(Array.from({ length: 200 }, () => sampleToken(row, { temperature: 5, topK: 2 }, r)));
    expect([...seen].sort()).toEqual([1, 4]);
  });

  it('top-p keeps the smallest prefix reaching p (HF TopPLogitsWarper)', () => {
    // probs ≈ [0.5, 0.3, 0.2]: p = 0.7 keeps {0, 1}; p = 0.85 keeps all three
    const row = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
    const r = new SeededRandom(2);
    const seen = (p: number) =>
      new Set(Array.from({ length: 300 }, () => sampleToken(row, { temperature: 1, topP: p }, r)));
    expect([...seen(0.7)].sort()).toEqual([0, 1]);
    expect([...seen(0.85)].sort()).toEqual([0, 1, 2]);
  });
});

describe('generation loop (toy decoder)', () => {
  const prompts = [
    [3, 4, 5, 6, 7],
    [2, 9],
    [8, 1, 6],
  ];

  it('KV-cache decoding equals full recompute', async () => {
    const s = prompts.map(() => greedy(6));
    const cached = await run(prompts, s);
    const recomputed = await run(prompts, s, { useCache: false });
    expect(cached.rows.map((r) => r.outputIds)).toEqual(recomputed.rows.map((r) => r.outputIds));
    expect(cached.rows[0].outputIds).toHaveLength(6);
  });

  it('batched equals unbatched with different prompt lengths (greedy and sampled)', async () => {
    const settings: RowSettings[] = [
      greedy(5),
      { maxNewTokens: 7, stopTokenIds: [], sampling: { temperature: 0.9, topK: 5, topP: 0.9, seed: 11 } },
      greedy(3),
    ];
    const batched = await run(prompts, settings, { keepPromptLogits: true });
    for (let b = 0; b < prompts.length; b++) {
      const single = await run([prompts[b]], [settings[b]], { keepPromptLogits: true });
      expect(batched.rows[b].outputIds).toEqual(single.rows[0].outputIds);
      expect(Array.from(batched.rows[b].promptLogits!)).toEqual(Array.from(single.rows[0].promptLogits!));
    }
  });

  it('uses the cache: one prefill then single-token steps with growing past', async () => {
    const dec = new ToyDecoder();
    await run([[1, 2, 3]], [greedy(3)], {}, dec);
    expect(dec.steps).toEqual([
      { batch: 1, seq: 3, past: 0 },
      { batch: 1, seq: 1, past: 3 },
      { batch: 1, seq: 1, past: 4 },
    ]);
  });

  it('stops on a stop token, excluded from the output, while other rows go on', async () => {
    const free = await run(
      prompts,
      prompts.map(() => greedy(8)),
    );
    const stopAt = free.rows[0].outputIds[2];
    const firstIndex = free.rows[0].outputIds.indexOf(stopAt);
    const out = await run(prompts, [greedy(8, [stopAt]), greedy(8), greedy(8)]);
    expect(out.rows[0].outputIds).toEqual(free.rows[0].outputIds.slice(0, firstIndex));
    expect(out.rows[0].finishReason).toBe('stop');
    expect(out.rows[0].stopTokenId).toBe(stopAt);
    expect(out.rows[1].outputIds).toEqual(free.rows[1].outputIds);
    expect(out.rows[1].finishReason).toBe('length');
  });

  it('suppresses stop tokens until minNewTokens', async () => {
    const free = await run([prompts[0]], [greedy(4)]);
    const first = free.rows[0].outputIds[0];
    const stopped = await run([prompts[0]], [greedy(4, [first])]);
    expect(stopped.rows[0].outputIds).toEqual([]);
    const atLeast2 = await run([prompts[0]], [greedy(4, [first], 2)]);
    expect(atLeast2.rows[0].outputIds.length).toBeGreaterThanOrEqual(2);
    expect(atLeast2.rows[0].outputIds.slice(0, 2)).not.toContain(first);
  });

  it('honours maxNewTokens per row, 0 included', async () => {
    const out = await run(prompts, [greedy(0), greedy(1), greedy(4)]);
    expect(out.rows.map((r) => r.outputIds.length)).toEqual([0, 1, 4]);
    const logitsOnly = await run([prompts[0]], [greedy(0)], { keepPromptLogits: true });
    expect(logitsOnly.rows[0].promptLogits).toHaveLength(11);
  });

  it('reports each token to onToken in order', async () => {
    const seen: [number, number][] = [];
    const padded = leftPad(prompts, PAD);
    const dec = new ToyDecoder();
    const embeds = await dec.embed(padded.inputIds, padded.batch, padded.seq);
    const out = await generate(
      dec,
      { ...padded, embeds },
      prompts.map(() => greedy(3)),
      {
        padTokenId: PAD,
        onToken: (row, id) => seen.push([row, id]),
      },
    );
    for (let b = 0; b < 3; b++)
      expect(seen.filter(([r]) => r === b).map(([, id]) => id)).toEqual(out.rows[b].outputIds);
  });
});
