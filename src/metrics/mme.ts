/**
 * MME as InternVL scores it (the card's 1876.8): InternVL `internvl_chat/eval/mme/eval.py` (`post_processing`,
 * then each answer is written as the 4th tab-separated field of a line) and the official
 * `internvl_chat/eval/mme/calculation.py` (`calculate_metrics.parse_pred_ans`, `process_result`).
 */
import type { Aggregate, Resampling, ScoreInput, SampleScore, Scorer } from './scorer.ts';
import { FieldError, requireString, singleAnswer } from './field-error.ts';
import { pyLower, pySlice } from '../common/python-strings.ts';
import { bootstrapCi } from './bootstrap.ts';

/** `eval_type_dict` in calculation.py. */
export const MME_PERCEPTION: readonly string[] = [
  'existence',
  'count',
  'position',
  'color',
  'posters',
  'celebrity',
  'scene',
  'landmark',
  'artwork',
  'OCR',
];
export const MME_COGNITION: readonly string[] = [
  'commonsense_reasoning',
  'numerical_calculation',
  'text_translation',
  'code_reasoning',
];
export const MME_SUBTASKS: readonly string[] = [...MME_PERCEPTION, ...MME_COGNITION];

/**
 * eval.py `post_processing`: drop `\n`; `不是`→No, `是`→Yes, `否`→No (in that order); `lower()`; `true`→yes,
 * `false`→no (substrings too: `'untrue'` → `'unyes'`); delete CJK `[\u4e00-\u9fa5]`.
 */
export function mmePostProcess(response: string): string {
  let r = response
    .replaceAll('\n', '')
    .replaceAll('不是', 'No')
    .replaceAll('是', 'Yes')
    .replaceAll('否', 'No');
  r = pyLower(r).replaceAll('true', 'yes').replaceAll('false', 'no');
  return r.replace(/[\u4e00-\u9fa5]/g, '');
}

/**
 * calculation.py `parse_pred_ans` on the answer as read back from the results file. Quirk: `readlines()` keeps
 * the line's `\n`, so the field is never exactly `'yes'`/`'no'`; the decision is always made on the first four
 * characters of `answer + '\n'`: contains `yes` → yes, elif contains `no` → no, else `other` (counted wrong).
 * So `'not sure'` → no, `'nobody'` → no, `'none'` → no, `'I think yes'` → other, `'y es'` → other.
 */
export function mmeParsePredAns(answer: string): 'yes' | 'no' | 'other' {
  const lower = pyLower(answer);
  if (lower === 'yes' || lower === 'no') return lower;
  const prefix = pySlice(lower, 4);
  if (prefix.includes('yes')) return 'yes';
  if (prefix.includes('no')) return 'no';
  return 'other';
}

/**
 * Full per-question pipeline. Quirk: an answer that contains a TAB splits its results line into more than four
 * fields; calculation.py then hits its bare `except:` and SKIPS the question (not counted in `acc`'s denominator,
 * and its image can no longer be all-correct for `acc_plus`). `skipped` marks that case.
 * Not reproduced: a `\r` in an answer, which Python's universal-newline `readlines()` turns into an extra line,
 * shifting every later pair of that subtask (and usually crashing on `assert len(img_items) == 2`); here `\r` is an
 * ordinary character.
 */
export function mmeJudge(
  prediction: string,
  gt: string,
): { extracted: string; correct: boolean; skipped: boolean } {
  const processed = mmePostProcess(prediction);
  if (processed.includes('\t')) return { extracted: 'skipped', correct: false, skipped: true };
  const extracted = mmeParsePredAns(processed + '\n');
  return { extracted, correct: extracted === pyLower(gt), skipped: false };
}

function requireYesNo(input: ScoreInput): string {
  const s = singleAnswer(input);
  if (pyLower(s) !== 'yes' && pyLower(s) !== 'no') {
    throw new FieldError('answer', `must be Yes or No (calculation.py asserts it), got "${s}"`);
  }
  return s;
}

function requireSubtask(input: ScoreInput, known: readonly string[]): string {
  const c = requireString(input.category, 'category');
  if (!known.includes(c))
    throw new FieldError('category', `"${c}" is not an MME subtask (${known.join(', ')})`);
  return c;
}

/** One image of one subtask: its questions' correctness (skipped questions are absent from `acc` but fail acc+). */
export interface MmeImageGroup {
  readonly subtask: string;
  readonly results: readonly { readonly correct: boolean; readonly skipped: boolean }[];
}

/** The image key: `image`, else VLMEvalKit's `image_path` column; null when neither is a non-empty string. */
export function mmeImageKey(input: ScoreInput): string | null {
  for (const v of [input.image, input.image_path]) if (typeof v === 'string' && v !== '') return v;
  return null;
}

/**
 * Group questions into images: by (`category`, image key) when an image key is given, else consecutive pairs of lines
 * within each subtask in input order (calculation.py's `divide_chunks(lines, 2)`). Returns each image's input rows.
 */
