/**
 * `compare RUN_A RUN_B [...]`: per task, join per-sample results by id and say whether B differs from A for real:
 * the paired difference with a bootstrap CI, McNemar's exact test for 0/1 metrics, and the flips (right→wrong,
 * wrong→right) with their samples. Runs whose samples or prompts differ cannot be paired; we refuse and say why.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PredictionRecord } from '../runner/prediction-record.ts';
import { barChartConfig, PALETTE, renderPng } from './charts.ts';
import { isBinary, mcnemarExact, pairedDifference } from './paired-stats.ts';
import { loadPredictions, loadRun, type RunData } from './run-data.ts';

export interface Flip {
  id: string;
  prompt: string;
  answers: string[];
  predictionA: string;
  predictionB: string;
  scoreA: number;
  scoreB: number;
}

export interface TaskComparison {
  task: string;
  title: string;
  metric: string;
  unit: string;
  /** Pairs with a score on both sides (errored / external samples are left out and counted). */
  n: number;
  excluded: number;
  /** Aggregates as each run reported them, in card units. */
  scoreA: number;
  scoreB: number;
  /** Mean per-sample difference B − A, ×100 for 0..1 scores (points), with its paired bootstrap CI. */
  delta: number;
  ci95: [number, number];
  /** McNemar's exact two-sided p for 0/1 metrics; null for graded metrics (ANLS, VQA accuracy). */
  pValue: number | null;
  /** Binary metrics: A right, B wrong. Graded metrics: B lower by at least 0.5. */
  rightToWrong: Flip[];
  wrongToRight: Flip[];
}

export interface RunComparison {
  runA: string;
  runB: string;
  /** Settings that differ between the two manifests (informational: variant, max tiles, ...). */
  settingsDiff: { key: string; a: unknown; b: unknown }[];
  tasks: TaskComparison[];
  /** Tasks present in only one run. */
  skippedTasks: string[];
}

export class PairingError extends Error {}

/** Top-level manifest settings worth showing side by side. */
function flatten(obj: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = obj;
  }
  return out;
}

const VOLATILE_KEYS =
  /(^|\.)(startedAt|endedAt|status|wallSeconds|commandLine|pid|host|out|outDir|resume|shard|quiet)$/;

export function manifestDiff(a: Record<string, unknown>, b: Record<string, unknown>) {
  const fa = flatten(a.config ?? a);
  const fb = flatten(b.config ?? b);
  const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort();
  return keys
    .filter((k) => !VOLATILE_KEYS.test(k) && JSON.stringify(fa[k]) !== JSON.stringify(fb[k]))
    .map((k) => ({ key: k, a: fa[k], b: fb[k] }));
}

/**
 * Pair two tasks' records by id. Refuses (PairingError) when the sample sets differ or when a sample's prompt or
 * ground truth differs, because then B − A no longer measures the model change alone.
 */
export function pairRecords(task: string, a: PredictionRecord[], b: PredictionRecord[]) {
  const byIdA = new Map(a.map((r) => [r.id, r]));
  const byIdB = new Map(b.map((r) => [r.id, r]));
  const onlyA = a.filter((r) => !byIdB.has(r.id)).map((r) => r.id);
  const onlyB = b.filter((r) => !byIdA.has(r.id)).map((r) => r.id);
  if (onlyA.length || onlyB.length) {
    const show = (ids: string[]) => ids.slice(0, 5).join(', ') + (ids.length > 5 ? ', ...' : '');
    throw new PairingError(
      `${task}: the runs hold different samples (${onlyA.length} only in A${onlyA.length ? `: ${show(onlyA)}` : ''}; ` +
        `${onlyB.length} only in B${onlyB.length ? `: ${show(onlyB)}` : ''}); run both on the same samples (same --limit/--shard)`,
    );
  }
  const pairs: [PredictionRecord, PredictionRecord][] = [];
  for (const ra of a) {
    const rb = byIdB.get(ra.id)!;
    if (ra.prompt !== rb.prompt) {
      throw new PairingError(
        `${task}: sample ${ra.id} was asked with different prompts (A: ${JSON.stringify(ra.prompt.slice(0, 80))}, ` +
          `B: ${JSON.stringify(rb.prompt.slice(0, 80))}); compare runs made with the same prompt recipe`,
      );
    }
    if (JSON.stringify(ra.answers) !== JSON.stringify(rb.answers)) {
      throw new PairingError(`${task}: sample ${ra.id} has different ground truth in the two runs`);
    }
    pairs.push([ra, rb]);
  }
  return pairs;
}

export function compareTask(
  meta: { task: string; title: string; metric: string; unit: string; scoreA: number; scoreB: number },
  a: PredictionRecord[],
  b: PredictionRecord[],
): TaskComparison {
  const pairs = pairRecords(meta.task, a, b);
  const scored = pairs.filter(([ra, rb]) => typeof ra.score === 'number' && typeof rb.score === 'number');
  const sa = scored.map(([ra]) => ra.score as number);
  const sb = scored.map(([, rb]) => rb.score as number);
  const binary = isBinary(sa) && isBinary(sb);
  const diff = pairedDifference(sa, sb, 100);
  const flip = ([ra, rb]: [PredictionRecord, PredictionRecord]): Flip => ({
    id: ra.id,
    prompt: ra.prompt,
    answers: ra.answers,
    predictionA: ra.prediction,
    predictionB: rb.prediction,
    scoreA: ra.score as number,
    scoreB: rb.score as number,
  });
  const threshold = binary ? 1 : 0.5;
  const rightToWrong = scored
    .filter(([ra, rb]) => (ra.score as number) - (rb.score as number) >= threshold)
    .map(flip);
  const wrongToRight = scored
    .filter(([ra, rb]) => (rb.score as number) - (ra.score as number) >= threshold)
    .map(flip);
  return {
    ...meta,
    n: scored.length,
    excluded: pairs.length - scored.length,
    delta: diff.delta,
    ci95: diff.ci95,
    pValue: binary ? mcnemarExact(rightToWrong.length, wrongToRight.length) : null,
    rightToWrong,
    wrongToRight,
  };
}

