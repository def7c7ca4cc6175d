import { describe, expect, it } from 'vitest';
import { getScorer, missingField, scorerNames } from '../../src/metrics/registry.ts';

describe('scorer registry', () => {
  it('lists every metric the score command promises', () => {
    for (const name of [
      'anls',
      'vqa_accuracy',
      'relaxed_accuracy',
      'exact_match',
      'refcoco_acc',
      'mvbench',
      'ocrbench',
      'mme',
      'mme_vlmevalkit',
      'mcq',
      'seed',
      'hallusionbench',
      'videomme',
      'mmbench_internvl',
    ]) {
      expect(getScorer(name).name).toBe(name);
    }
    expect(new Set(scorerNames).size).toBe(scorerNames.length);
  });

  it('an unknown name throws listing the valid names', () => {
    expect(() => getScorer('anls2')).toThrow(/unknown metric "anls2"; valid metrics: anls, vqa_accuracy/);
  });

  it('missingField understands alternatives', () => {
    const anls = getScorer('anls');
    expect(missingField(anls, { prediction: 'x', answer: 'y' })).toBeNull();
    expect(missingField(anls, { prediction: 'x' })).toBe('answers');
    expect(missingField(getScorer('refcoco_acc'), { prediction: 'x', bbox: [1, 2, 3, 4], width: 1 })).toBe(
      'height',
    );
  });
});
