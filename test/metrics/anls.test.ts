import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures.ts';
import { anls, anlsScorer, levenshtein } from '../../src/metrics/anls.ts';

interface Case {
  reason: string;
  prediction: string;
  answers: string[];
  expected: number;
}

describe('anls (InternVL infographicsvqa_eval.py evaluate_method; expected from python3)', () => {
  it.each(fixture<Case[]>('anls'))('$reason', ({ prediction, answers, expected }) => {
    expect(anls(prediction, answers)).toBe(expected);
  });

  it('threshold is a parameter (--anls_threshold)', () => {
    expect(anls('abcde', ['axyze'], 0.3)).toBeCloseTo(0.4, 12);
  });

  it('levenshtein is symmetric and counts code points', () => {
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(levenshtein('sitting', 'kitten')).toBe(3);
    expect(levenshtein('😀', 'a')).toBe(1);
  });

  it('scorer accepts answer or answers and aggregates ×100', () => {
    const inputs = [
      { id: '1', prediction: 'yes', answer: 'yes' },
      { id: '2', prediction: 'no', answers: ['yes'] },
    ];
    const scores = inputs.map((i) => anlsScorer.scoreSample(i));
    expect(scores.map((s) => s.score)).toEqual([1, 0]);
    const agg = anlsScorer.aggregate(inputs, scores);
    expect(agg.score).toBe(50);
    expect(agg.unit).toBe('x100');
    expect(agg.ci95[0]).toBeLessThanOrEqual(50);
    expect(agg.ci95[1]).toBeGreaterThanOrEqual(50);
  });

  it('rejects a missing GT with a field error', () => {
    expect(() => anlsScorer.scoreSample({ id: '1', prediction: 'x' })).toThrow(/field "answers"/);
    expect(() => anlsScorer.scoreSample({ id: '1', prediction: 'x', answers: [] })).toThrow(
      /field "answers"/,
    );
  });
});
