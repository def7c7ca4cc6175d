import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures.ts';
import {
  canInfer,
  canInferOption,
  canInferText,
  circularGroups,
  extractOption,
  mcqIndex,
  mcqScorer,
} from '../../src/metrics/mcq.ts';
import type { ScoreInput } from '../../src/metrics/scorer.ts';

interface Case {
  reason: string;
  prediction: string;
  choices: Record<string, string>;
  can_infer: string | false;
  extracted: string;
}

describe('can_infer (VLMEvalKit matching_util.py @5e4df734; expected from python3)', () => {
  it.each(fixture<Case[]>('mcq'))('$reason', ({ prediction, choices, can_infer, extracted }) => {
    expect(canInfer(prediction, choices)).toBe(can_infer);
    expect(extractOption(prediction, choices)).toBe(extracted);
  });

  it('option vs text stages', () => {
    const c = { A: 'cat', B: 'dog' };
    expect(canInferOption('a dog', c)).toBe(false);
    expect(canInferText('a dog', c)).toBe('B');
    expect(canInferOption('B', c)).toBe('B');
  });
});

describe('MMBench circular scoring (mcq_circular_eval, exact matching; expected from python3)', () => {
  const { rows, expected } = fixture<{ rows: ScoreInput[]; expected: Record<string, number> }>(
    'mcq_circular',
  );
  const scores = rows.map((r) => mcqScorer.scoreSample(r));

  it('per main question: hit only if every rotation is right', () => {
    const groups = circularGroups(
      rows.map((r) => mcqIndex(r)!),
      scores.map((s) => s.score),
    );
    expect(Object.fromEntries(groups.map((g) => [String(g.main), g.hit]))).toEqual(expected);
  });

  it('aggregate: accuracy over main questions', () => {
    const agg = mcqScorer.aggregate(rows, scores);
    const values = Object.values(expected);
    expect(agg.n).toBe(values.length);
    expect(agg.score).toBeCloseTo((100 * values.reduce((a, b) => a + b, 0)) / values.length, 10);
  });

  it('circular is automatic when rotations exist; vanilla when forced off', () => {
    const vanilla = mcqScorer.aggregate(rows, scores, { circular: false });
    expect(vanilla.n).toBe(rows.length);
    expect(vanilla.score).toBeCloseTo((100 * scores.filter((s) => s.score === 1).length) / rows.length, 10);
  });

  it('rejects bad choices', () => {
    expect(() =>
      mcqScorer.scoreSample({ id: '1', prediction: 'A', answer: 'A', choices: { a: 'x' } }),
    ).toThrow(/field "choices"/);
  });
});
