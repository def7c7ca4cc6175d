import { describe, expect, it } from 'vitest';
import { bootstrapCi, mean, meanCi, percentileSorted } from '../../src/metrics/bootstrap.ts';

describe('bootstrap', () => {
  it('percentile is linear-interpolated like numpy', () => {
    expect(percentileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentileSorted([1, 2, 3, 4], 0)).toBe(1);
    expect(percentileSorted([1, 2, 3, 4], 1)).toBe(4);
    expect(percentileSorted([0, 10], 0.025)).toBe(0.25);
  });

  it('same seed, same interval; a different seed moves it', () => {
    const values = Array.from({ length: 200 }, (_, i) => Math.sin(i) ** 2); // continuous values: no ties
    expect(meanCi(values, 100, { seed: 1 })).toEqual(meanCi(values, 100, { seed: 1 }));
    expect(meanCi(values, 100, { seed: 1 })).not.toEqual(meanCi(values, 100, { seed: 2 }));
  });

  it('the CI of a proportion is close to the normal approximation', () => {
    const values = Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const [lo, hi] = meanCi(values, 100, { iterations: 2000 });
    const se = 100 * Math.sqrt(0.25 / 400);
    expect(lo).toBeGreaterThan(50 - 1.96 * se - 1);
    expect(lo).toBeLessThan(50 - 1.96 * se + 1);
    expect(hi).toBeGreaterThan(50 + 1.96 * se - 1);
    expect(hi).toBeLessThan(50 + 1.96 * se + 1);
  });

  it('constant data gives a zero-width interval; no data gives NaN', () => {
    expect(meanCi([1, 1, 1], 100)).toEqual([100, 100]);
    expect(meanCi([], 100)).toEqual([NaN, NaN]);
  });

  it('cluster resampling widens the interval when clusters are correlated', () => {
    // 50 clusters of 10 identical outcomes: the effective sample size is 50, not 500.
    const clusters = Array.from({ length: 50 }, (_, c) => Array(10).fill(c % 2));
    const flat = clusters.flat();
    const [flo, fhi] = meanCi(flat, 100);
    const [clo, chi] = bootstrapCi(clusters, (cs) => 100 * mean(cs.flat()));
    expect(chi - clo).toBeGreaterThan(2 * (fhi - flo));
  });

  it('strata keep their sizes: resampling within strata of constant values never varies', () => {
    const units = [0, 0, 0, 1, 1, 1];
    const strata = ['a', 'a', 'a', 'b', 'b', 'b'];
    expect(bootstrapCi(units, (u) => mean(u), { strata })).toEqual([0.5, 0.5]);
    const [lo, hi] = bootstrapCi(units, (u) => mean(u));
    expect(hi - lo).toBeGreaterThan(0);
  });
});
