/**
 * Video-MME as VLMEvalKit scores it: VLMEvalKit @5e4df734 `vlmeval/dataset/utils/videomme.py`
 * (`extract_characters_regex`, `get_dimension_rating`) and `vlmeval/dataset/videomme.py` (`VideoMME.evaluate`).
 */
import type { Aggregate, Scorer } from './scorer.ts';
import { requireString, singleAnswer } from './field-error.ts';
import { pySplit, pyStrip } from '../common/python-strings.ts';
import { bootstrapCi, mean } from './bootstrap.ts';
import { groupMeans, sampleMeanResampling } from './aggregate-helpers.ts';

/**
 * `answer_prefixes`, as the source really has them: two pairs of adjacent literals lack a comma and concatenate
 * (`'The best option is' 'The correct option is'`, `'Best answer:' 'Best option:'`), so `'The best option is'`
 * alone and `'Best answer:'` alone are NOT removed. Removal is case-sensitive, every occurrence, in this order.
 */
export const VIDEOMME_PREFIXES: readonly string[] = [
  'The best answer is',
  'The correct answer is',
  'The answer is',
  'The answer',
  'The best option isThe correct option is',
  'Best answer:Best option:',
  'Answer:',
  'Option:',
];

/**
 * `extract_characters_regex`: strip, delete the prefixes, then '' if more than 10 words and no `[ABCD]`; else the
 * first uppercase A–D ANYWHERE ('' if none). Quirk: any capital A–D counts, even inside a word
 * (`'Definitely B'` → `'D'`, `'The answer is (C)'` → `'C'` only because the prefix is deleted first).
 */
export function extractCharactersRegex(s: string): string {
  let t = pyStrip(s);
  for (const p of VIDEOMME_PREFIXES) t = t.replaceAll(p, '');
  const m = /[ABCD]/.exec(t);
  if (pySplit(t).length > 10 && !m) return '';
  return m ? m[0] : '';
}

export const videommeScorer: Scorer = {
  name: 'videomme',
  requires: ['prediction', 'answer|answers'],
  /** Score 1/0, or -1 when nothing was extracted (VideoMME.evaluate); -1 rows are left out of every mean. */
  scoreSample(input) {
    const extracted = extractCharactersRegex(requireString(input.prediction, 'prediction'));
    if (extracted === '') return { score: -1, extracted };
    return { score: extracted === singleAnswer(input) ? 1 : 0, extracted };
  },
  /**
   * `get_dimension_rating` overall: mean over scores >= 0 (rejected rows excluded) ×100. Breakdown per `duration`
   * and `task_type` where given, and the count of rejected rows.
   */
  aggregate(inputs, scores): Aggregate {
    const all = scores.map((s) => s.score);
    const keep = all.map((v) => v >= 0);
    const valid = all.filter((_, i) => keep[i]);
    const validInputs = inputs.filter((_, i) => keep[i]);
    return {
      metric: 'videomme',
      n: all.length,
      score: 100 * mean(valid),
      ci95: bootstrapCi(all, (r) => 100 * mean(r.filter((v) => v >= 0))),
      breakdown: {
        ...groupMeans(validInputs, valid, 'duration', 100),
        ...groupMeans(validInputs, valid, 'task_type', 100),
        rejected: all.length - valid.length,
      },
      unit: 'x100',
    };
  },
  /** Single samples (rejected ones included, as the CI draws them); a draw's mean leaves out the -1 rows. */
  resampling(inputs) {
    return sampleMeanResampling(inputs.length, 100, undefined, (v) => v >= 0);
  },
};
