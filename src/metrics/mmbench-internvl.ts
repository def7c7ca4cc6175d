/**
 * MMBench / CCBench option post-processing as InternVL's own script does it before writing the submission file:
 * InternVL `internvl_chat/eval/mmbench/evaluate_mmbench.py`, `post_process`. The published test numbers come from
 * the MMBench server; this scorer gives the local, non-circular view of the same extraction (per-row hit).
 */
import type { Scorer } from './scorer.ts';
import { requireString, singleAnswer } from './field-error.ts';
import { pyFirstChar, pyLen, pyStrip } from '../common/python-strings.ts';
import { meanAggregate, sampleMeanResampling } from './aggregate-helpers.ts';
import { requireChoices } from './mcq.ts';

/**
 * `post_process(pred, option)`: strip; a single character is returned as is (even if not an option); else its
 * first character if that is an option key; else the first key (in option order) whose text is a substring of the
 * prediction; else the stripped prediction unchanged. Quirks: `'Apple'` → `'A'` when A is an option; an empty
 * option text matches anything; an empty prediction makes the reference crash (`pred[0]`), here it returns ''.
 */
export function mmbenchPostProcess(pred: string, options: Readonly<Record<string, string>>): string {
  const p = pyStrip(pred);
  if (pyLen(p) === 1) return p;
  if (p === '') return '';
  // evaluate_mmbench.py builds `options` by iterating ['A', 'B', 'C', 'D', 'E']: alphabetical order.
  const keys = Object.keys(options).sort();
  if (keys.includes(pyFirstChar(p))) return pyFirstChar(p);
  for (const k of keys) if (p.includes(options[k])) return k;
  return p;
}

export const mmbenchInternvlScorer: Scorer = {
  name: 'mmbench_internvl',
  requires: ['prediction', 'answer|answers', 'choices|A'],
  scoreSample(input) {
    const choices = requireChoices(input);
    const extracted = mmbenchPostProcess(requireString(input.prediction, 'prediction'), choices);
    return { score: extracted === singleAnswer(input) ? 1 : 0, extracted };
  },
  aggregate(inputs, scores) {
    return meanAggregate('mmbench_internvl', inputs, scores);
  },
  resampling(inputs) {
    return sampleMeanResampling(inputs.length);
  },
};
