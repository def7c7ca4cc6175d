/**
 * `sweep`: the grid of tile caps (and numeric variants) is run by src/runner/sweep-grid.ts; this module adds each
 * run's report, charts accuracy against tiles with image tokens and latency on a second axis, tabulates it, and
 * optionally gates each variant against the first.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import Papa from 'papaparse';
import type { ChartConfiguration } from 'chart.js';
import { runSweepGrid, type GridRun, type SweepGridOptions } from '../runner/sweep-grid.ts';
import { writeReportStep } from './run-with-report.ts';
import { PALETTE, renderPng } from './charts.ts';
import { loadRun } from './run-data.ts';
import { buildSummary, type SummaryRow } from './summary.ts';
import { GateInputError, type PairedGateResult } from './gate.ts';
import { renderGateMarkdown } from './gate-report.ts';
import { gateRuns } from './gate-runs.ts';
import type { Thresholds } from './gate-thresholds.ts';

export interface SweepOptions extends SweepGridOptions {
  /**
   * End with a gate of each variant against the first at every tile cap (`sweep --gate-max-drop`): the allowed
   * drop and/or a thresholds file, as `gate` takes them.
   */
  gate?: { maxDrop?: number; thresholds?: Thresholds | null };
}

/** One variant-vs-first gate of the sweep: its result, or why the runs could not be gated (exit status 2). */
export interface SweepGate {
  baseline: string;
  candidate: string;
  result?: PairedGateResult;
  error?: string;
}

export interface SweepPoint extends GridRun {
  rows: SummaryRow[];
}

export interface SweepResult {
  points: SweepPoint[];
  files: string[];
  /** With `gate`: one per (later variant, tile cap); `exitCode` 0 all pass, 1 a task failed, 2 a gate could not run. */
  gates?: SweepGate[];
  exitCode?: 0 | 1 | 2;
}

export function sweepChartConfig(task: string, points: SweepPoint[]): ChartConfiguration {
  const tiles = [...new Set(points.map((p) => p.maxTiles))].sort((a, b) => a - b);
  const variants = [...new Set(points.map((p) => p.variant))];
  const row = (v: string, t: number) =>
    points.find((p) => p.variant === v && p.maxTiles === t)?.rows.find((r) => r.task === task);
  const datasets: Record<string, unknown>[] = [];
  variants.forEach((v, i) => {
    datasets.push({
      label: `${v} score`,
      data: tiles.map((t) => row(v, t)?.score ?? null),
      ci: tiles.map((t) => row(v, t)?.ci95 ?? null),
      borderColor: PALETTE[i % PALETTE.length],
      backgroundColor: PALETTE[i % PALETTE.length],
      yAxisID: 'y',
    });
  });
  const first = variants[0];
  datasets.push({
    label: 'image tokens / sample',
    data: tiles.map((t) => row(first, t)?.imageTokensPerSample ?? null),
    borderColor: '#7f7f7f',
    backgroundColor: '#7f7f7f',
    borderDash: [6, 4],
    yAxisID: 'y1',
  });
  variants.forEach((v, i) => {
    datasets.push({
      label: `${v} latency ms / sample`,
      data: tiles.map((t) => row(v, t)?.latencyMsMean ?? null),
      borderColor: PALETTE[(i + 3) % PALETTE.length],
      backgroundColor: PALETTE[(i + 3) % PALETTE.length],
      borderDash: [2, 3],
      yAxisID: 'y2',
    });
  });
  const unit = row(first, tiles[0])?.unit ?? '';
  return {
    type: 'line',
    data: { labels: tiles.map(String), datasets: datasets as never },
    options: {
      animation: false,
      responsive: false,
      plugins: { title: { display: true, text: `${task}: score vs max tiles` } },
      scales: {
        x: { title: { display: true, text: 'max tiles' } },
        y: {
          position: 'left',
          beginAtZero: true,
          suggestedMax: unit === 'x100' ? 100 : undefined,
          title: { display: true, text: `score (${unit})` },
        },
        y1: {
          position: 'right',
          beginAtZero: true,
          grid: { drawOnChartArea: false },
          title: { display: true, text: 'image tokens / sample' },
        },
        y2: {
          position: 'right',
          beginAtZero: true,
          grid: { drawOnChartArea: false },
          title: { display: true, text: 'latency ms / sample' },
        },
      },
    },
  };
}

