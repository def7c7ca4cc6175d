/**
 * Seeded bootstrap confidence intervals. Deterministic: the same units, statistic and seed give the same interval
 * on every machine (mulberry32 PRNG, percentile method).
 *
 * Units are whatever is resampled with replacement: single samples for plain means, or clusters (MME image pairs,
 * HallusionBench figure/question groups, MMBench circular groups) where samples are not independent. With `strata`,
 * units are resampled within each stratum (e.g. MME subtasks), keeping every stratum's size as in the data.
 */
import { mulberry32 } from '../common/seeded-random.ts';

export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  readonly iterations?: number;
  /** PRNG seed (default 0). */
  readonly seed?: number;
  /** Two-sided level (default 0.95). */
  readonly level?: number;
}

export const DEFAULT_BOOTSTRAP_ITERATIONS = 1000;

/** Linear-interpolated percentile (numpy's default `linear` method) of sorted values, q in [0, 1]. */
export function percentileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Bootstrap CI of `statistic(units)`. `strata[i]` names unit i's stratum (resampled separately); omit for one pool.
 * Returns [NaN, NaN] when there are no units.
 */
export function bootstrapCi<U>(
  units: readonly U[],
  statistic: (resampled: readonly U[]) => number,
  options: BootstrapOptions & { readonly strata?: readonly string[] } = {},
): [number, number] {
  if (units.length === 0) return [NaN, NaN];
  const iterations = options.iterations ?? DEFAULT_BOOTSTRAP_ITERATIONS;
  const level = options.level ?? 0.95;
  const rand = mulberry32(options.seed ?? 0);
  const pools = groupIndices(units.length, options.strata);
  const values: number[] = [];
  const resampled: U[] = new Array(units.length);
  for (let it = 0; it < iterations; it++) {
    let k = 0;
    for (const pool of pools) {
      for (let j = 0; j < pool.length; j++) resampled[k++] = units[pool[Math.floor(rand() * pool.length)]];
    }
    const v = statistic(resampled);
    if (!Number.isNaN(v)) values.push(v);
  }
  values.sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  return [percentileSorted(values, alpha), percentileSorted(values, 1 - alpha)];
}

function groupIndices(n: number, strata: readonly string[] | undefined): number[][] {
  if (!strata) return [Array.from({ length: n }, (_, i) => i)];
  if (strata.length !== n) throw new Error(`bootstrapCi: ${strata.length} strata for ${n} units`);
  const byName = new Map<string, number[]>();
  strata.forEach((s, i) => {
    const list = byName.get(s);
    if (list) list.push(i);
    else byName.set(s, [i]);
  });
  return [...byName.values()];
}

/** Mean of numbers (NaN for none). */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** CI of `scale × mean(values)` over independent samples. */
export function meanCi(
  values: readonly number[],
  scale = 1,
  options: BootstrapOptions = {},
): [number, number] {
  return bootstrapCi(values, (r) => scale * mean(r), options);
}
