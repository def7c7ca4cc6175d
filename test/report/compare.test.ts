import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareRuns, PairingError, writeComparisons } from '../../src/report/compare.ts';
import { mcnemarExact } from '../../src/report/paired-stats.ts';
import { makeRun, pngSize, taskConfig, type FixtureSample } from './fixture-run.ts';

// 20 AI2D-like samples; B flips 6 right→wrong (ids 0..5) and 1 wrong→right (id 19).
const N = 20;
const answers = Array.from({ length: N }, (_, i) => 'ABCD'[i % 4]);
const rightA = (i: number) => i < 15; // A: 15/20 right
const rightB = (i: number) => (i >= 6 && i < 15) || i === 19; // B: 10/20 right
const samples = (right: (i: number) => boolean): FixtureSample[] =>
  answers.map((a, i) => ({ id: `q${i}`, prediction: right(i) ? a : 'Z', answers: [a] }));

describe('compare', () => {
  it('reports flips, Δ, CI and the McNemar p-value of two runs with known differences', async () => {
    const a = await makeRun('fp16', [{ config: taskConfig('ai2d_test'), samples: samples(rightA) }], {
      variant: 'fp16',
    });
    const b = await makeRun(
      'int4',
      [{ config: taskConfig('ai2d_test'), samples: samples(rightB) }],
      { variant: 'int4' },
      path.dirname(a),
    );
    const c = await compareRuns(a, b);
    expect(c.settingsDiff).toEqual([{ key: 'variant', a: 'fp16', b: 'int4' }]);
    const t = c.tasks[0];
    expect(t.n).toBe(20);
    expect(t.scoreA).toBeCloseTo(75, 10);
    expect(t.scoreB).toBeCloseTo(50, 10);
    // Hand computed: mean(B - A) = (1 - 6) / 20 = -0.25 -> -25 points.
    expect(t.delta).toBeCloseTo(-25, 10);
    expect(t.rightToWrong.map((f) => f.id)).toEqual(['q0', 'q1', 'q2', 'q3', 'q4', 'q5']);
    expect(t.wrongToRight.map((f) => f.id)).toEqual(['q19']);
    // Two-sided exact binomial, n=7, k=1: 2 * (1 + 7) / 128 = 0.125.
    expect(t.pValue).toBeCloseTo(0.125, 12);
    expect(t.pValue).toBe(mcnemarExact(6, 1));
    expect(t.ci95[0]).toBeLessThan(-25);
    expect(t.ci95[1]).toBeGreaterThan(-25);
    expect(t.ci95[1]).toBeLessThanOrEqual(0);

    const out = path.join(path.dirname(a), 'cmp');
    const { files } = await writeComparisons([a, b], out);
    const md = await readFile(files[1], 'utf8');
    expect(md).toContain('right → wrong (6)');
    expect(md).toContain('| AI2D_TEST | 75.0 | 50.0 | -25.00 |');
    expect(pngSize(await readFile(files[2])).height).toBe(420);
  });

  it('uses graded scores without McNemar for ANLS-like metrics', async () => {
    const cfg = taskConfig('docvqa_val', { scorer: { name: 'anls' } });
    const a = await makeRun('a', [
      {
        config: cfg,
        samples: [
          { id: '1', prediction: 'hello', answers: ['hello'] },
          { id: '2', prediction: 'abc', answers: ['abd'] },
        ],
      },
    ]);
    const b = await makeRun(
      'b',
      [
        {
          config: cfg,
          samples: [
            { id: '1', prediction: 'help', answers: ['hello'] },
            { id: '2', prediction: 'abd', answers: ['abd'] },
          ],
        },
      ],
      {},
      path.dirname(a),
    );
    const t = (await compareRuns(a, b)).tasks[0];
    expect(t.pValue).toBeNull();
    // ANLS: '1' goes 1 -> 1 - 2/5 = 0.6 (a drop of 0.4 < 0.5: not a flip); '2' goes 1 - 1/3 -> 1.
    expect(t.delta).toBeCloseTo((100 * (0.6 - 1 + (1 - (1 - 1 / 3)))) / 2, 10);
    expect(t.rightToWrong).toHaveLength(0);
  });

  it('refuses runs over different samples, and over different prompts, saying which', async () => {
    const a = await makeRun('a', [{ config: taskConfig('t'), samples: samples(rightA) }]);
    const fewer = await makeRun(
      'b',
      [{ config: taskConfig('t'), samples: samples(rightA).slice(0, 18) }],
      {},
      path.dirname(a),
    );
    await expect(compareRuns(a, fewer)).rejects.toThrow(PairingError);
    await expect(compareRuns(a, fewer)).rejects.toThrow(/2 only in A: q18, q19/);
    const reworded = await makeRun(
      'c',
      [{ config: taskConfig('t'), samples: samples(rightA).map((s) => ({ ...s, prompt: `${s.id}?` })) }],
      {},
      path.dirname(a),
    );
    await expect(compareRuns(a, reworded)).rejects.toThrow(/different prompts/);
  });
});
