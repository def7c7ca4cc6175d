/**
 * TextVQA soft accuracy as InternVL scores it: InternVL `internvl_chat/eval/vqa/textvqa_eval.py`,
 * `TextVQAAccuracyEvaluator._compute_answer_scores` + `eval_pred_list`, on the RAW model answer
 * (`evaluate_vqa.py` defines `post_process` but never calls it for TextVQA).
 */
import type { Scorer } from './scorer.ts';
import { FieldError, requireString, requireStringArray } from './field-error.ts';
import { evalAiNormalize } from './evalai-normalize.ts';
import { meanAggregate, sampleMeanResampling } from './aggregate-helpers.ts';

/** The reference asserts exactly ten human answers per question (`assert len(answers) == 10`). */
export const TEXTVQA_ANSWER_COUNT = 10;

/**
 * Score of one prediction against the ten GT answers: both sides EvalAI-normalized; for the normalized prediction
 * p, `mean over i of min(1, #{j != i : gt_j == p} / 3)` — the leave-one-out average (so 3 matching annotators
 * give 0.9, not 1.0; 4 or more give 1.0). 0 if p matches no GT answer.
 */
export function vqaAccuracy(prediction: string, answers: readonly string[]): number {
  const pred = evalAiNormalize(prediction);
  const gts = answers.map(evalAiNormalize);
  const matches = gts.filter((g) => g === pred).length;
  if (matches === 0) return 0;
  let sum = 0;
  for (const g of gts) {
    const others = g === pred ? matches - 1 : matches;
    sum += Math.min(1, others / 3);
  }
  return sum / gts.length;
}

export const vqaAccuracyScorer: Scorer<{ anyAnswerCount?: boolean }> = {
  name: 'vqa_accuracy',
  requires: ['prediction', 'answers'],
  scoreSample(input, options) {
    const answers = requireStringArray(input.answers, 'answers');
    if (!options?.anyAnswerCount && answers.length !== TEXTVQA_ANSWER_COUNT) {
      throw new FieldError(
        'answers',
        `must hold exactly ${TEXTVQA_ANSWER_COUNT} answers (the reference asserts it), got ${answers.length}`,
      );
    }
    if (answers.length === 0) throw new FieldError('answers', 'must not be empty');
    const prediction = requireString(input.prediction, 'prediction');
    return { score: vqaAccuracy(prediction, answers), extracted: evalAiNormalize(prediction) };
  },
  aggregate(inputs, scores) {
    return meanAggregate('vqa_accuracy', inputs, scores);
  },
  resampling(inputs) {
    return sampleMeanResampling(inputs.length);
  },
};
