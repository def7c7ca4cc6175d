import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures.ts';
import { getScorer, scorerNames } from '../../src/metrics/registry.ts';
import type { ScoreInput } from '../../src/metrics/scorer.ts';

/** Samples 0..n-1, every third one wrong (so scores vary and groups mix right and wrong). */
const wrong = (i: number) => i % 3 === 1;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const letters = 'ABCD';
const choices = { A: 'cat', B: 'dog', C: 'fish', D: 'bird' };
const mmeCats = ['existence', 'count', 'OCR', 'code_reasoning'];

interface Case {
  scorer: string;
  label: string;
  inputs: ScoreInput[];
  options?: Record<string, unknown>;
  /** Expected size of each unit, in unit order (grouped metrics). */
  unitSizes?: number[];
  strata?: boolean;
}

const mcqRows = (circular: boolean): ScoreInput[] =>
  range(circular ? 12 : 9).map((i) => {
    // Circular: mains 0..3, each with two rotations 1e6 + m, 2e6 + m (rows 4..11).
    const index = circular ? (i < 4 ? i : Math.floor((i - 4) / 4 + 1) * 1_000_000 + ((i - 4) % 4)) : i;
    const answer = letters[index % 4];
    return { id: String(index), index, prediction: i === 5 ? 'Z' : answer, answer, choices };
  });

const cases: Case[] = [
  ...['anls', 'exact_match', 'mmbench_internvl'].map((scorer) => ({
    scorer,
    label: 'mean of samples',
    inputs: range(9).map((i) => ({
      id: String(i),
      prediction: wrong(i) ? 'B' : 'A',
      answer: 'A',
      answers: ['A'],
      choices,
    })),
  })),
  {
    scorer: 'vqa_accuracy',
    label: 'mean of samples',
    inputs: range(8).map((i) => ({
      id: String(i),
      prediction: 'two',
      answers: [...Array<string>(i % 4).fill('two'), ...Array<string>(10 - (i % 4)).fill('three')],
    })),
  },
  {
    scorer: 'relaxed_accuracy',
    label: 'without split',
    inputs: range(7).map((i) => ({ id: String(i), prediction: wrong(i) ? '9' : '10', answers: ['10'] })),
  },
  {
    scorer: 'relaxed_accuracy',
    label: 'mean of split means, strata',
    strata: true,
    inputs: range(10).map((i) => ({
      id: String(i),
      prediction: i < 3 && wrong(i) ? '9' : '10',
      answers: ['10'],
      split: i < 3 ? 'human' : 'augmented',
    })),
  },
  {
    scorer: 'refcoco_acc',
    label: 'mean of samples',
    inputs: range(6).map((i) => ({
      id: String(i),
      prediction: wrong(i) ? '[[600, 600, 900, 900]]' : '[[0, 0, 500, 500]]',
      bbox: [0, 0, 50, 50],
      width: 100,
      height: 100,
    })),
  },
  {
    scorer: 'mvbench',
    label: 'mean of samples',
    inputs: range(6).map((i) => ({
      id: String(i),
      prediction: wrong(i) ? '(B) dog' : '(A) cat',
      answer: '(A) cat',
    })),
  },
  {
    scorer: 'ocrbench',
    label: 'hit count',
    inputs: range(7).map((i) => ({
      id: String(i),
      prediction: wrong(i) ? 'nothing' : 'the word is Centre',
      answers: ['centre'],
      category: i < 4 ? 'Regular Text Recognition' : 'Doc-oriented VQA',
    })),
  },
  {
    scorer: 'mme',
    label: 'images (pairs) within subtasks',
    strata: true,
    unitSizes: [2, 2, 2, 2, 2, 2, 2, 2],
    inputs: range(16).map((i) => ({
      id: String(i),
      prediction: wrong(i) ? 'No' : 'Yes',
      answer: 'Yes',
      category: mmeCats[Math.floor(i / 4)],
    })),
  },
  {
    scorer: 'mme_vlmevalkit',
    label: 'images keyed by image_path within subtasks',
    strata: true,
    unitSizes: [2, 2, 2, 2, 2, 2],
    inputs: range(12).map((i) => ({
      id: String(i),
      prediction: wrong(i) ? 'No' : 'Yes',
      answer: 'Yes',
      category: mmeCats[Math.floor(i / 4)],
      image_path: `img${Math.floor(i / 2)}.jpg`,
    })),
  },
  { scorer: 'mcq', label: 'vanilla rows', inputs: mcqRows(false) },
  { scorer: 'mcq', label: 'circular groups', inputs: mcqRows(true), unitSizes: [3, 3, 3, 3] },
  {
    scorer: 'seed',
    label: 'without type ids',
    inputs: range(6).map((i) => ({ id: String(i), prediction: wrong(i) ? 'B' : 'A', answer: 'A' })),
  },
  {
    scorer: 'seed',
    label: 'image types only',
    unitSizes: [1, 1, 1, 1],
    inputs: range(6).map((i) => ({
      id: String(i),
      prediction: wrong(i) ? 'B' : 'A',
      answer: 'A',
      question_type_id: i < 4 ? 1 + i : 10,
    })),
  },
  {
    scorer: 'hallusionbench',
    label: 'sets',
    inputs: fixture<{ rows: ScoreInput[] }>('hallusionbench_aggregate').rows,
  },
  {
    scorer: 'videomme',
    label: 'mean over extracted answers',
    inputs: range(7).map((i) => ({
      id: String(i),
      prediction: i === 6 ? 'no idea' : wrong(i) ? 'B' : 'A',
      answer: 'A',
    })),
  },
];

