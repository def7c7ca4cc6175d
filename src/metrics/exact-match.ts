/**
 * AI2D exact match as InternVL scores it: InternVL `internvl_chat/eval/vqa/evaluate_vqa.py`,
 * `evaluate_exact_match_accuracy`: `answer.strip().lower() == ann.strip().lower()`, max over the annotations.
 * Quirk: no option-letter extraction at all — `'A.'`, `'(A)'` or `'A. cat'` against GT `'A'` are wrong.
 */
import type { Scorer } from './scorer.ts';
import { answerList, requireString } from './field-error.ts';
import { pyLower, pyStrip } from '../common/python-strings.ts';
import { meanAggregate, sampleMeanResampling } from './aggregate-helpers.ts';

export function exactMatch(prediction: string, answers: readonly string[]): boolean {
  const pred = pyLower(pyStrip(prediction));
  return answers.some((a) => pyLower(pyStrip(a)) === pred);
}

export const exactMatchScorer: Scorer = {
  name: 'exact_match',
  requires: ['prediction', 'answers|answer'],
  scoreSample(input) {
    return { score: exactMatch(requireString(input.prediction, 'prediction'), answerList(input)) ? 1 : 0 };
  },
  aggregate(inputs, scores) {
    return meanAggregate('exact_match', inputs, scores);
  },
  resampling(inputs) {
    return sampleMeanResampling(inputs.length);
  },
};
