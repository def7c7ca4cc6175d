/**
 * Paired statistics for comparing two runs of the same samples (fp16 vs int4, tiles 6 vs 12): the mean paired
 * difference with a seeded bootstrap CI, and McNemar's exact test for 0/1 metrics. Pure functions.
 */
import { bootstrapCi, mean } from '../metrics/bootstrap.ts';
import type { Resampling, SampleScore } from '../metrics/scorer.ts';

/** log(n!) by summation, exact enough for the binomial tails McNemar needs (n up to a few 100k). */
function logFactorials(n: number): Float64Array {
  const out = new Float64Array(n + 1);
  for (let i = 2; i <= n; i++) out[i] = out[i - 1] + Math.log(i);
  return out;
}

/**
 * McNemar's exact (binomial) test, two-sided: with b = right->wrong and c = wrong->right discordant pairs,
 * p = min(1, 2 * P[X <= min(b, c)]) for X ~ Binomial(b + c, 1/2). b + c = 0 gives p = 1.
 */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  const lf = logFactorials(n);
  let tail = 0;
  for (let i = 0; i <= k; i++) tail += Math.exp(lf[n] - lf[i] - lf[n - i] - n * Math.LN2);
  return Math.min(1, 2 * tail);
}

export interface PairedDifference {
  n: number;
  /** mean(b) - mean(a), in the same units as the inputs × scale. */
  delta: number;
  ci95: [number, number];
}

/** Mean paired difference (B − A) × scale with a bootstrap CI over pairs (seeded, deterministic). */
export function pairedDifference(
  a: readonly number[],
  b: readonly number[],
  scale = 1,
  seed = 0,
  strata?: readonly string[],
): PairedDifference {
  if (a.length !== b.length) throw new Error(`pairedDifference: ${a.length} vs ${b.length} values`);
  const diffs = a.map((x, i) => b[i] - x);
  return {
    n: diffs.length,
    delta: scale * mean(diffs),
    ci95: bootstrapCi(diffs, (r) => scale * mean(r), { seed, strata }),
  };
}

/** True when every score is exactly 0 or 1 (McNemar applies). */
export function isBinary(values: readonly number[]): boolean {
  return values.every((v) => v === 0 || v === 1);
}

export interface PairedScoreDifference {
  /** Units (samples, or groups for grouped metrics) drawn per resample. */
  units: number;
  /** The task score of each run over the paired samples, in card units. */
  scoreA: number;
  scoreB: number;
  /** scoreB − scoreA. */
  delta: number;
  /** Percentile bootstrap interval of delta at `level`. */
  ci: [number, number];
  level: number;
}

export interface PairedScoreOptions {
  /** Two-sided level of `ci` (default 0.90: its lower end is a one-sided 95% bound). */
  readonly level?: number;
  readonly iterations?: number;
  readonly seed?: number;
}

export const DEFAULT_PAIRED_ITERATIONS = 2000;

/**
 * The difference of two runs' task scores (B − A) over the same samples, with a paired bootstrap interval: each
 * resample draws the scorer's units (within their strata) once and scores both runs on that same draw, so the
 * between-sample variance cancels and only the runs' disagreement is left. `a[i]` and `b[i]` are the two runs'
 * scores of input i of `resampling`. Seeded (mulberry32): the same inputs give the same interval everywhere.
 */
export function pairedScoreDifference(
  resampling: Resampling,
  a: readonly SampleScore[],
  b: readonly SampleScore[],
  options: PairedScoreOptions = {},
): PairedScoreDifference {
  if (a.length !== b.length) throw new Error(`pairedScoreDifference: ${a.length} vs ${b.length} scores`);
  const level = options.level ?? 0.9;
  const iterations = options.iterations ?? DEFAULT_PAIRED_ITERATIONS;
  const nUnits = resampling.units.length;
  const all = Array.from({ length: nUnits }, (_, i) => i);
  const scoreA = resampling.score(all, a);
  const scoreB = resampling.score(all, b);
  // The same seeded, stratified percentile bootstrap as every aggregate's CI, drawing unit indices: one draw
  // scores both runs.
  const ci = bootstrapCi(all, (drawn) => resampling.score(drawn, b) - resampling.score(drawn, a), {
    level,
    iterations,
    seed: options.seed ?? 0,
    ...(resampling.strata ? { strata: resampling.strata } : {}),
  });
  return {
    units: nUnits,
    scoreA,
    scoreB,
    delta: scoreB - scoreA,
    ci,
    level,
  };
}
