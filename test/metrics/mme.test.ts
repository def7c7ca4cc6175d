import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures.ts';
import { mmeJudge, mmeParsePredAns, mmePostProcess, mmeScorer } from '../../src/metrics/mme.ts';
import type { ScoreInput } from '../../src/metrics/scorer.ts';

interface Case {
  reason: string;
  prediction: string;
  answer: string;
  extracted: string;
  expected: number;
}

describe('mme per question (InternVL eval.py post_processing + calculation.py; expected from python3)', () => {
  it.each(fixture<Case[]>('mme'))('$reason', ({ prediction, answer, extracted, expected }) => {
    const r = mmeJudge(prediction, answer);
    expect(r.extracted).toBe(extracted);
    expect(r.correct ? 1 : 0).toBe(expected);
  });

  it('post_processing maps Chinese and true/false, then parse reads 4 chars of answer + newline', () => {
    expect(mmePostProcess('不是的\n')).toBe('no');
    expect(mmePostProcess('TRUE')).toBe('yes');
    expect(mmeParsePredAns('yes')).toBe('yes');
    expect(mmeParsePredAns('yes\n')).toBe('yes');
  });
});

describe('mme aggregate (acc + acc+ per subtask, perception/cognition sums; python3 ran calculation.py logic on real files)', () => {
  const { rows, expected } = fixture<{ rows: ScoreInput[]; expected: Record<string, number> }>(
    'mme_aggregate',
  );
  const scores = rows.map((r) => mmeScorer.scoreSample(r));
  const agg = mmeScorer.aggregate(rows, scores);

  it.each(Object.keys(expected))('%s', (key) => {
    expect(agg.breakdown[key]).toBeCloseTo(expected[key], 9);
  });

  it('MME sum = perception + cognition, in card units', () => {
    expect(agg.score).toBeCloseTo(expected.perception + expected.cognition, 9);
    expect(agg.unit).toBe('sum');
    expect(agg.ci95[0]).toBeLessThanOrEqual(agg.score);
    expect(agg.ci95[1]).toBeGreaterThanOrEqual(agg.score);
  });

  it('without an image key, consecutive pairs within each subtask are the images (divide_chunks)', () => {
    const noImage = rows.map(({ image: _image, ...rest }) => rest as ScoreInput);
    const agg2 = mmeScorer.aggregate(
      noImage,
      noImage.map((r) => mmeScorer.scoreSample(r)),
    );
    expect(agg2.score).toBeCloseTo(agg.score, 9);
  });

  it('rejects non yes/no GT and unknown subtasks', () => {
    expect(() =>
      mmeScorer.scoreSample({ id: '1', prediction: 'yes', answer: 'maybe', category: 'count' }),
    ).toThrow(/field "answer"/);
    expect(() =>
      mmeScorer.scoreSample({ id: '1', prediction: 'yes', answer: 'Yes', category: 'Count' }),
    ).toThrow(/field "category"/);
  });
});
