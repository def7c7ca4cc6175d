/**
 * Scoring from the runner's side: turn prediction-log records into scorer inputs and score a whole task.
 */
import type { PredictionRecord } from '../runner/prediction-record.ts';
import type { Aggregate, SampleScore, ScoreInput } from './scorer.ts';
import { getScorer } from './registry.ts';

/**
 * A scorer input from a prediction-log record: `meta` fields (choices, bbox, width, height, category, image,
 * split, index, question_type_id, ...) first, then `id`, `prediction` and `answers` (metrics with a single GT
 * accept a one-element `answers`).
 */
export function scoreInputFromRecord(record: PredictionRecord): ScoreInput {
  return { ...(record.meta ?? {}), id: record.id, prediction: record.prediction, answers: record.answers };
}

/**
 * Score every input with a named metric and aggregate. Throws the scorer's FieldError (with `.field`) for a bad
 * input; callers that know file/line should prefix it (see score-file.ts).
 */
export function scoreAll(
  metric: string,
  inputs: readonly ScoreInput[],
  options?: Record<string, unknown>,
): { scores: SampleScore[]; aggregate: Aggregate } {
  const scorer = getScorer(metric);
  const scores = inputs.map((input) => scorer.scoreSample(input, options));
  return { scores, aggregate: scorer.aggregate(inputs, scores, options) };
}
