import { describe, expect, it } from 'vitest';
import { fixture, num } from './fixtures.ts';
import { boxIouF32, parseBox, refcocoHit, refcocoScorer, toPixelBox } from '../../src/metrics/refcoco.ts';

interface Case {
  reason: string;
  prediction: string;
  bbox: [number, number, number, number];
  width: number;
  height: number;
  expected: number;
  iou: number | string;
}

describe('refcoco_acc (InternVL evaluate_grounding.py, float32 like torch; expected from python3 + numpy float32)', () => {
  it.each(fixture<Case[]>('refcoco'))('$reason', ({ prediction, bbox, width, height, expected, iou }) => {
    const r = refcocoHit(prediction, bbox, width, height);
    expect(r.hit ? 1 : 0).toBe(expected);
    expect(r.iou).toBe(num(iou));
  });

  it('parseBox takes the first match and float()s its groups', () => {
    expect(parseBox('<box>[[1, 2, 3, 4]]</box> [[5, 6, 7, 8]]')).toEqual({ box: [1, 2, 3, 4], parsed: true });
    expect(parseBox('[[1, 2], [3, 4]]')).toEqual({ box: [0, 0, 0, 0], parsed: false });
  });

  it('sum >= 4 rule: a 0-1000 box with tiny coordinates is treated as already normalized', () => {
    expect(toPixelBox([0, 0, 1, 2], 100, 100)).toEqual([0, 0, 100, 200]);
    expect(toPixelBox([0, 0, 2, 2], 1000, 1000)).toEqual([0, 0, 2, 2]);
  });

  it('IoU arithmetic is float32 (a float64 computation gives a different value)', () => {
    const a = [0.1, 0.2, 10.3, 10.7] as const;
    const b = [0.3, 0.1, 10.1, 10.9] as const;
    const iou32 = boxIouF32(a, b);
    expect(iou32).toBe(Math.fround(iou32));
    const area = (x: readonly number[]) => (x[2] - x[0]) * (x[3] - x[1]);
    const inter =
      (Math.min(a[2], b[2]) - Math.max(a[0], b[0])) * (Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
    expect(iou32).not.toBe(inter / (area(a) + area(b) - inter));
  });

  it('scorer validates bbox/width/height and returns the pixel box as extracted', () => {
    const ok = refcocoScorer.scoreSample({
      id: '1',
      prediction: '[[0, 0, 500, 500]]',
      bbox: [0, 0, 50, 50],
      width: 100,
      height: 100,
    });
    expect(ok).toEqual({ score: 1, extracted: [0, 0, 50, 50] });
    expect(() =>
      refcocoScorer.scoreSample({ id: '1', prediction: 'x', bbox: [0, 0, 1] as never, width: 1, height: 1 }),
    ).toThrow(/field "bbox"/);
    expect(() =>
      refcocoScorer.scoreSample({ id: '1', prediction: 'x', bbox: [0, 0, 1, 1], height: 1 }),
    ).toThrow(/field "width"/);
  });
});
