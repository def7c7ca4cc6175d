/**
 * SEED-Image as InternVL scores it: InternVL `internvl_chat/eval/seed/calculation.py` (the raw prediction from
 * `evaluate_seed.py`, whose `post_process` is not applied to what is written).
 */
import type { Aggregate, ScoreInput, Scorer } from './scorer.ts';
import { requireString, singleAnswer } from './field-error.ts';
import { pyFirstChar, pyLen } from '../common/python-strings.ts';
import { meanAggregate, pushTo, sampleMeanResampling, scaledMeanAggregate } from './aggregate-helpers.ts';
import { mean } from './bootstrap.ts';

/** SEED-Bench `question_type_id` (number or numeric string), or null. */
export function seedQuestionType(input: ScoreInput): number | null {
  const raw = input.question_type_id;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  return Number.isInteger(n) ? n : null;
}

/** calculation.py: image questions are `question_type_id` 1..9, video 10..12. */
const isImageType = (t: number | null) => t !== null && t >= 1 && t <= 9;

/**
 * `if len(pred) != 1: pred = pred[0]`; correct iff `pred == gt`. Quirks: no strip (`' B'` → `' '`, wrong), case
 * sensitive (`'b'` ≠ `'B'`), `'B.'` → `'B'` right, `'Because'` → `'B'` right. An empty prediction makes the
 * reference crash (IndexError); here it extracts `''` and is wrong.
 */
export function seedExtract(prediction: string): string {
  return pyLen(prediction) === 1 ? prediction : pyFirstChar(prediction);
}

export const seedScorer: Scorer = {
  name: 'seed',
  requires: ['prediction', 'answer|answers'],
  scoreSample(input) {
    const extracted = seedExtract(requireString(input.prediction, 'prediction'));
    return { score: extracted === singleAnswer(input) ? 1 : 0, extracted };
  },
  /**
   * With `question_type_id` on the records (SEED-Bench.json types 1–12): score = "Image accuracy", the micro
   * accuracy over types 1–9 (the card's SEED-Image 71.6), breakdown = total / image / video accuracy and each
   * type's. Without it: the plain mean, per-`category` breakdown.
   */
  aggregate(inputs, scores): Aggregate {
    const types = inputs.map((i) => seedQuestionType(i));
    if (types.every((t) => t === null)) return meanAggregate('seed', inputs, scores);
    const values = scores.map((s) => s.score);
    const image = values.filter((_, i) => isImageType(types[i]));
    const video = values.filter((_, i) => types[i] !== null && !isImageType(types[i]));
    const breakdown: Record<string, number> = { total: 100 * mean(values) };
    if (image.length > 0) breakdown.image = 100 * mean(image);
    if (video.length > 0) breakdown.video = 100 * mean(video);
    const byType = new Map<number, number[]>();
    types.forEach((t, i) => {
      if (t !== null) pushTo(byType, t, values[i]);
    });
    for (const t of [...byType.keys()].sort((a, b) => a - b))
      breakdown[`type ${t}`] = 100 * mean(byType.get(t)!);
    return scaledMeanAggregate('seed', image, breakdown);
  },
  /** Single samples; with type ids only the image questions (types 1–9), which alone make the score. */
  resampling(inputs) {
    const types = inputs.map((i) => seedQuestionType(i));
    if (types.every((t) => t === null)) return sampleMeanResampling(inputs.length);
    const image = types.flatMap((t, i) => (isImageType(t) ? [i] : []));
    return sampleMeanResampling(inputs.length, 100, image);
  },
};