export async function compareRuns(dirA: string, dirB: string): Promise<RunComparison> {
  const [runA, runB]: RunData[] = await Promise.all([loadRun(dirA), loadRun(dirB)]);
  const tasks: TaskComparison[] = [];
  const skippedTasks: string[] = [];
  for (const sa of runA.scores) {
    const sb = runB.scores.find((s) => s.task === sa.task);
    if (!sb || !sa.aggregate || !sb.aggregate) {
      skippedTasks.push(sa.task);
      continue;
    }
    tasks.push(
      compareTask(
        {
          task: sa.task,
          title: sa.title,
          metric: sa.metric,
          unit: sa.aggregate.unit,
          scoreA: sa.aggregate.score,
          scoreB: sb.aggregate.score,
        },
        await loadPredictions(dirA, sa.task),
        await loadPredictions(dirB, sb.task),
      ),
    );
  }
  for (const sb of runB.scores) if (!runA.scores.some((s) => s.task === sb.task)) skippedTasks.push(sb.task);
  return {
    runA: runA.name,
    runB: runB.name,
    settingsDiff: manifestDiff(runA.manifest, runB.manifest),
    tasks,
    skippedTasks,
  };
}

function fmtP(p: number | null): string {
  if (p === null) return '–';
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

export function renderComparisonMarkdown(c: RunComparison, maxFlips = 10): string {
  const out: string[] = [`# ${c.runB} vs ${c.runA}`, ''];
  if (c.settingsDiff.length) {
    out.push('Settings that differ:', '');
    for (const d of c.settingsDiff)
      out.push(`- \`${d.key}\`: ${JSON.stringify(d.a)} → ${JSON.stringify(d.b)}`);
    out.push('');
  }
  out.push(
    '| benchmark | A | B | Δ per sample (points) | 95% CI | McNemar p | right→wrong | wrong→right | n |',
  );
  out.push('|---|---:|---:|---:|---|---:|---:|---:|---:|');
  for (const t of c.tasks) {
    const d = t.unit === '/1000' ? 0 : 1;
    out.push(
      `| ${t.title} | ${t.scoreA.toFixed(d)} | ${t.scoreB.toFixed(d)} | ${t.delta >= 0 ? '+' : ''}${t.delta.toFixed(2)} | ` +
        `[${t.ci95[0].toFixed(2)}, ${t.ci95[1].toFixed(2)}] | ${fmtP(t.pValue)} | ${t.rightToWrong.length} | ${t.wrongToRight.length} | ${t.n} |`,
    );
  }
  out.push('');
  out.push(
    'Δ is the mean per-sample score difference B − A ×100 with a paired bootstrap CI; a CI that excludes 0 (or McNemar p < 0.05) says the change is unlikely to be noise.',
    '',
  );
  for (const t of c.tasks) {
    for (const [name, flips] of [
      ['right → wrong', t.rightToWrong],
      ['wrong → right', t.wrongToRight],
    ] as const) {
      if (!flips.length) continue;
      out.push(`## ${t.title}: ${name} (${flips.length})`, '');
      for (const f of flips.slice(0, maxFlips)) {
        out.push(
          `- \`${f.id}\`: A ${JSON.stringify(f.predictionA)} (${f.scoreA}) → B ${JSON.stringify(f.predictionB)} (${f.scoreB}); answers ${JSON.stringify(f.answers)}`,
        );
      }
      if (flips.length > maxFlips) out.push(`- ... ${flips.length - maxFlips} more in compare.json`);
      out.push('');
    }
  }
  if (c.skippedTasks.length)
    out.push(`Tasks in only one run (not compared): ${c.skippedTasks.join(', ')}`, '');
  return out.join('\n');
}

/** Write compare.json, compare.md and a Δ-per-benchmark chart for B (and further runs) against A. */
export async function writeComparisons(
  dirs: string[],
  outDir: string,
): Promise<{ files: string[]; comparisons: RunComparison[] }> {
  if (dirs.length < 2) throw new Error('compare needs at least two run folders');
  await mkdir(outDir, { recursive: true });
  const comparisons: RunComparison[] = [];
  for (const other of dirs.slice(1)) comparisons.push(await compareRuns(dirs[0], other));
  const files = [
    path.join(outDir, 'compare.json'),
    path.join(outDir, 'compare.md'),
    path.join(outDir, 'compare-delta.png'),
  ];
  await writeFile(files[0], JSON.stringify(comparisons, null, 2) + '\n');
  await writeFile(files[1], comparisons.map((c) => renderComparisonMarkdown(c)).join('\n'));
  const labels = [...new Set(comparisons.flatMap((c) => c.tasks.map((t) => t.title)))];
  const config = barChartConfig({
    title: `Δ per benchmark vs ${comparisons[0].runA} (per-sample points, 95% paired CI)`,
    labels,
    series: comparisons.map((c, i) => ({
      label: c.runB,
      values: labels.map((l) => c.tasks.find((t) => t.title === l)?.delta ?? null),
      ci: labels.map((l) => c.tasks.find((t) => t.title === l)?.ci95 ?? null),
      color: PALETTE[(i + 1) % PALETTE.length],
    })),
    yLabel: 'Δ (points)',
  });
  await writeFile(files[2], renderPng(config, Math.max(500, 120 + labels.length * 90), 420));
  return { files, comparisons };
}
