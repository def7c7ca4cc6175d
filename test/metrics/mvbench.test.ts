import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures.ts';
import { checkAns, mvbenchScorer } from '../../src/metrics/mvbench.ts';

interface Case {
  reason: string;
  prediction: string;
  answer: string;
  expected: number;
}

describe('mvbench check_ans (InternVL evaluate_mvbench.py; expected from python3)', () => {
  it.each(fixture<Case[]>('mvbench'))('$reason', ({ prediction, answer, expected }) => {
    expect(checkAns(prediction, answer) ? 1 : 0).toBe(expected);
  });

  it('a GT without text after the letter is rejected (the reference crashes on gt_content[-1])', () => {
    expect(() => mvbenchScorer.scoreSample({ id: '1', prediction: 'A', answer: '(A)' })).toThrow(
      /field "answer"/,
    );
  });

  it('micro average with per-task breakdown', () => {
    const inputs = [
      { id: '1', prediction: '(A)', answer: '(A) x', category: 'Action Sequence' },
      { id: '2', prediction: '(B)', answer: '(A) x', category: 'Action Sequence' },
      { id: '3', prediction: '(C)', answer: '(C) y', category: 'Episodic Reasoning' },
    ];
    const agg = mvbenchScorer.aggregate(
      inputs,
      inputs.map((i) => mvbenchScorer.scoreSample(i)),
    );
    expect(agg.score).toBeCloseTo(200 / 3, 10);
    expect(agg.breakdown).toEqual({ 'Action Sequence': 50, 'Episodic Reasoning': 100 });
  });
});