export async function runSweep(
  opts: SweepOptions,
  log: (line: string) => void = () => {},
): Promise<SweepResult> {
  const { gate, ...gridOpts } = opts;
  const out = opts.out;
  if (gate && (opts.variants?.length ?? 0) < 2)
    throw new Error(
      'sweep: gating compares variants; give at least two --variant values (the first is the baseline)',
    );
  const points: SweepPoint[] = [];
  await runSweepGrid(gridOpts, log, async (run) => {
    // A run made now gets its report at once (and its summary from it); a reused one keeps the report it has.
    const step = run.reused ? {} : await writeReportStep(run.runDir);
    if (step.note) log(step.note);
    const summary = step.summary ?? (await buildSummary(await loadRun(run.runDir)));
    points.push({ ...run, rows: summary.rows });
  });
  const files: string[] = [];
  const tasks = [
    ...new Set(points.flatMap((p) => p.rows.filter((r) => r.score !== null).map((r) => r.task))),
  ];
  for (const task of tasks) {
    const file = path.join(out, `sweep-${task.replace(/[^A-Za-z0-9_.-]/g, '_')}.png`);
    await writeFile(file, renderPng(sweepChartConfig(task, points), 900, 450));
    files.push(file);
  }
  const table = points.flatMap((p) =>
    p.rows.map((r) => ({
      variant: p.variant,
      max_tiles: p.maxTiles,
      task: r.task,
      score: r.score ?? '',
      ci95_lo: r.ci95?.[0] ?? '',
      ci95_hi: r.ci95?.[1] ?? '',
      n: r.n,
      errors: r.errors,
      tiles_per_sample: r.tilesPerSample ?? '',
      image_tokens_per_sample: r.imageTokensPerSample ?? '',
      latency_ms_mean: r.latencyMsMean ?? '',
      run: path.basename(p.runDir),
    })),
  );
  const csvFile = path.join(out, 'sweep.csv');
  await writeFile(csvFile, Papa.unparse(table) + '\n');
  files.push(csvFile);
  const md = [
    '| variant | max tiles | task | score | 95% CI | tiles/sample | image tokens/sample | latency ms |',
    '|---|---:|---|---:|---|---:|---:|---:|',
    ...table.map(
      (r) =>
        `| ${r.variant} | ${r.max_tiles} | ${r.task} | ${typeof r.score === 'number' ? r.score.toFixed(1) : '–'} | ${typeof r.ci95_lo === 'number' ? `[${r.ci95_lo.toFixed(1)}, ${(r.ci95_hi as number).toFixed(1)}]` : '–'} | ${typeof r.tiles_per_sample === 'number' ? r.tiles_per_sample.toFixed(2) : '–'} | ${typeof r.image_tokens_per_sample === 'number' ? r.image_tokens_per_sample.toFixed(0) : '–'} | ${typeof r.latency_ms_mean === 'number' ? r.latency_ms_mean.toFixed(0) : '–'} |`,
    ),
  ].join('\n');
  const mdFile = path.join(out, 'sweep.md');
  await writeFile(mdFile, md + '\n');
  files.push(mdFile);
  if (!gate) return { points, files };
  const { gates, exitCode } = await gateSweep(points, gate);
  const gateMd = path.join(out, 'gate.md');
  await writeFile(
    gateMd,
    gates
      .map((g) =>
        g.result
          ? renderGateMarkdown(g.result)
          : `### Regression gate: ${g.candidate} vs ${g.baseline}: not run\n\n${g.error}\n`,
      )
      .join('\n'),
  );
  const gateJson = path.join(out, 'gate.json');
  await writeFile(gateJson, JSON.stringify(gates, null, 2) + '\n');
  files.push(gateMd, gateJson);
  return { points, files, gates, exitCode };
}

/** Each later variant against the first, tile cap by tile cap (only the variant differs between the two runs). */
async function gateSweep(
  points: readonly SweepPoint[],
  gate: NonNullable<SweepOptions['gate']>,
): Promise<{ gates: SweepGate[]; exitCode: 0 | 1 | 2 }> {
  const first = points[0].variant;
  const gates: SweepGate[] = [];
  for (const p of points.filter((x) => x.variant !== first)) {
    const base = points.find((x) => x.variant === first && x.maxTiles === p.maxTiles)!;
    const g: SweepGate = { baseline: path.basename(base.runDir), candidate: path.basename(p.runDir) };
    try {
      g.result = await gateRuns(base.runDir, p.runDir, {
        flags: { maxDrop: gate.maxDrop },
        thresholds: gate.thresholds ?? null,
      });
    } catch (e) {
      if (!(e instanceof GateInputError)) throw e;
      g.error = e.message;
    }
    gates.push(g);
  }
  const exitCode = gates.some((g) => g.error) ? 2 : gates.some((g) => g.result!.exitCode !== 0) ? 1 : 0;
  return { gates, exitCode };
}
