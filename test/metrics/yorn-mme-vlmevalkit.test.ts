import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures.ts';
import { yornExtraction } from '../../src/metrics/yorn.ts';
import { mmeVlmevalkitScorer } from '../../src/metrics/mme-vlmevalkit.ts';
import type { ScoreInput } from '../../src/metrics/scorer.ts';

interface Case {
  reason: string;
  prediction: string;
  expected: string;
}

describe('YOrN_Extraction (VLMEvalKit yorn.py + misc.process_punctuation; expected from python3)', () => {
  it.each(fixture<Case[]>('yorn'))('$reason', ({ prediction, expected }) => {
    expect(yornExtraction(prediction)).toBe(expected);
    const s = mmeVlmevalkitScorer.scoreSample({
      id: '1',
      prediction,
      answer: 'No',
      category: 'OCR',
      image: 'a.jpg',
    });
    expect(s).toEqual({ score: expected === 'No' ? 1 : 0, extracted: expected });
  });
});

describe('mme_vlmevalkit aggregate (MME_rating, pairs by image; expected from python3)', () => {
  const { rows, expected } = fixture<{ rows: ScoreInput[]; expected: Record<string, number> }>(
    'mme_vlmevalkit_aggregate',
  );
  const agg = mmeVlmevalkitScorer.aggregate(
    rows,
    rows.map((r) => mmeVlmevalkitScorer.scoreSample(r)),
  );

  it.each(Object.keys(expected))('%s', (key) => {
    expect(agg.breakdown[key]).toBeCloseTo(expected[key], 9);
  });

  it('sum and CI', () => {
    expect(agg.score).toBeCloseTo(expected.perception + expected.cognition, 9);
    expect(agg.ci95[0]).toBeLessThanOrEqual(agg.score);
  });

  it('GT must be exactly Yes/No; a lone question per image is rejected', () => {
    expect(() =>
      mmeVlmevalkitScorer.scoreSample({
        id: '1',
        prediction: 'yes',
        answer: 'yes',
        category: 'count',
        image: 'a',
      }),
    ).toThrow(/field "answer"/);
    const lone = [{ id: '1', prediction: 'Yes', answer: 'Yes', category: 'count', image: 'a' }];
    expect(() =>
      mmeVlmevalkitScorer.aggregate(
        lone,
        lone.map((r) => mmeVlmevalkitScorer.scoreSample(r)),
      ),
    ).toThrow(/field "image"/);
  });
});
