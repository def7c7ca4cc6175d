import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures.ts';
import { evalAiNormalize, processPunctuation, VEK_COMMA_STRIP } from '../../src/metrics/evalai-normalize.ts';
import { vqaAccuracy, vqaAccuracyScorer } from '../../src/metrics/vqa-accuracy.ts';

interface NormCase {
  reason: string;
  input: string;
  expected: string;
}
interface Case {
  reason: string;
  prediction: string;
  answers: string[];
  expected: number;
}

describe('EvalAI answer normalizer (textvqa_eval.py EvalAIAnswerProcessor; expected from python3)', () => {
  it.each(fixture<NormCase[]>('evalai_normalize'))('$reason', ({ input, expected }) => {
    expect(evalAiNormalize(input)).toBe(expected);
  });

  it('process_punctuation: a digit-comma-digit anywhere deletes all punctuation (COMMA_STRIP branch)', () => {
    expect(processPunctuation('a-b 1,2')).toBe('ab 1,2'.replace(',', ''));
    expect(processPunctuation('a-b 1,2', VEK_COMMA_STRIP)).toBe('ab 12');
    expect(processPunctuation('a-b')).toBe('a b');
  });
});

describe('vqa_accuracy (TextVQAAccuracyEvaluator, 10-answer leave-one-out; expected from python3)', () => {
  it.each(fixture<Case[]>('vqa_accuracy'))('$reason', ({ prediction, answers, expected }) => {
    expect(vqaAccuracy(prediction, answers)).toBe(expected);
  });

  it('the scorer enforces exactly ten answers like the reference assert', () => {
    expect(() =>
      vqaAccuracyScorer.scoreSample({ id: 'q', prediction: 'a', answers: ['a', 'a', 'a'] }),
    ).toThrow(/field "answers" must hold exactly 10/);
    const s = vqaAccuracyScorer.scoreSample(
      { id: 'q', prediction: 'a', answers: ['a', 'a', 'a'] },
      { anyAnswerCount: true },
    );
    expect(s.score).toBe(2 / 3); // each leave-one-out subset has 2 of 3 matches
  });

  it('writes the normalized prediction as extracted', () => {
    const s = vqaAccuracyScorer.scoreSample({
      id: 'q',
      prediction: 'Two Dogs.',
      answers: Array(10).fill('2 dogs'),
    });
    expect(s).toEqual({ score: 1, extracted: '2 dogs' });
  });
});
