/**
 * results.md and results.csv: the summary laid out like the model card (image / video / grounding tables).
 * Columns: benchmark, ours, 95% CI, card, Δ, n, errors, tiles/sample, samples/s.
 */
import Papa from 'papaparse';
import { GROUP_TITLES, type RunSummary, type SummaryRow } from './summary.ts';

const GROUP_ORDER: SummaryRow['group'][] = ['image', 'video', 'grounding'];

function fmt(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

/** Digits a card row is printed with: MME sums and OCRBench points as the card prints them. */
function digitsFor(row: SummaryRow): number {
  return row.unit === '/1000' ? 0 : 1;
}

/**
 * The "ours" cell: a judged external task shows the local judge's score with the judge model beside it
 * ("44.1 (judge: gpt-4o)²"), never as a bare number; an unjudged external task shows "external¹".
 */
export function oursCell(r: SummaryRow, digits: number): string {
  if (r.judge) return `${fmt(r.score, digits)} (judge: ${r.judge.model})²`;
  return r.external ? 'external¹' : fmt(r.score, digits);
}

function signed(v: number | null, digits: number): string {
  if (v === null || !Number.isFinite(v)) return '–';
  return `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;
}

/** Markdown cells are escaped so a benchmark title or reason cannot break the table. */
function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function renderMarkdown(summary: RunSummary): string {
  const out: string[] = [];
  out.push(`# Results: ${mdCell(summary.run)}`, '');
  out.push(
    `Model: \`${mdCell(summary.model)}\`${summary.variant ? ` · variant: ${mdCell(summary.variant)}` : ''}`,
  );
  if (summary.createdAt) out.push(`Started: ${summary.createdAt}`);
  out.push('');
  for (const group of GROUP_ORDER) {
    const rows = summary.rows.filter((r) => r.group === group);
    if (!rows.length) continue;
    out.push(`## ${GROUP_TITLES[group]}`, '');
    out.push('| benchmark | ours | 95% CI | card | Δ | n | errors | tiles/sample | samples/s |');
    out.push('|---|---:|---|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      const d = digitsFor(r);
      const ours = mdCell(oursCell(r, d));
      const ci = r.ci95 ? `[${fmt(r.ci95[0], d)}, ${fmt(r.ci95[1], d)}]` : '–';
      const title = r.combinedFrom
        ? `**${mdCell(r.title)}** (mean of ${r.combinedFrom.join(', ')})`
        : mdCell(r.title);
      out.push(
        `| ${title} | ${ours} | ${ci} | ${fmt(r.card, d)} | ${signed(r.delta, d)} | ${r.n} | ${r.errors} | ${fmt(r.tilesPerSample, 2)} | ${fmt(r.samplesPerSec, 2)} |`,
      );
    }
    out.push('');
  }
  const external = summary.rows.filter((r) => r.external && !r.judge);
  if (external.length) {
    out.push(
      '¹ Scored outside this harness (submission server or GPT judge); no local score is computed. Predictions are ' +
        'written in the submission format to the run folder (`submissions/TASK.json` or `.xlsx`, src/runner/submission.ts):',
      '',
    );
    for (const r of external)
      out.push(
        `- ${mdCell(r.title)}: ${mdCell(r.external ?? '')} (file \`submissions/${mdCell(r.task)}.*\`)`,
      );
    out.push('');
  }
  const judged = summary.rows.filter((r) => r.judge);
  if (judged.length) {
    out.push(
      '² Scored locally by the optional judge (`run --judge-endpoint`, src/runner/judge.ts), following the ' +
        "reference's judge prompt and parsing; not the official number, which comes from the official judge or " +
        'server. Predictions are also written in the submission format to `submissions/`:',
      '',
    );
    for (const r of judged)
      out.push(
        `- ${mdCell(r.title)}: judge \`${mdCell(r.judge!.model)}\` at ${mdCell(r.judge!.endpoint)}; official: ${mdCell(r.external ?? '')}`,
      );
    out.push('');
  }
  return out.join('\n');
}

export const CSV_COLUMNS = [
  'group',
  'task',
  'benchmark',
  'metric',
  'unit',
  'ours',
  'ci95_lo',
  'ci95_hi',
  'card',
  'delta',
  'n',
  'errors',
  'tiles_per_sample',
  'image_tokens_per_sample',
  'latency_ms_mean',
  'samples_per_sec',
  'external',
  'judge_model',
] as const;

export function renderCsv(summary: RunSummary): string {
  const num = (v: number | null | undefined) =>
    v === null || v === undefined || !Number.isFinite(v) ? '' : v;
  const data = summary.rows.map((r) => [
    r.group,
    r.task,
    r.title,
    r.metric,
    r.unit,
    num(r.score),
    num(r.ci95?.[0]),
    num(r.ci95?.[1]),
    num(r.card),
    num(r.delta),
    r.n,
    r.errors,
    num(r.tilesPerSample),
    num(r.imageTokensPerSample),
    num(r.latencyMsMean),
    num(r.samplesPerSec),
    r.external ?? '',
    r.judge?.model ?? '',
  ]);
  return Papa.unparse({ fields: [...CSV_COLUMNS], data }) + '\n';
}
