import { describe, expect, it } from 'vitest';
import { scoreAll, scoreInputFromRecord } from '../../src/metrics/score-records.ts';
import type { PredictionRecord } from '../../src/runner/prediction-record.ts';

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

describe('scoring prediction-log records', () => {
  it('meta fields reach the scorer; a one-element answers list serves single-answer metrics', () => {
    const recs = [
      record('1', 'B', ['B'], { choices: { A: 'cat', B: 'dog' }, category: 'x' }),
      record('2', 'a cat', ['B'], { choices: { A: 'cat', B: 'dog' }, category: 'y' }),
    ];
    const { scores, aggregate } = scoreAll('mcq', recs.map(scoreInputFromRecord));
    expect(scores).toEqual([
      { score: 1, extracted: 'B' },
      { score: 0, extracted: 'A' },
    ]);
    expect(aggregate.breakdown).toEqual({ x: 100, y: 0 });
  });

  it('record fields win over meta fields of the same name', () => {
    const input = scoreInputFromRecord(record('1', 'p', ['a'], { id: 'other', prediction: 'meta' }));
    expect(input.id).toBe('1');
    expect(input.prediction).toBe('p');
  });

  it('a multi-answer list is refused by single-answer metrics with a field error', () => {
    expect(() => scoreAll('seed', [scoreInputFromRecord(record('1', 'A', ['A', 'B']))])).toThrow(
      /field "answers"/,
    );
  });
});
