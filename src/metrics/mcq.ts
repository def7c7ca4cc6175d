/**
 * Multiple-choice option extraction and scoring as VLMEvalKit did it in mid-2024 (InternVL2 numbers):
 * VLMEvalKit @5e4df734 `vlmeval/utils/matching_util.py` (`can_infer_option`, `can_infer_text`, `can_infer`) and
 * `vlmeval/dataset/utils/multiple_choice.py` (`extract_answer_from_item`, `prefetch_circular_group`,
 * `mcq_circular_eval`, `report_acc`), in the `exact_matching` policy (no LLM judge): whatever `can_infer` cannot
 * decide becomes `'Z'`, which is wrong.
 */
import type { Aggregate, Resampling, ScoreInput, Scorer } from './scorer.ts';
import { FieldError, requireString, singleAnswer } from './field-error.ts';
import { pyLower, pySplit, pyStrip } from '../common/python-strings.ts';
import { bootstrapCi, mean } from './bootstrap.ts';
import { groupMeans, sampleMeanResampling } from './aggregate-helpers.ts';

export type Choices = Readonly<Record<string, string>>;

/** `reject_to_answer` in `can_infer_option`: any of these in the answer → `'Z'`. */
const REJECT_TO_ANSWER: readonly string[] = [
  "Sorry, I can't help with images of people yet.",
  "I can't process this file.",
  "I'm sorry, but without the image provided",
  'Cannot determine the answer',
];

/**
 * `can_infer_option`: false if `'Failed to obtain answer via API'` occurs; `'Z'` on a reject string; replace each
 * of `.()[],:;!*#{}` by a space, `split()`; if exactly ONE choice letter occurs as a whole token → that letter;
 * if none does and `'Z'` is a token → `'Z'`; else false. Quirks: `'A'` as an English article counts (`'A dog'`
 * → A; the guard against it only runs with the VERBOSE env var, off by default); two letters (`'A or B'`) → false;
 * lower-case letters never count; a hyphenated `'A-B'` is one token.
 */
export function canInferOption(answer: string, choices: Choices): string | false {
  if (answer.includes('Failed to obtain answer via API')) return false;
  for (const err of REJECT_TO_ANSWER) if (answer.includes(err)) return 'Z';
  let mod = answer;
  for (const c of '.()[],:;!*#{}') mod = mod.replaceAll(c, ' ');
  const splits = pySplit(mod).map((x) => pyStrip(x));
  const keys = Object.keys(choices);
  const count = keys.filter((k) => splits.includes(k)).length;
  if (count === 1) {
    for (const ch of keys) if (splits.includes(ch)) return ch;
  } else if (count === 0 && splits.includes('Z')) {
    // `count_choice(splits, {'Z', ''}) == 1`: '' is never a token of split(), so this is "'Z' is a token".
    return 'Z';
  }
  return false;
}

/**
 * `can_infer_text`: lowercase answer and option texts; if exactly one option text is a substring of the answer →
 * its letter, else false. Quirks: an empty option text is a substring of everything; an option that is a substring
 * of another (`'cat'` / `'cats'`) makes both match → false.
 */
export function canInferText(answer: string, choices: Choices): string | false {
  const a = pyLower(answer);
  const cands = Object.keys(choices).filter((k) => a.includes(pyLower(String(choices[k]))));
  return cands.length === 1 ? cands[0] : false;
}

/** `can_infer(answer, choices)` = `can_infer_option` or else `can_infer_text` (`'Z'` is truthy and returned). */
export function canInfer(answer: string, choices: Choices): string | false {
  return canInferOption(answer, choices) || canInferText(answer, choices);
}

/** `extract_answer_from_item` under `exact_matching`: `can_infer` or `'Z'`. */
export function extractOption(prediction: string, choices: Choices): string {
  return canInfer(prediction, choices) || 'Z';
}

/** The single uppercase letters A..Z, VLMEvalKit's option columns (`build_choices`). */
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * `choices` as `{letter: text}` with single uppercase-letter keys and string texts, else a FieldError. Without a
 * `choices` field, VLMEvalKit-style letter columns (`A`, `B`, ... with non-empty values) are used, in alphabetical
 * order, as `build_choices` does.
 */
export function requireChoices(input: ScoreInput): Choices {
  if (input.choices === undefined) {
    const fromColumns: Record<string, string> = {};
    for (const k of LETTERS) {
      const v = input[k];
      if (v === undefined || v === null || v === '') continue;
      if (typeof v !== 'string' && typeof v !== 'number') throw new FieldError(k, 'must be an option text');
      fromColumns[k] = String(v);
    }
    if (Object.keys(fromColumns).length === 0) {
      throw new FieldError('choices', 'is missing (give "choices": {"A": ..} or option columns A, B, ..)');
    }
    return fromColumns;
  }
  const c = input.choices as unknown;
  if (typeof c !== 'object' || c === null || Array.isArray(c)) {
    throw new FieldError('choices', 'must be an object like {"A": "text", "B": "text"}');
  }
  for (const [k, v] of Object.entries(c)) {
    // can_infer_text asserts `k in string.ascii_uppercase`.
    if (!/^[A-Z]$/.test(k)) throw new FieldError('choices', `key "${k}" is not a single uppercase letter`);
    if (typeof v !== 'string') throw new FieldError('choices', `value of "${k}" must be a string`);
  }
  return c as Choices;
}

