/**
 * MVBench accuracy as InternVL scores it: InternVL `internvl_chat/eval/mvbench/evaluate_mvbench.py`, `check_ans`.
 * GT strings look like `'(A) the answer'` (built by `MVBenchDataset.qa_template`).
 */
import type { Scorer } from './scorer.ts';
import { FieldError, requireString, singleAnswer } from './field-error.ts';
import { pyLower } from '../common/python-strings.ts';
import { meanAggregate, sampleMeanResampling } from './aggregate-helpers.ts';

/**
 * `check_ans(pred, gt)`: drop every `'Answer: '`, take the first SPACE-separated token of each (lowercased;
 * `split(' ')`, so a leading space or newline-joined text gives odd tokens), correct iff
 * `pred_option.replace('.', '') in gt_option` or `gt_option in pred_option`. Quirks: plain substring tests, so an
 * empty first token (prediction starting with a space, or empty) is always correct; `'a'` is in `'(a)'` (correct);
 * `'(a)\nthe'` is one token containing `'(a)'` (correct); `'b.'` → `'b'`, not in `'(a)'`.
 */
export function checkAns(pred: string, gt: string): boolean {
  const p = pred.replaceAll('Answer: ', '');
  const predOption = pyLower(p).split(' ')[0];
  const gtOption = pyLower(gt).split(' ')[0];
  return gtOption.includes(predOption.replaceAll('.', '')) || predOption.includes(gtOption);
}

/** The reference crashes (`gt_content[-1]` IndexError) when the GT has nothing after its first space. */
function validateGt(gt: string): void {
  const content = pyLower(gt).split(' ').slice(1).join(' ');
  if (content.length === 0) {
    throw new FieldError(
      'answer',
      `must look like "(A) option text" (check_ans needs text after the letter), got "${gt}"`,
    );
  }
}

export const mvbenchScorer: Scorer = {
  name: 'mvbench',
  requires: ['prediction', 'answer|answers'],
  scoreSample(input) {
    const gt = singleAnswer(input);
    validateGt(gt);
    const pred = requireString(input.prediction, 'prediction');
    return {
      score: checkAns(pred, gt) ? 1 : 0,
      extracted: pyLower(pred.replaceAll('Answer: ', '')).split(' ')[0],
    };
  },
  /** Micro average over all questions (the reference's `Avg`), per-task means in the breakdown (`category`). */
  aggregate(inputs, scores) {
    return meanAggregate('mvbench', inputs, scores);
  },
  resampling(inputs) {
    return sampleMeanResampling(inputs.length);
  },
};
