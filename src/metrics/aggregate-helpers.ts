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
  return {
    metric,
    n: values.length,
    score: scale * mean(values),
    ci95: meanCi(values, scale, options),
    breakdown: groupMeans(inputs, values, options.breakdownField ?? 'category', scale),
    unit: options.unit ?? 'x100',
  };
}

/** `{group: scale × mean}` over inputs grouped by a string field; empty when no input has that field. */
export function groupMeans(
  inputs: readonly ScoreInput[],
  values: readonly number[],
  field: string,
  scale: number,
): Record<string, number> {
  const groups = groupBy(inputs, values, field);
  const out: Record<string, number> = {};
  for (const [name, vs] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    out[name] = scale * mean(vs);
  return out;
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
    const name = String(key);
    const list = groups.get(name);
    if (list) list.push(values[i]);
    else groups.set(name, [values[i]]);
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
