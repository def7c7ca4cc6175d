import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures.ts';
import { hallusionbenchScorer, hallusionIds } from '../../src/metrics/hallusionbench.ts';
import type { ScoreInput } from '../../src/metrics/scorer.ts';

interface YornCase {
  reason: string;
  prediction: string;
  expected: string;
}

describe('hallusionbench per question: YOrN extraction then exact compare with the GT (python3 table)', () => {
  it.each(fixture<YornCase[]>('yorn'))('$reason', ({ prediction, expected }) => {
    for (const answer of ['Yes', 'No']) {
      const s = hallusionbenchScorer.scoreSample({
        id: 'x_x_x_0_0_0',
        prediction,
        answer,
        'l2-category': 'VD',
      });
      expect(s).toEqual({ score: expected === answer ? 1 : 0, extracted: expected });
    }
  });
});

describe('hallusionbench (Hallusion_rating: aAcc, fAcc, qAcc, mean; expected from python3)', () => {
  const { rows, expected } = fixture<{ rows: ScoreInput[]; expected: Record<string, number> }>(
    'hallusionbench_aggregate',
  );
  const scores = rows.map((r) => hallusionbenchScorer.scoreSample(r));
  const agg = hallusionbenchScorer.aggregate(rows, scores);

  it.each(['aAcc', 'fAcc', 'qAcc'])('%s', (key) => {
    expect(agg.breakdown[key]).toBeCloseTo(expected[key], 9);
  });

  it('score = (aAcc + fAcc + qAcc) / 3 with a CI around it', () => {
    expect(agg.score).toBeCloseTo(expected.overall, 9);
    expect(agg.ci95[0]).toBeLessThanOrEqual(agg.score);
    expect(agg.ci95[1]).toBeGreaterThanOrEqual(agg.score);
  });

  it('ids come from fixed positions 3, 4, 5 of the index', () => {
    expect(hallusionIds('chart_VD_x_1_2_3')).toEqual({ setId: '1', figureId: '2', questionId: '3' });
    expect(() => hallusionIds('a_b_c')).toThrow(/field "index"/);
  });

  it('unknown extraction is wrong (exact matching, no judge)', () => {
    const s = hallusionbenchScorer.scoreSample({
      id: 'a_b_c_1_2_3',
      prediction: 'maybe',
      answer: 'Yes',
      'l2-category': 'VS',
    });
    expect(s).toEqual({ score: 0, extracted: 'Unknown' });
  });
});
