/**
 * MME as VLMEvalKit scores it: VLMEvalKit @5e4df734 `vlmeval/dataset/image_yorn.py` (`evaluate`: `score =
 * answer == extracted`) and `vlmeval/dataset/utils/yorn.py` (`YOrN_Extraction`, `MME_rating`).
 */
import type { ScoreInput, Scorer } from './scorer.ts';
import { FieldError, requireString, singleAnswer } from './field-error.ts';
import { yornExtraction } from './yorn.ts';
import {
  MME_SUBTASKS,
  mmeAggregate,
  mmeImageGroups,
  mmeImageKey,
  mmeResampling,
  mmeScores,
  type MmeImageGroup,
} from './mme.ts';

function gtOf(input: ScoreInput): string {
  const s = singleAnswer(input);
  // `data['answer'] == data['extracted']` is a case-sensitive comparison with 'Yes' / 'No'.
  if (s !== 'Yes' && s !== 'No')
    throw new FieldError('answer', `must be "Yes" or "No" (VLMEvalKit compares exactly), got "${s}"`);
  return s;
}

/**
 * `MME_rating`: per category, images keyed by `image_path`; `acc` = mean over all questions, `acc_plus` = mean over
 * images of `val[0] * val[1]` (the first two questions of the image — a third is ignored, a lone question is an
 * IndexError in the reference, which we reject). Perception/"reasoning" (cognition) sums as in InternVL's script.
 */
function vekScores(groups: readonly MmeImageGroup[]): Record<string, number> {
  return mmeScores(groups, { plusFirst: 2 });
}

export const mmeVlmevalkitScorer: Scorer = {
  name: 'mme_vlmevalkit',
  requires: ['prediction', 'answer|answers', 'category', 'image|image_path'],
  scoreSample(input) {
    const c = requireString(input.category, 'category');
    if (!MME_SUBTASKS.includes(c))
      throw new FieldError('category', `"${c}" is not an MME subtask (${MME_SUBTASKS.join(', ')})`);
    if (mmeImageKey(input) === null)
      throw new FieldError('image', 'must name the image (pairs are keyed by it)');
    const extracted = yornExtraction(requireString(input.prediction, 'prediction'));
    return { score: extracted === gtOf(input) ? 1 : 0, extracted };
  },
  aggregate(inputs, scores) {
    const results = scores.map((s) => ({ correct: s.score === 1, skipped: false }));
    const groups = mmeImageGroups(inputs, results);
    const lone = groups.find((g) => g.results.length < 2);
    if (lone)
      throw new FieldError(
        'image',
        `MME image in "${lone.subtask}" has only one question (MME_rating needs pairs)`,
      );
    return mmeAggregate('mme_vlmevalkit', groups, inputs.length, vekScores);
  },
  resampling(inputs) {
    return mmeResampling(inputs, (s) => ({ correct: s.score === 1, skipped: false }), vekScores);
  },
};
