import { describe, expect, it } from 'vitest';
import { getScorer } from '../../src/metrics/registry.ts';
import type { Resampling, SampleScore } from '../../src/metrics/scorer.ts';
import {
  isBinary,
  mcnemarExact,
  pairedDifference,
  pairedScoreDifference,
} from '../../src/report/paired-stats.ts';

describe('mcnemarExact', () => {
  // Expected values: two-sided exact binomial test, computed by hand from the binomial pmf
  // (e.g. b=0,c=5: 2 * 0.5^5 = 0.0625; b=1,c=9: 2 * (1 + 10) / 1024 = 0.021484375).
  it.each([
    [0, 0, 1, 'no discordant pairs'],
    [3, 3, 1, 'balanced flips cap at 1'],
    [0, 5, 0.0625, 'all five flips one way'],
    [5, 0, 0.0625, 'symmetric in b and c'],
    [1, 9, 0.021484375, 'P[X<=1] for n=10 is 11/1024'],
    [2, 8, 0.109375, 'P[X<=2] for n=10 is 56/1024'],
    [0, 1, 1, 'a single flip is never significant'],
    [10, 30, 0.0022214337732, 'n=40, k=10: 2 * sum C(40,i), i<=10, / 2^40'],
  ])('b=%i c=%i -> p=%f (%s)', (b, c, p) => {
    expect(mcnemarExact(b, c)).toBeCloseTo(p, 8);
  });
});

describe('pairedDifference', () => {
  it('computes mean(B - A) with scale and a CI that brackets it', () => {
    const a = [1, 1, 0, 0, 1, 1, 1, 0, 1, 1];
    const b = [1, 0, 0, 0, 1, 0, 1, 0, 1, 1];
    const d = pairedDifference(a, b, 100);
    expect(d.n).toBe(10);
    expect(d.delta).toBeCloseTo(-20, 10);
    expect(d.ci95[0]).toBeLessThanOrEqual(d.delta);
    expect(d.ci95[1]).toBeGreaterThanOrEqual(d.delta);
    expect(d.ci95[1]).toBeLessThanOrEqual(0);
  });
  it('is deterministic for a seed', () => {
    const a = Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const b = Array.from({ length: 50 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    expect(pairedDifference(a, b, 1, 7)).toEqual(pairedDifference(a, b, 1, 7));
  });
  it('refuses unequal lengths', () => {
    expect(() => pairedDifference([1], [1, 0])).toThrow(/1 vs 2/);
  });
  it('isBinary', () => {
    expect(isBinary([0, 1, 1])).toBe(true);
    expect(isBinary([0, 0.5])).toBe(false);
  });
});

describe("pairedScoreDifference (paired bootstrap of the task score over the scorer's units)", () => {
  const hits = (xs: number[]): SampleScore[] => xs.map((score) => ({ score }));

  it('for a mean of samples it is the paired mean difference (same draws as pairedDifference)', () => {
    const a: number[] = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const b = a.map((x, i) => (i % 7 === 0 ? 1 - x : x));
    const r = getScorer('exact_match').resampling(a.map((_, i) => ({ id: String(i), prediction: '' })));
    const d = pairedScoreDifference(r, hits(a), hits(b), { level: 0.95, iterations: 1000, seed: 3 });
    const ref = pairedDifference(a, b, 100, 3);
    expect(d.delta).toBeCloseTo(ref.delta, 10);
    expect(d.ci[0]).toBeCloseTo(ref.ci95[0], 10);
    expect(d.ci[1]).toBeCloseTo(ref.ci95[1], 10);
    expect(d.scoreA).toBeCloseTo(100 * (a.reduce((s: number, x) => s + x, 0) / 40), 10);
  });

  it('identical runs give Δ = 0 with a zero-width interval', () => {
    const xs = hits([1, 0, 1, 1, 0]);
    const r = getScorer('exact_match').resampling(xs.map((_, i) => ({ id: String(i), prediction: '' })));
    expect(pairedScoreDifference(r, xs, xs)).toMatchObject({ delta: 0, ci: [0, 0], units: 5, level: 0.9 });
  });

  it('MME: Δ is the change of the MME sum, and breaking one question of a pair costs acc and acc+', () => {
    const scorer = getScorer('mme');
    // 20 existence questions in 10 images, all right in A; B gets question 0 wrong.
    const inputs = Array.from({ length: 20 }, (_, i) => ({
      id: String(i),
      prediction: 'Yes',
      answer: 'Yes',
      category: 'existence',
    }));
    const a = hits(inputs.map(() => 1));
    const b = hits(inputs.map((_, i) => (i === 0 ? 0 : 1)));
    const d = pairedScoreDifference(scorer.resampling(inputs), a, b);
    // acc 100 -> 95, acc+ 100 -> 90: the sum drops by 15.
    expect(d.delta).toBeCloseTo(-15, 10);
    expect(d.units).toBe(10);
    expect(d.ci[0]).toBeLessThan(-15);
    expect(d.ci[1]).toBeLessThanOrEqual(0);
  });

  it("draws within strata, keeping each stratum's size", () => {
    const seen: number[][] = [];
    const r: Resampling = {
      units: [[0], [1], [2], [3], [4]],
      strata: ['x', 'y', 'x', 'y', 'y'],
      score(drawn) {
        seen.push([...drawn]);
        return 0;
      },
    };
    pairedScoreDifference(r, hits([0, 0, 0, 0, 0]), hits([0, 0, 0, 0, 0]), { iterations: 50 });
    for (const d of seen.slice(2)) {
      expect(d.filter((u) => u === 0 || u === 2)).toHaveLength(2);
      expect(d.filter((u) => u === 1 || u === 3 || u === 4)).toHaveLength(3);
    }
  });

  it('is deterministic for a seed and refuses unequal lengths', () => {
    const a = hits(Array.from({ length: 30 }, (_, i) => i % 2));
    const b = hits(Array.from({ length: 30 }, (_, i) => (i % 5 === 0 ? 1 : 0)));
    const r = getScorer('exact_match').resampling(a.map((_, i) => ({ id: String(i), prediction: '' })));
    expect(pairedScoreDifference(r, a, b, { seed: 9 })).toEqual(pairedScoreDifference(r, a, b, { seed: 9 }));
    expect(() => pairedScoreDifference(r, a, b.slice(1))).toThrow(/30 vs 29/);
  });
});
