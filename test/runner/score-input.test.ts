import { describe, expect, it } from 'vitest';
import { getScorer } from '../../src/metrics/registry.ts';
import type { PredictionRecord } from '../../src/runner/prediction-record.ts';
import { scoreInputOf } from '../../src/runner/request.ts';

// Carried over from the deleted metrics/score-records.ts tests: they pin how a prediction-log record becomes a
// scorer input (runner/request.ts scoreInputOf is the one the runner and `score` use).
const record = (
  id: string,
  prediction: string,
  answers: string[],
  meta?: Record<string, unknown>,
): PredictionRecord => ({
  id,
  task: 't',
  promptHash: 'h',
  prompt: 'p',
  tiles: [1],
  imageTokens: 256,
  promptTokens: 300,
  outputTokens: 2,
  latencyMs: 10,
  prediction,
  answers,
  score: null,
  meta,
});

describe('scorer input from a prediction-log record', () => {
  it('meta fields reach the scorer; a one-element answers list serves single-answer metrics', () => {
    const scorer = getScorer('mcq');
    const inputs = [
      record('1', 'B', ['B'], { choices: { A: 'cat', B: 'dog' }, category: 'x' }),
      record('2', 'a cat', ['B'], { choices: { A: 'cat', B: 'dog' }, category: 'y' }),
    ].map(scoreInputOf);
    const scores = inputs.map((i) => scorer.scoreSample(i));
    expect(scores).toEqual([
      { score: 1, extracted: 'B' },
      { score: 0, extracted: 'A' },
    ]);
    expect(scorer.aggregate(inputs, scores).breakdown).toEqual({ x: 100, y: 0 });
  });

  it('record fields win over meta fields of the same name', () => {
    const input = scoreInputOf(
      record('1', 'p', ['a', 'b'], { id: 'other', prediction: 'meta', answer: 'm' }),
    );
    expect(input).toMatchObject({ id: '1', prediction: 'p', answers: ['a', 'b'], answer: 'a' });
  });

  it('single-answer metrics read the first answer (the `answer` field), unlike the deleted score-records.ts', () => {
    const scorer = getScorer('seed');
    expect(scorer.scoreSample(scoreInputOf(record('1', 'A', ['A', 'B'])))).toMatchObject({ score: 1 });
    expect(scorer.scoreSample(scoreInputOf(record('1', 'B', ['A', 'B'])))).toMatchObject({ score: 0 });
  });
});