export const MMBENCH_CIRCULAR_OFFSET = 1_000_000;

/** The integer MMBench index: the `index` field, else `id` (must be an integer for circular scoring). */
export function mcqIndex(input: ScoreInput): number | null {
  const raw = input.index ?? input.id;
  const n =
    typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  return Number.isInteger(n) ? n : null;
}

export interface McqOptions {
  /** Circular (MMBench/CCBench) grouping; default: on when some record's index is >= 1e6. */
  readonly circular?: boolean;
}

/**
 * MMBench circular scoring (`mcq_circular_eval` + `prefetch_circular_group`): rows with `index >= 1e6` are
 * option-rotated copies of `index % 1e6`; a main question (index < 1e6) scores 1 only if EVERY row of its group
 * (itself and its rotations) has an extracted letter equal to its own GT. Rows whose main index is absent are not
 * scored (groups are built from main rows). Returns, per main question, its hit and its rows.
 */
export function circularGroups(
  indices: readonly number[],
  hits: readonly number[],
): { main: number; rows: number[]; hit: number }[] {
  const byMain = new Map<number, number[]>();
  indices.forEach((idx, i) => {
    const m = idx % MMBENCH_CIRCULAR_OFFSET;
    (byMain.get(m) ?? byMain.set(m, []).get(m)!).push(i);
  });
  const out: { main: number; rows: number[]; hit: number }[] = [];
  indices.forEach((idx) => {
    if (idx >= MMBENCH_CIRCULAR_OFFSET) return;
    const rows = byMain.get(idx)!;
    out.push({ main: idx, rows, hit: rows.every((r) => hits[r] === 1) ? 1 : 0 });
  });
  return out;
}

export const mcqScorer: Scorer<McqOptions> = {
  name: 'mcq',
  requires: ['prediction', 'answer|answers', 'choices|A'],
  scoreSample(input) {
    const choices = requireChoices(input);
    const gt = singleAnswer(input);
    const extracted = extractOption(requireString(input.prediction, 'prediction'), choices);
    return { score: extracted === gt ? 1 : 0, extracted };
  },
  /**
   * Vanilla: accuracy ×100 over rows. Circular: accuracy ×100 over main questions, CI resampling main questions;
   * breakdown per `category` (and `l2-category`) over main questions, like `report_acc`.
   */
  aggregate(inputs, scores, options): Aggregate {
    const hits = scores.map((s) => s.score);
    const indices = inputs.map(mcqIndex);
    const auto = indices.some((i) => i !== null && i >= MMBENCH_CIRCULAR_OFFSET);
    const circular = options?.circular ?? auto;
    if (!circular) {
      const breakdown = {
        ...groupMeans(inputs, hits, 'l2-category', 100),
        ...groupMeans(inputs, hits, 'category', 100),
      };
      return {
        metric: 'mcq',
        n: hits.length,
        score: 100 * mean(hits),
        ci95: bootstrapCi(hits, (r) => 100 * mean(r)),
        breakdown,
        unit: 'x100',
      };
    }
    const missing = indices.findIndex((i) => i === null);
    if (missing >= 0)
      throw new FieldError(
        'index',
        `record "${inputs[missing].id}" has no integer index (needed for circular scoring)`,
      );
    const groups = circularGroups(indices as number[], hits);
    const mainInputs = groups.map(
      (g) => inputs[g.rows.find((r) => (indices[r] as number) < MMBENCH_CIRCULAR_OFFSET)!],
    );
    const groupHits = groups.map((g) => g.hit);
    return {
      metric: 'mcq',
      n: groups.length,
      score: 100 * mean(groupHits),
      ci95: bootstrapCi(groupHits, (r) => 100 * mean(r)),
      breakdown: {
        ...groupMeans(mainInputs, groupHits, 'l2-category', 100),
        ...groupMeans(mainInputs, groupHits, 'category', 100),
      },
      unit: 'x100',
    };
  },
  /** Vanilla: single rows. Circular: one unit per main question holding its group's rows (all must be right). */
  resampling(inputs, options): Resampling {
    const indices = inputs.map(mcqIndex);
    const circular = options?.circular ?? indices.some((i) => i !== null && i >= MMBENCH_CIRCULAR_OFFSET);
    if (!circular) return sampleMeanResampling(inputs.length);
    const missing = indices.findIndex((i) => i === null);
    if (missing >= 0)
      throw new FieldError(
        'index',
        `record "${inputs[missing].id}" has no integer index (needed for circular scoring)`,
      );
    const groups = circularGroups(indices as number[], new Array<number>(inputs.length).fill(0));
    const units = groups.map((g) => g.rows);
    return {
      units,
      score: (drawn, scores) =>
        drawn.length === 0
          ? NaN
          : (100 * drawn.filter((u) => units[u].every((r) => scores[r].score === 1)).length) / drawn.length,
    };
  },
};
