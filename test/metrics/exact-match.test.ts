import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures.ts';
import { exactMatch, exactMatchScorer } from '../../src/metrics/exact-match.ts';

interface Case {
  reason: string;
  prediction: string;
  answers: string[];
  expected: number;
}

describe('exact_match (InternVL evaluate_exact_match_accuracy; expected from python3)', () => {
  it.each(fixture<Case[]>('exact_match'))('$reason', ({ prediction, answers, expected }) => {
    expect(exactMatch(prediction, answers) ? 1 : 0).toBe(expected);
  });

  it('aggregate ×100 with per-category breakdown', () => {
    const inputs = [
      { id: '1', prediction: 'A', answer: 'A', category: 'x' },
      { id: '2', prediction: 'B', answer: 'A', category: 'y' },
    ];
    const agg = exactMatchScorer.aggregate(
      inputs,
      inputs.map((i) => exactMatchScorer.scoreSample(i)),
    );
    expect(agg.score).toBe(50);
    expect(agg.breakdown).toEqual({ x: 100, y: 0 });
  });
});
