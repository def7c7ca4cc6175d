import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures.ts';
import {
  chartQaCorrect,
  relaxedAccuracyScorer,
  relaxedCorrectness,
  toFloat,
} from '../../src/metrics/relaxed-accuracy.ts';

interface Case {
  reason: string;
  prediction: string;
  answers: string[];
  expected: number;
}

describe('relaxed_accuracy as InternVL calls it (swapped arguments; expected from python3)', () => {
  it.each(fixture<Case[]>('relaxed_accuracy'))('$reason', ({ prediction, answers, expected }) => {
    expect(chartQaCorrect(prediction, answers) ? 1 : 0).toBe(expected);
    expect(relaxedAccuracyScorer.scoreSample({ id: 'x', prediction, answers }).score).toBe(expected);
  });

  it('pix2struct order (unswapped) differs: tolerance relative to target', () => {
    expect(relaxedCorrectness('100', '95.2')).toBe(true); // |95.2-100|/100
    expect(relaxedCorrectness('95.2', '100')).toBe(false); // |100-95.2|/95.2
  });

  it('_to_float: percent divides by 100, failures are null', () => {
    expect(toFloat('50%')).toBe(0.5);
    expect(toFloat('1,000')).toBeNull();
    expect(toFloat('%')).toBeNull();
  });

  it('card ChartQA = unweighted mean of the split accuracies', () => {
    const inputs = [
      { id: 'h1', prediction: '1', answer: '1', split: 'human' },
      { id: 'h2', prediction: '2', answer: '3', split: 'human' },
      { id: 'a1', prediction: '1', answer: '1', split: 'augmented' },
      { id: 'a2', prediction: '1', answer: '1', split: 'augmented' },
      { id: 'a3', prediction: '1', answer: '1', split: 'augmented' },
      { id: 'a4', prediction: '1', answer: '1', split: 'augmented' },
    ];
    const agg = relaxedAccuracyScorer.aggregate(
      inputs,
      inputs.map((i) => relaxedAccuracyScorer.scoreSample(i)),
    );
    expect(agg.breakdown).toEqual({ augmented: 100, human: 50 });
    expect(agg.score).toBe(75); // not 5/6 = 83.3
    expect(agg.ci95[0]).toBeGreaterThanOrEqual(50);
    expect(agg.ci95[1]).toBeLessThanOrEqual(100);
  });
});
