import { readFile } from 'node:fs/promises';
import Papa from 'papaparse';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { getScorer } from '../../src/metrics/registry.ts';
import { writeRunReport, type RunReportFiles } from '../../src/report/run-report.ts';
import type { RunSummary } from '../../src/report/summary.ts';
import { makeRun, pngSize, taskConfig } from './fixture-run.ts';

// Two ChartQA-like splits combined into one card row (mean), one AI2D-like exact-match task with an error,
// and an external task. Expected numbers are computed from the real scorers, not typed in.
const human = Array.from({ length: 8 }, (_, i) => ({
  id: `h${i}`,
  prediction: i < 5 ? '12' : '13',
  answers: ['12'],
}));
const augmented = Array.from({ length: 4 }, (_, i) => ({
  id: `a${i}`,
  prediction: i < 3 ? '7' : 'x',
  answers: ['7'],
}));
const ai2d = [
  { id: 'q1', prediction: 'A', answers: ['A'] },
  { id: 'q2', prediction: 'b ', answers: ['B'] },
  { id: 'q3', prediction: 'C', answers: ['D'] },
  { id: 'q4', prediction: '', answers: ['A'], error: 'images/q4.png: not an image' },
  { id: 'q5', prediction: '<script>alert(1)</script>', answers: ['A'] },
];

let dir: string;
let files: RunReportFiles;
let summary: RunSummary;

beforeAll(async () => {
  const combine = {
    row: 'ChartQA test',
    tasks: ['chartqa_human', 'chartqa_augmented'],
    how: 'mean' as const,
  };
  dir = await makeRun('run-a', [
    {
      config: taskConfig('chartqa_human', {
        scorer: { name: 'relaxed_accuracy' },
        report: { card: 76.2, combine },
      }),
      samples: human,
    },
    {
      config: taskConfig('chartqa_augmented', {
        scorer: { name: 'relaxed_accuracy' },
        report: { card: 76.2, combine },
      }),
      samples: augmented,
    },
    { config: taskConfig('ai2d_test', { title: 'AI2D test', report: { card: 74.1 } }), samples: ai2d },
    {
      config: taskConfig('mmvet', {
        title: 'MMVet',
        external: { reason: 'GPT-4 judge (MM-Vet evaluator)', submissionFormat: 'mmvet-json' },
      }),
      samples: [{ id: 'm1', prediction: 'a cat', answers: [] }],
    },
  ]);
  files = await writeRunReport(dir);
  summary = JSON.parse(await readFile(files.summary, 'utf8'));
});

describe('writeRunReport', () => {
  it('summary rows equal the scorer aggregates', () => {
    const sc = getScorer('exact_match');
    const ok = ai2d.filter((s) => !s.error);
    const scores = ok.map((s) => sc.scoreSample({ id: s.id, prediction: s.prediction, answers: s.answers }));
    const agg = sc.aggregate(
      ok.map((s) => ({ id: s.id, prediction: s.prediction, answers: s.answers })),
      scores,
    );
    const row = summary.rows.find((r) => r.task === 'ai2d_test')!;
    expect(row.score).toBeCloseTo(agg.score, 10);
    expect(row.ci95).toEqual(agg.ci95);
    expect(row.errors).toBe(1);
    expect(row.n).toBe(5);
    expect(row.delta).toBeCloseTo(agg.score - 74.1, 10);
  });

  it('combines ChartQA splits into one card row as the mean of the split scores', () => {
    const h = summary.rows.find((r) => r.task === 'chartqa_human')!;
    const a = summary.rows.find((r) => r.task === 'chartqa_augmented')!;
    const c = summary.rows.find((r) => r.task === 'ChartQA test')!;
    expect(h.score).toBeCloseTo(100 * (5 / 8), 10);
    expect(a.score).toBeCloseTo(100 * (3 / 4), 10);
    expect(c.score).toBeCloseTo((h.score! + a.score!) / 2, 10);
    expect(c.card).toBe(76.2);
    expect(h.card).toBeNull();
    expect(c.combinedFrom).toEqual(['chartqa_human', 'chartqa_augmented']);
    expect(c.ci95![0]).toBeLessThanOrEqual(c.score!);
    expect(c.ci95![1]).toBeGreaterThanOrEqual(c.score!);
  });

  it('marks external tasks instead of scoring them', () => {
    const m = summary.rows.find((r) => r.task === 'mmvet')!;
    expect(m.external).toMatch(/GPT-4 judge/);
  });

  it('writes markdown and CSV with the same numbers', async () => {
    const md = await readFile(files.markdown, 'utf8');
    const ai = summary.rows.find((r) => r.task === 'ai2d_test')!;
    expect(md).toContain(`| AI2D test | ${ai.score!.toFixed(1)} |`);
    expect(md).toContain('external¹');
    const csv = Papa.parse<Record<string, string>>(await readFile(files.csv, 'utf8'), {
      header: true,
      skipEmptyLines: true,
    });
    const row = csv.data.find((r) => r.task === 'ai2d_test')!;
    expect(Number(row.ours)).toBeCloseTo(ai.score!, 10);
    expect(Number(row.errors)).toBe(1);
    expect(csv.data).toHaveLength(summary.rows.length);
  });

  it('renders non-empty PNG charts of the expected size', async () => {
    expect(files.charts.length).toBeGreaterThan(0);
    for (const f of files.charts) {
      const png = await readFile(f);
      const { width, height } = pngSize(png);
      expect(height).toBe(420);
      expect(width).toBeGreaterThanOrEqual(500);
      // Non-empty: the bars put more than one colour on the white canvas.
      const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
      let nonWhite = 0;
      for (let i = 0; i < data.length; i += info.channels)
        if (data[i] < 250 || data[i + 1] < 250 || data[i + 2] < 250) nonWhite++;
      expect(nonWhite / (info.width * info.height)).toBeGreaterThan(0.01);
    }
  });

  it('marks each row of the HTML table with its card check', async () => {
    const html = await readFile(files.html, 'utf8');
    const verdicts = [...html.matchAll(/<tr><td>([^<]*)<\/td>.*?data-verdict="([^"]*)"/g)].map((m) => [
      m[1],
      m[2],
    ]);
    // 4 and 12 scored samples: too few to claim anything; splits and external tasks have no card value.
    expect(verdicts).toEqual([
      ['AI2D test', 'inconclusive'],
      ['CHARTQA_HUMAN', 'no card value'],
      ['CHARTQA_AUGMENTED', 'no card value'],
      ['ChartQA test', 'inconclusive'],
      ['MMVet', 'no card value'],
    ]);
    expect(html).toContain('title="only 4 scored samples (fewer than min-samples 30)"');
  });

  it('escapes predictions in the HTML', async () => {
    const html = await readFile(files.html, 'utf8');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('\\u003cscript\\u003ealert(1)\\u003c/script\\u003e');
  });
});
