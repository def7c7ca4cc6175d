/**
 * ANLS for DocVQA / InfoVQA as InternVL scores it: InternVL `internvl_chat/eval/vqa/infographicsvqa_eval.py`,
 * `evaluate_method` (the RRC script, called by `evaluate_vqa.py` on the raw model answer).
 */
import type { Scorer } from './scorer.ts';
import { answerList, requireString } from './field-error.ts';
import { pyLen, pyLower, pySplit, pyStrip, pyUpper } from '../common/python-strings.ts';
import { meanAggregate, sampleMeanResampling } from './aggregate-helpers.ts';

/** Levenshtein distance over code points (Python iterates a str by code point). */
export function levenshtein(a: string, b: string): number {
  let s1 = Array.from(a);
  let s2 = Array.from(b);
  if (s1.length > s2.length) [s1, s2] = [s2, s1];
  let prev = Array.from({ length: s1.length + 1 }, (_, i) => i);
  for (let i2 = 0; i2 < s2.length; i2++) {
    const cur = [i2 + 1];
    for (let i1 = 0; i1 < s1.length; i1++) {
      cur.push(s1[i1] === s2[i2] ? prev[i1] : 1 + Math.min(prev[i1], prev[i1 + 1], cur[cur.length - 1]));
    }
    prev = cur;
  }
  return prev[prev.length - 1];
}

/** `' '.join(s.strip().lower().split())` */
function normalizeForDistance(s: string): string {
  return pySplit(pyLower(pyStrip(s))).join(' ');
}

/**
 * Per-question ANLS: `1 - min(values)` over GT answers, then `< threshold → 0`.
 * Quirk (infographicsvqa_eval.py, `evaluate_method`): the distance is computed on whitespace-normalized lowercase
 * strings but divided by `max(len(answer.upper()), len(pred.upper()))` of the RAW strings, so surrounding spaces
 * or repeated inner spaces lower the normalized distance (e.g. `'  yes  '` vs `'yes'` scores 1, `'yes '` vs `'ye'`
 * scores 1 - 1/4), and `upper()` can lengthen (`'ß'.upper() == 'SS'`). Lengths are in code points.
 * Quirk: when both raw strings are empty the value is 0.0 (perfect), so an empty prediction matches an empty GT.
 */
export function anls(prediction: string, answers: readonly string[], threshold = 0.5): number {
  const det = normalizeForDistance(prediction);
  let best = Infinity;
  for (const answer of answers) {
    const dist = levenshtein(normalizeForDistance(answer), det);
    const length = Math.max(pyLen(pyUpper(answer)), pyLen(pyUpper(prediction)));
    best = Math.min(best, length === 0 ? 0 : dist / length);
  }
  const result = 1 - best;
  return result < threshold ? 0 : result;
}

export const anlsScorer: Scorer<{ threshold?: number }> = {
  name: 'anls',
  requires: ['prediction', 'answers|answer'],
  scoreSample(input, options) {
    return {
      score: anls(
        requireString(input.prediction, 'prediction'),
        answerList(input),
        options?.threshold ?? 0.5,
      ),
    };
  },
  aggregate(inputs, scores) {
    return meanAggregate('anls', inputs, scores);
  },
  resampling(inputs) {
    return sampleMeanResampling(inputs.length);
  },
};
