import { describe, expect, it } from 'vitest';
import { isBinary, mcnemarExact, pairedDifference } from '../../src/report/paired-stats.ts';

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
