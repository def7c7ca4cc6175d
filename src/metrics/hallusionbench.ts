/**
 * HallusionBench as VLMEvalKit scores it (the card's 37.9): VLMEvalKit @5e4df734 `vlmeval/dataset/image_yorn.py`
 * (`score = answer == extracted`, exact-matching mode) and `vlmeval/dataset/utils/yorn.py` (`YOrN_Extraction`,
 * `Hallusion_rating`).
 */
import type { Aggregate, Resampling, ScoreInput, Scorer } from './scorer.ts';
import { FieldError, requireString, singleAnswer } from './field-error.ts';
import { yornExtraction } from './yorn.ts';
import { bootstrapCi, mean } from './bootstrap.ts';
import { pushTo } from './aggregate-helpers.ts';

/** The `index` field (VLMEvalKit's string index, e.g. `VD_figure_0_0_0`), else `id`. */
function indexOf(input: ScoreInput): string {
  return typeof input.index === 'string' ? input.index : input.id;
}

/**
 * `set_id`, `figure_id`, `question_id` = `index.split('_')[3]`, `[4]`, `[5]` (the reference's fixed positions).
 */
export function hallusionIds(index: string): { setId: string; figureId: string; questionId: string } {
  const parts = index.split('_');
  if (parts.length < 6) {
    throw new FieldError(
      'index',
      `"${index}" must have at least 6 '_'-separated parts (set/figure/question ids at 3, 4, 5)`,
    );
  }
  return { setId: parts[3], figureId: parts[4], questionId: parts[5] };
}

interface HallusionUnit {
  readonly l2: string;
  readonly ids: { setId: string; figureId: string; questionId: string };
  readonly score: number;
}

/** Mean over groups of "every question in the group right" ×100 (`np.mean([np.all(x) ...]) * 100`). */
function groupAllCorrect(units: readonly HallusionUnit[], key: (u: HallusionUnit) => string): number {
  const groups = new Map<string, boolean>();
  for (const u of units) {
    const k = key(u);
    groups.set(k, (groups.get(k) ?? true) && u.score === 1);
  }
  return 100 * mean([...groups.values()].map((b) => (b ? 1 : 0)));
}

/**
 * `Hallusion_rating`: aAcc = mean score; fAcc = groups keyed `{l2-category}_{set_id}_{figure_id}`; qAcc = groups
 * keyed `{l2-category}_{set_id}_{question_id}`; all ×100. Published HallBench = (aAcc + fAcc + qAcc) / 3.
 */
export function hallusionRating(units: readonly HallusionUnit[]): {
  aAcc: number;
  fAcc: number;
  qAcc: number;
} {
  return {
    aAcc: 100 * mean(units.map((u) => u.score)),
    fAcc: groupAllCorrect(units, (u) => `${u.l2}_${u.ids.setId}_${u.ids.figureId}`),
    qAcc: groupAllCorrect(units, (u) => `${u.l2}_${u.ids.setId}_${u.ids.questionId}`),
  };
}

const overall = (r: { aAcc: number; fAcc: number; qAcc: number }) => (r.aAcc + r.fAcc + r.qAcc) / 3;

export const hallusionbenchScorer: Scorer = {
  name: 'hallusionbench',
  requires: ['prediction', 'answer|answers', 'l2-category'],
  scoreSample(input) {
    const gt = singleAnswer(input);
    if (gt !== 'Yes' && gt !== 'No') throw new FieldError('answer', `must be "Yes" or "No", got "${gt}"`);
    requireString(input['l2-category'], 'l2-category');
    hallusionIds(indexOf(input));
    const extracted = yornExtraction(requireString(input.prediction, 'prediction'));
    return { score: extracted === gt ? 1 : 0, extracted };
  },
  /** CI: resample sets (`{l2}_{set_id}`), the cluster that keeps both fAcc's and qAcc's groups whole. */
  aggregate(inputs, scores): Aggregate {
    const units: HallusionUnit[] = inputs.map((input, i) => ({
      l2: String(input['l2-category']),
      ids: hallusionIds(indexOf(input)),
      score: scores[i].score,
    }));
    const r = hallusionRating(units);
    const sets = hallusionResampling(inputs);
    const ci95 = bootstrapCi(
      sets.units.map((_, u) => u),
      (drawn) => sets.score(drawn, scores),
    );
    const breakdown: Record<string, number> = { aAcc: r.aAcc, fAcc: r.fAcc, qAcc: r.qAcc };
    return { metric: 'hallusionbench', n: units.length, score: overall(r), ci95, breakdown, unit: 'x100' };
  },
  resampling: hallusionResampling,
};

/** Sets (`{l2}_{set_id}`), the unit of the aggregate's CI and of the gate's draws; a set drawn twice counts twice. */
function hallusionResampling(inputs: readonly ScoreInput[]): Resampling {
  const meta = inputs.map((input) => ({
    l2: String(input['l2-category']),
    ids: hallusionIds(indexOf(input)),
  }));
  const bySet = new Map<string, number[]>();
  meta.forEach((m, i) => pushTo(bySet, `${m.l2}_${m.ids.setId}`, i));
  const units = [...bySet.values()];
  return {
    units,
    score: (drawn, scores) =>
      overall(
        hallusionRating(
          drawn.flatMap((u, j) =>
            units[u].map((i) => ({
              l2: meta[i].l2,
              ids: { ...meta[i].ids, setId: `${meta[i].ids.setId}#${j}` },
              score: scores[i].score,
            })),
          ),
        ),
      ),
  };
}