export function mmeImageRows(inputs: readonly ScoreInput[]): { subtask: string; rows: number[] }[] {
  const groups = new Map<string, { subtask: string; rows: number[] }>();
  const pairCounters = new Map<string, number>();
  inputs.forEach((input, i) => {
    const subtask = String(input.category);
    let key: string;
    const image = mmeImageKey(input);
    if (image !== null) {
      key = `${subtask}\u0000img\u0000${image}`;
    } else {
      const n = pairCounters.get(subtask) ?? 0;
      pairCounters.set(subtask, n + 1);
      key = `${subtask}\u0000pair\u0000${Math.floor(n / 2)}`;
    }
    const g = groups.get(key) ?? groups.set(key, { subtask, rows: [] }).get(key)!;
    g.rows.push(i);
  });
  return [...groups.values()];
}

/** The images of `mmeImageRows` with their questions' results. */
export function mmeImageGroups(
  inputs: readonly ScoreInput[],
  results: readonly { correct: boolean; skipped: boolean }[],
): MmeImageGroup[] {
  return mmeImageRows(inputs).map((g) => ({ subtask: g.subtask, results: g.rows.map((i) => results[i]) }));
}

/**
 * Resampling shared with `mme_vlmevalkit`: images redrawn within their subtask (as the aggregate's CI); a draw's
 * score is the MME sum of the drawn images, with `resultOf` turning a sample score into correct / skipped.
 */
export function mmeResampling(
  inputs: readonly ScoreInput[],
  resultOf: (s: SampleScore) => { correct: boolean; skipped: boolean },
  scoresOf: (g: readonly MmeImageGroup[]) => Record<string, number> = (g) => mmeScores(g),
): Resampling {
  const images = mmeImageRows(inputs);
  return {
    units: images.map((g) => g.rows),
    strata: images.map((g) => g.subtask),
    score(drawn, scores) {
      const s = scoresOf(
        drawn.map((u) => ({
          subtask: images[u].subtask,
          results: images[u].rows.map((i) => resultOf(scores[i])),
        })),
      );
      return s.perception + s.cognition;
    },
  };
}

const mmeResult = (s: SampleScore) => ({ correct: s.score === 1, skipped: s.extracted === 'skipped' });

/**
 * Subtask score = `acc*100 + acc_plus*100`: `acc` = correct / counted questions (sklearn `accuracy_score`),
 * `acc_plus` = images with every question correct / images. Perception / Cognition = sums over the subtasks present;
 * MME sum = Perception + Cognition (card unit).
 */
export function mmeScores(
  groups: readonly MmeImageGroup[],
  options: { readonly plusFirst?: number } = {},
): Record<string, number> {
  const per = new Map<string, { correct: number; counted: number; plus: number; images: number }>();
  for (const g of groups) {
    const s =
      per.get(g.subtask) ??
      per.set(g.subtask, { correct: 0, counted: 0, plus: 0, images: 0 }).get(g.subtask)!;
    s.images++;
    let allCorrect = true;
    g.results.forEach((r, k) => {
      if (!r.skipped) {
        s.counted++;
        if (r.correct) s.correct++;
      }
      if (!r.correct && (options.plusFirst === undefined || k < options.plusFirst)) allCorrect = false;
    });
    if (allCorrect) s.plus++;
  }
  const out: Record<string, number> = {};
  let perception = 0;
  let cognition = 0;
  for (const name of MME_SUBTASKS) {
    const s = per.get(name);
    if (!s) continue;
    const acc = s.counted === 0 ? 0 : s.correct / s.counted;
    const score = acc * 100 + (s.plus / s.images) * 100;
    out[name] = score;
    if (MME_PERCEPTION.includes(name)) perception += score;
    else cognition += score;
  }
  out.perception = perception;
  out.cognition = cognition;
  return out;
}

/** Aggregate shared with `mme_vlmevalkit`: MME sum, CI by resampling images within each subtask. */
export function mmeAggregate(
  metric: string,
  groups: readonly MmeImageGroup[],
  n: number,
  scoresOf: (g: readonly MmeImageGroup[]) => Record<string, number> = (g) => mmeScores(g),
): Aggregate {
  const total = (g: readonly MmeImageGroup[]) => {
    const s = scoresOf(g);
    return s.perception + s.cognition;
  };
  const breakdown = scoresOf(groups);
  return {
    metric,
    n,
    score: breakdown.perception + breakdown.cognition,
    ci95: bootstrapCi(groups, total, { strata: groups.map((g) => g.subtask) }),
    breakdown,
    unit: 'sum',
  };
}

export const mmeScorer: Scorer = {
  name: 'mme',
  requires: ['prediction', 'answer|answers', 'category'],
  scoreSample(input): SampleScore {
    requireSubtask(input, MME_SUBTASKS);
    const r = mmeJudge(requireString(input.prediction, 'prediction'), requireYesNo(input));
    return { score: r.correct ? 1 : 0, extracted: r.extracted };
  },
  aggregate(inputs, scores) {
    return mmeAggregate('mme', mmeImageGroups(inputs, scores.map(mmeResult)), inputs.length);
  },
  resampling(inputs) {
    return mmeResampling(inputs, mmeResult);
  },
};
