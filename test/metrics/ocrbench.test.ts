import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures.ts';
import { OCRBENCH_CATEGORIES, ocrbenchHit, ocrbenchScorer } from '../../src/metrics/ocrbench.ts';

interface Case {
  reason: string;
  prediction: string;
  answers: string[];
  category: string;
  expected: number;
}

describe('ocrbench (VLMEvalKit OCRBench.evaluate; expected from python3)', () => {
  it.each(fixture<Case[]>('ocrbench'))('$reason', ({ prediction, answers, category, expected }) => {
    expect(ocrbenchHit(prediction, answers, category) ? 1 : 0).toBe(expected);
  });

  it('score is the hit count; Text Recognition sums six categories; five groups sum to the final score', () => {
    const inputs = OCRBENCH_CATEGORIES.flatMap((category, k) => [
      { id: `${k}a`, prediction: 'hit', answers: ['hit'], category },
      { id: `${k}b`, prediction: 'miss', answers: ['hit'], category },
    ]);
    const agg = ocrbenchScorer.aggregate(
      inputs,
      inputs.map((i) => ocrbenchScorer.scoreSample(i)),
    );
    expect(agg.score).toBe(10);
    expect(agg.unit).toBe('/1000');
    expect(agg.breakdown['Text Recognition']).toBe(6);
    expect(agg.breakdown['Scene Text-centric VQA']).toBe(1);
    expect(agg.breakdown['Handwritten Mathematical Expression Recognition']).toBe(1);
    expect(agg.breakdown['Digit String Recognition']).toBe(1);
    expect(agg.ci95[0]).toBeLessThanOrEqual(10);
    expect(agg.ci95[1]).toBeGreaterThanOrEqual(10);
  });

  it('unknown categories are rejected (KeyError in the reference)', () => {
    expect(() =>
      ocrbenchScorer.scoreSample({ id: '1', prediction: 'a', answers: ['a'], category: 'Other' }),
    ).toThrow(/field "category"/);
  });
});