describe('Scorer.resampling (the unit a paired bootstrap redraws)', () => {
  it('has a case for every registered scorer', () => {
    expect([...new Set(cases.map((c) => c.scorer))].sort()).toEqual([...scorerNames].sort());
  });

  it.each(cases)('$scorer ($label): drawing every unit once gives aggregate().score', (c) => {
    const scorer = getScorer(c.scorer);
    const scores = c.inputs.map((input) => scorer.scoreSample(input, c.options));
    const r = scorer.resampling(c.inputs, c.options);
    const all = range(r.units.length);
    expect(r.score(all, scores)).toBeCloseTo(scorer.aggregate(c.inputs, scores, c.options).score, 10);
    // Units are disjoint sets of valid input rows.
    const rows = r.units.flat();
    expect(new Set(rows).size).toBe(rows.length);
    expect(rows.every((i) => Number.isInteger(i) && i >= 0 && i < c.inputs.length)).toBe(true);
    if (c.unitSizes) expect(r.units.map((u) => u.length)).toEqual(c.unitSizes);
    expect(r.strata !== undefined).toBe(c.strata === true);
    if (r.strata) expect(r.strata).toHaveLength(r.units.length);
  });

  it('a mean-of-samples draw counts a sample drawn twice twice', () => {
    const scorer = getScorer('exact_match');
    const inputs = [
      { id: 'a', prediction: 'x', answers: ['x'] },
      { id: 'b', prediction: 'y', answers: ['x'] },
    ];
    const scores = inputs.map((i) => scorer.scoreSample(i));
    const r = scorer.resampling(inputs);
    expect(r.score([0, 0, 1], scores)).toBeCloseTo(200 / 3, 10);
    expect(r.score([1, 1], scores)).toBe(0);
  });

  it('MME: an image drawn twice counts as two images of its subtask (acc and acc+)', () => {
    const scorer = getScorer('mme');
    const inputs = ['Yes', 'No', 'Yes', 'Yes'].map((prediction, i) => ({
      id: String(i),
      prediction,
      answer: 'Yes',
      category: 'existence',
    }));
    const scores = inputs.map((i) => scorer.scoreSample(i));
    const r = scorer.resampling(inputs);
    expect(r.units).toEqual([
      [0, 1],
      [2, 3],
    ]);
    // Image 0 drawn twice: acc 2/4, acc+ 0/2 -> 50; image 1 twice: 100 + 100.
    expect(r.score([0, 0], scores)).toBeCloseTo(50, 10);
    expect(r.score([1, 1], scores)).toBeCloseTo(200, 10);
  });

  it('MMBench circular: a group counts only when all its rotations are right', () => {
    const scorer = getScorer('mcq');
    const inputs = mcqRows(true);
    const scores = inputs.map((i) => scorer.scoreSample(i));
    const r = scorer.resampling(inputs);
    // Row 5 (main 1's first rotation) is wrong: group 1 fails.
    expect(r.units[1]).toContain(5);
    expect(r.score([1], scores)).toBe(0);
    expect(r.score([0, 2], scores)).toBe(100);
  });
});
