/**
 * `writeRunReport(runDir)`: everything a person reads about one run — summary.json, results.md, results.csv,
 * charts/*.png and report.html — rebuilt from the run folder alone (so it can be re-run on a partial run).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { barChartConfig, PALETTE, renderPng } from './charts.ts';
import { renderHtml, toBrowserSample, type BrowserSample } from './html.ts';
import { loadRun, readPredictions } from './run-data.ts';
import { buildSummary, UNIT_MAX, type RunSummary, type SummaryRow } from './summary.ts';
import { renderCsv, renderMarkdown } from './tables.ts';
import { readThumbnailDataUrl } from '../runner/thumbnails.ts';

export interface RunReportFiles {
  summary: string;
  markdown: string;
  csv: string;
  html: string;
  charts: string[];
  /** What summary.json holds, for callers that go on with it (sweep) instead of reading the run again. */
  built: RunSummary;
}

export interface RunReportOptions {
  /** Samples per task kept in the HTML sample browser (default 200). */
  maxSamplesPerTask?: number;
}

const UNIT_LABEL: Record<string, string> = {
  x100: 'score (×100)',
  sum: 'score (sum)',
  '/1000': 'score (out of 1000)',
};

/** One "ours vs card" chart per unit (×100 accuracies, MME sums and OCRBench points do not share an axis). */
export function scoreCharts(summary: RunSummary) {
  const scored = summary.rows.filter((r) => r.score !== null);
  const units = [...new Set(scored.map((r) => r.unit))];
  return units.map((unit) => {
    const rows = scored.filter((r) => r.unit === unit);
    const width = Math.max(500, 120 + rows.length * 90);
    return {
      name: `scores-${unit.replace(/[^a-z0-9]/gi, '') || 'score'}`,
      title: `Ours vs card (${UNIT_LABEL[unit] ?? unit})`,
      width,
      height: 420,
      config: barChartConfig({
        title: `${summary.run}: ours vs card, 95% CI (${UNIT_LABEL[unit] ?? unit})`,
        // A judged score is never shown as if it were the official number.
        labels: rows.map((r) => (r.judge ? `${r.title} (judge: ${r.judge.model})` : r.title)),
        series: [
          {
            label: 'ours',
            values: rows.map((r) => r.score),
            ci: rows.map((r: SummaryRow) => r.ci95),
            color: PALETTE[0],
          },
          { label: 'card', values: rows.map((r) => r.card), color: PALETTE[7] },
        ],
        yLabel: UNIT_LABEL[unit] ?? unit,
        yMax: UNIT_MAX[unit],
      }),
    };
  });
}

export async function writeRunReport(runDir: string, opts: RunReportOptions = {}): Promise<RunReportFiles> {
  const run = await loadRun(runDir);
  const summary = await buildSummary(run);
  const maxSamples = opts.maxSamplesPerTask ?? 200;

  const files: RunReportFiles = {
    summary: path.join(runDir, 'summary.json'),
    markdown: path.join(runDir, 'results.md'),
    csv: path.join(runDir, 'results.csv'),
    html: path.join(runDir, 'report.html'),
    charts: [],
    built: summary,
  };
  await writeFileAtomic(files.summary, JSON.stringify(summary, null, 2) + '\n');
  await writeFileAtomic(files.markdown, renderMarkdown(summary));
  await writeFileAtomic(files.csv, renderCsv(summary));

  const charts = scoreCharts(summary);
  await mkdir(path.join(runDir, 'charts'), { recursive: true });
  for (const c of charts) {
    const file = path.join(runDir, 'charts', `${c.name}.png`);
    await writeFileAtomic(file, renderPng(c.config, c.width, c.height));
    files.charts.push(file);
  }

  const samples: BrowserSample[] = [];
  const sampleCounts: Record<string, number> = {};
  for (const s of run.scores) {
    let count = 0;
    try {
      for await (const r of readPredictions(runDir, s.task)) {
        count++;
        if (count <= maxSamples)
          samples.push(toBrowserSample(r, await readThumbnailDataUrl(runDir, s.task, r.id)));
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    sampleCounts[s.task] = count;
  }
  await writeFileAtomic(
    files.html,
    await renderHtml({
      summary,
      charts: charts.map((c) => ({ title: c.title, config: c.config, width: c.width, height: c.height })),
      samples,
      sampleCounts,
    }),
  );
  return files;
}
