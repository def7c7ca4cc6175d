/** Aggregates shared by the plain-mean metrics (×100 means with a per-group breakdown). */
import type { Aggregate, Resampling, ScoreInput, SampleScore } from './scorer.ts';
import { mean, meanCi, type BootstrapOptions } from './bootstrap.ts';

export interface MeanAggregateOptions extends BootstrapOptions {
  /** Multiplier to the card's units (100 for ×100 metrics). */
  readonly scale?: number;
  readonly unit?: string;
  /** Input field whose values give per-group means in `breakdown` (default `category`). */
  readonly breakdownField?: string;
}

/** Mean of per-sample scores in card units, its bootstrap CI over samples, and per-group means. */
export function meanAggregate(
  metric: string,
  inputs: readonly ScoreInput[],
  scores: readonly SampleScore[],
  options: MeanAggregateOptions = {},
): Aggregate {
  const scale = options.scale ?? 100;
  const values = scores.map((s) => s.score);
  return scaledMeanAggregate(
    metric,
    values,
    groupMeans(inputs, values, options.breakdownField ?? 'category', scale),
    options,
  );
}

/**
 * The aggregate every mean-based metric reports: score = scale × mean(values) (default ×100), n = values.length,
 * the bootstrap CI of that mean over the values, and the breakdown the metric computed (its key order is kept).
 */
export function scaledMeanAggregate(
  metric: string,
  values: readonly number[],
  breakdown: Record<string, number>,
  options: Omit<MeanAggregateOptions, 'breakdownField'> = {},
): Aggregate {
  const { scale = 100, unit = 'x100', ...bootstrap } = options;
  return {
    metric,
    n: values.length,
    score: scale * mean(values),
    ci95: meanCi(values, scale, bootstrap),
    breakdown,
    unit,
  };
}

/** `{group: scale × mean}` for groups already collected, in the map's order. */
export function scaledMeans(
  groups: ReadonlyMap<string, readonly number[]>,
  scale = 100,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, vs] of groups) out[name] = scale * mean(vs);
  return out;
}

/** Appends `value` to the list under `key`, creating it (insertion order = first-seen order). */
export function pushTo<K>(groups: Map<K, number[]>, key: K, value: number): void {
  const list = groups.get(key);
  if (list) list.push(value);
  else groups.set(key, [value]);
}

/** `{group: scale × mean}` over inputs grouped by a string field; empty when no input has that field. */
export function groupMeans(
  inputs: readonly ScoreInput[],
  values: readonly number[],
  field: string,
  scale: number,
): Record<string, number> {
  const groups = groupBy(inputs, values, field);
  return scaledMeans(new Map([...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), scale);
}

export function groupBy(
  inputs: readonly ScoreInput[],
  values: readonly number[],
  field: string,
): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  inputs.forEach((input, i) => {
    const key = input[field];
    if (typeof key !== 'string' && typeof key !== 'number') return;
    pushTo(groups, String(key), values[i]);
  });
  return groups;
}

/**
 * Resampling of a mean of independent samples (`meanAggregate`'s score): one unit per sample (or per listed sample,
 * `rows`), score = scale × the mean of the drawn samples' scores (those `keep` accepts).
 */
export function sampleMeanResampling(
  n: number,
  scale = 100,
  rows?: readonly number[],
  keep: (score: number) => boolean = () => true,
): Resampling {
  const units = (rows ?? Array.from({ length: n }, (_, i) => i)).map((i) => [i]);
  return {
    units,
    score(drawn, scores) {
      let sum = 0;
      let count = 0;
      for (const u of drawn) {
        const v = scores[units[u][0]].score;
        if (!keep(v)) continue;
        sum += v;
        count++;
      }
      return count === 0 ? NaN : (scale * sum) / count;
    },
  };
}
