/**
 * OCRBench as VLMEvalKit scores it (the card's 784): VLMEvalKit @5e4df734 `vlmeval/dataset/image_vqa.py`,
 * `OCRBench.evaluate`.
 */
import type { Aggregate, ScoreInput, Scorer } from './scorer.ts';
import { FieldError, answerList, requireString } from './field-error.ts';
import { parsePythonStringList } from '../common/py-literal.ts';
import { pyLower, pyStrip } from '../common/python-strings.ts';
import { bootstrapCi } from './bootstrap.ts';

export const OCRBENCH_HME = 'Handwritten Mathematical Expression Recognition';

/** The ten OCRBench categories (the reference's `OCRBench_score` keys; any other category is a KeyError there). */
export const OCRBENCH_CATEGORIES: readonly string[] = [
  'Regular Text Recognition',
  'Irregular Text Recognition',
  'Artistic Text Recognition',
  'Handwriting Recognition',
  'Digit String Recognition',
  'Non-Semantic Text Recognition',
  'Scene Text-centric VQA',
  'Doc-oriented VQA',
  'Key Information Extraction',
  OCRBENCH_HME,
];

/** The five reported groups; 'Text Recognition' sums the first six categories. Final Score = their sum. */
export const OCRBENCH_GROUPS: Readonly<Record<string, readonly string[]>> = {
  'Text Recognition': OCRBENCH_CATEGORIES.slice(0, 6),
  'Scene Text-centric VQA': ['Scene Text-centric VQA'],
  'Doc-oriented VQA': ['Doc-oriented VQA'],
  'Key Information Extraction': ['Key Information Extraction'],
  'Handwritten Mathematical Expression Recognition': [OCRBENCH_HME],
};

/**
 * One OCRBench hit: any GT answer is a substring of the prediction.
 * HME: `answer.strip().replace('\n', ' ').replace(' ', '')` in the same of the prediction — case-SENSITIVE, all
 * spaces removed (tabs kept). Others: `answer.lower().strip().replace('\n', ' ')` in the same of the prediction —
 * case-insensitive, inner spaces kept. Quirk: an empty GT (or one that strips to empty) always hits.
 */
export function ocrbenchHit(prediction: string, answers: readonly string[], category: string): boolean {
  if (category === OCRBENCH_HME) {
    const norm = (s: string) => pyStrip(s).replaceAll('\n', ' ').replaceAll(' ', '');
    const pred = norm(prediction);
    return answers.some((a) => pred.includes(norm(a)));
  }
  const norm = (s: string) => pyStrip(pyLower(s)).replaceAll('\n', ' ');
  const pred = norm(prediction);
  return answers.some((a) => pred.includes(norm(a)));
}

function ocrbenchSums(categories: readonly string[], hits: readonly number[]): Record<string, number> {
  const perCat: Record<string, number> = Object.fromEntries(OCRBENCH_CATEGORIES.map((c) => [c, 0]));
  categories.forEach((c, i) => (perCat[c] += hits[i]));
  const out: Record<string, number> = {};
  for (const [group, cats] of Object.entries(OCRBENCH_GROUPS))
    out[group] = cats.reduce((s, c) => s + perCat[c], 0);
  for (const c of OCRBENCH_CATEGORIES.slice(0, 6)) out[c] = perCat[c];
  return out;
}

const finalScore = (sums: Record<string, number>) =>
  Object.keys(OCRBENCH_GROUPS).reduce((s, g) => s + sums[g], 0);

/**
 * GT list: `answers`, else `answer`. VLMEvalKit's OCRBench.tsv stores `answer` as a Python list literal and calls
 * `eval()` on it, so an `answer` string that reads as a Python list of strings (`"['Centre', \"it's\"]"`) is that
 * list; any other string is one answer.
 */
export function ocrbenchAnswers(input: ScoreInput): string[] {
  if (
    input.answers === undefined &&
    typeof input.answer === 'string' &&
    input.answer.trimStart().startsWith('[')
  ) {
    try {
      return parsePythonStringList(input.answer);
    } catch {
      // not a list literal: a plain answer that happens to start with '['
    }
  }
  return answerList(input);
}

export const ocrbenchScorer: Scorer = {
  name: 'ocrbench',
  requires: ['prediction', 'answers|answer', 'category'],
  scoreSample(input) {
    const category = requireString(input.category, 'category');
    if (!OCRBENCH_CATEGORIES.includes(category)) {
      throw new FieldError(
        'category',
        `"${category}" is not an OCRBench category (${OCRBENCH_CATEGORIES.join(', ')})`,
      );
    }
    return {
      score: ocrbenchHit(requireString(input.prediction, 'prediction'), ocrbenchAnswers(input), category)
        ? 1
        : 0,
    };
  },
  /**
   * Score = number of hits ("Final Score", out of 1000 on the full set); breakdown = the five reported groups
   * plus the six text-recognition categories, as hit counts. The CI resamples samples and re-counts.
   */
  aggregate(inputs, scores): Aggregate {
    const cats = inputs.map((i) => String(i.category));
    const hits = scores.map((s) => s.score);
    const breakdown = ocrbenchSums(cats, hits);
    const units = hits.map((h, i) => ({ h, c: cats[i] }));
    return {
      metric: 'ocrbench',
      n: hits.length,
      score: finalScore(breakdown),
      ci95: bootstrapCi(units, (us) => us.reduce((s, u) => s + u.h, 0)),
      breakdown,
      unit: '/1000',
    };
  },
  /** Single samples; the score of a draw is its hit count (every category counts towards the final score). */
  resampling(inputs) {
    const units = inputs.map((_, i) => [i]);
    return {
      units,
      score: (drawn, scores) => drawn.reduce((s, u) => s + scores[units[u][0]].score, 0),
    };
  },
};
