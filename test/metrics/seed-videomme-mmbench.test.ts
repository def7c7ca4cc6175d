import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures.ts';
import { seedExtract, seedScorer } from '../../src/metrics/seed.ts';
import { extractCharactersRegex, videommeScorer } from '../../src/metrics/videomme.ts';
import { mmbenchPostProcess } from '../../src/metrics/mmbench-internvl.ts';

describe('seed (InternVL seed/calculation.py: first character; expected from python3)', () => {
  interface Case {
    reason: string;
    prediction: string;
    answer: string;
    extracted: string;
    expected: number;
  }
  it.each(fixture<Case[]>('seed'))('$reason', ({ prediction, answer, extracted, expected }) => {
    expect(seedExtract(prediction)).toBe(extracted);
    expect(seedScorer.scoreSample({ id: 'x', prediction, answer }).score).toBe(expected);
  });
});

describe('videomme extract_characters_regex (VLMEvalKit utils/videomme.py; expected from python3)', () => {
  interface Case {
    reason: string;
    prediction: string;
    expected: string;
  }
  it.each(fixture<Case[]>('videomme'))('$reason', ({ prediction, expected }) => {
    expect(extractCharactersRegex(prediction)).toBe(expected);
  });

  it("'' scores -1 and is excluded from the mean; rejected count in the breakdown", () => {
    const inputs = [
      { id: '1', prediction: 'A', answer: 'A', duration: 'short' },
      { id: '2', prediction: 'B', answer: 'A', duration: 'short' },
      { id: '3', prediction: 'no idea', answer: 'A', duration: 'long' },
    ];
    const scores = inputs.map((i) => videommeScorer.scoreSample(i));
    expect(scores.map((s) => s.score)).toEqual([1, 0, -1]);
    const agg = videommeScorer.aggregate(inputs, scores);
    expect(agg.score).toBe(50);
    expect(agg.breakdown).toEqual({ short: 50, rejected: 1 });
  });
});

describe('mmbench_internvl post_process (InternVL evaluate_mmbench.py; expected from python3)', () => {
  interface Case {
    reason: string;
    prediction: string;
    choices: Record<string, string>;
    expected: string;
    referenceCrashes: boolean;
  }
  it.each(fixture<Case[]>('mmbench_internvl'))('$reason', ({ prediction, choices, expected }) => {
    expect(mmbenchPostProcess(prediction, choices)).toBe(expected);
  });
});

describe('seed aggregate with question_type_id (calculation.py Image accuracy = types 1-9, micro)', () => {
  it('scores image types only; total/image/video and per-type in the breakdown', () => {
    const mk = (id: string, t: number, ok: boolean) => ({
      id,
      prediction: ok ? 'A' : 'B',
      answer: 'A',
      question_type_id: t,
    });
    const inputs = [
      mk('1', 1, true),
      mk('2', 1, false),
      mk('3', 9, true),
      mk('4', 10, false),
      mk('5', 12, false),
    ];
    const agg = seedScorer.aggregate(
      inputs,
      inputs.map((i) => seedScorer.scoreSample(i)),
    );
    expect(agg.n).toBe(3);
    expect(agg.score).toBeCloseTo(200 / 3, 10);
    expect(agg.breakdown).toEqual({
      total: 40,
      image: 100 * (2 / 3),
      video: 0,
      'type 1': 50,
      'type 9': 100,
      'type 10': 0,
      'type 12': 0,
    });
  });
});
