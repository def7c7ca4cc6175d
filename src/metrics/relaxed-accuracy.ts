/**
 * ChartQA relaxed accuracy as InternVL calls it: InternVL `internvl_chat/eval/vqa/evaluate_vqa.py`,
 * `relaxed_correctness` (copied from pix2struct `metrics.py`) and `evaluate_relaxed_accuracy`.
 */
import type { Aggregate, Resampling, Scorer } from './scorer.ts';
import { answerList, requireString } from './field-error.ts';
import { pyFloat, pyLower, pyRstrip, pyStrip, pyTruthyFloat } from '../common/python-strings.ts';
import { bootstrapCi, mean } from './bootstrap.ts';
import { groupBy, meanAggregate, sampleMeanResampling } from './aggregate-helpers.ts';

/**
 * pix2struct `_to_float`: `float(text.rstrip('%')) / 100.0` if the text ends with `%`, else `float(text)`;
 * ValueError → null. Python `float()` rules (see `pyFloat`): `' 12'`, `'1e3'`, `'1_000'`, `'nan'`, `'inf'`,
 * `'infinity'`, Unicode digits parse; `'1,000'`, `'$5'` do not. `rstrip('%')` removes every trailing `%`.
 */
export function toFloat(text: string): number | null {
  if (text.endsWith('%')) {
    const v = pyFloat(pyRstrip(text, '%'));
    return v === null ? null : v / 100.0;
  }
  return pyFloat(text);
}

/**
 * pix2struct `relaxed_correctness(target, prediction, max_relative_change)`, argument names as in the source:
 * numeric when `prediction` parses and `target` parses to a truthy float (non-zero; NaN is truthy in Python), then
 * `|prediction - target| / |target| <= max_relative_change`; otherwise `prediction.lower() == target.lower()`.
 * Comparisons with NaN are false, so `'nan'` never matches numerically (nor does `inf` vs `inf`: inf-inf is NaN).
 */
export function relaxedCorrectness(target: string, prediction: string, maxRelativeChange = 0.05): boolean {
  const predictionFloat = toFloat(prediction);
  const targetFloat = toFloat(target);
  if (predictionFloat !== null && targetFloat !== null && pyTruthyFloat(targetFloat)) {
    return Math.abs(predictionFloat - targetFloat) / Math.abs(targetFloat) <= maxRelativeChange;
  }
  return pyLower(prediction) === pyLower(target);
}

/**
 * One ChartQA item as InternVL scores it: `max(relaxed_correctness(elem['answer'].strip(), ann) for ann in GT)`.
 * Quirk (evaluate_vqa.py, `evaluate_relaxed_accuracy`): the arguments are SWAPPED relative to pix2struct — the
 * model's answer goes in the `target` slot and the GT in `prediction` — so the 5% tolerance is relative to the
 * MODEL's number, and a model answer of 0 (falsy) falls back to string equality. Only the model answer is
 * stripped; the GT is used as is (a GT with a trailing space can still match numerically via `float()`'s own
 * whitespace stripping, but not as a string).
 */
export function chartQaCorrect(prediction: string, answers: readonly string[]): boolean {
  const model = pyStrip(prediction);
  return answers.some((gt) => relaxedCorrectness(model, gt));
}

/** Field holding the ChartQA split (`human` / `augmented`), whose accuracies are averaged like the card. */
export const CHARTQA_SPLIT_FIELD = 'split';

export const relaxedAccuracyScorer: Scorer<{ maxRelativeChange?: number }> = {
  name: 'relaxed_accuracy',
  requires: ['prediction', 'answers|answer'],
  scoreSample(input, options) {
    const model = pyStrip(requireString(input.prediction, 'prediction'));
    const rel = options?.maxRelativeChange ?? 0.05;
    const ok = answerList(input).some((gt) => relaxedCorrectness(model, gt, rel));
    return { score: ok ? 1 : 0 };
  },
  /**
   * With a `split` field, the score is the unweighted mean of the per-split accuracies (the card's ChartQA 76.2 =
   * (human 59.52 + augmented 92.96) / 2, InternVL-doc "ChartQA" 2B tab); the CI resamples within each split.
   * Without it, the plain mean.
   */
  aggregate(inputs, scores): Aggregate {
    const values = scores.map((s) => s.score);
    const splits = groupBy(inputs, values, CHARTQA_SPLIT_FIELD);
    if (splits.size === 0) return meanAggregate('relaxed_accuracy', inputs, scores);
    const labels = inputs.map((i) => String(i[CHARTQA_SPLIT_FIELD] ?? ''));
    const units = values.map((v, i) => ({ v, split: labels[i] }));
    const statistic = (us: readonly { v: number; split: string }[]) => {
      const g = new Map<string, number[]>();
      for (const u of us) (g.get(u.split) ?? g.set(u.split, []).get(u.split)!).push(u.v);
      return 100 * mean([...g.values()].map(mean));
    };
    const breakdown: Record<string, number> = {};
    for (const [name, vs] of [...splits].sort(([a], [b]) => (a < b ? -1 : 1)))
      breakdown[name] = 100 * mean(vs);
    return {
      metric: 'relaxed_accuracy',
      n: values.length,
      score: statistic(units),
      ci95: bootstrapCi(units, statistic, { strata: labels }),
      breakdown,
      unit: 'x100',
    };
  },
  /** Single samples; with a `split` field they are redrawn within their split and the split means averaged. */
  resampling(inputs): Resampling {
    if (
      !inputs.some(
        (i) => typeof i[CHARTQA_SPLIT_FIELD] === 'string' || typeof i[CHARTQA_SPLIT_FIELD] === 'number',
      )
    )
      return sampleMeanResampling(inputs.length);
    const labels = inputs.map((i) => String(i[CHARTQA_SPLIT_FIELD] ?? ''));
    const units = inputs.map((_, i) => [i]);
    return {
      units,
      strata: labels,
      score(drawn, scores) {
        const bySplit = new Map<string, number[]>();
        for (const u of drawn) {
          const i = units[u][0];
          (bySplit.get(labels[i]) ?? bySplit.set(labels[i], []).get(labels[i])!).push(scores[i].score);
        }
        return 100 * mean([...bySplit.values()].map(mean));
      },
    };
  },
};
