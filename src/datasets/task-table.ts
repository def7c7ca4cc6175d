/** Rows for `datasets list`: what each task is, where its data comes from, how big it is, and the card value. */
import type { TaskDefinition } from './task-config.ts';

export interface TaskRow {
  name: string;
  title: string;
  group: string;
  format: string;
  source: string;
  samples?: number;
  card?: number;
  /** The card row this task is part of, when the card combines several tasks (ChartQA). */
  cardRow?: string;
  scorer: string;
  external: boolean;
}

export function taskRow(t: TaskDefinition): TaskRow {
  const s = t.source;
  const source = s.hub
    ? `hf:${s.hub.type === 'dataset' ? 'datasets/' : ''}${s.hub.repo}${s.hub.revision ? '@' + s.hub.revision : ''}`
    : `local:${s.path}`;
  return {
    name: t.name,
    title: t.title,
    group: t.group,
    format: s.format,
    source,
    ...(t.samples !== undefined ? { samples: t.samples } : {}),
    ...(t.report.card !== undefined ? { card: t.report.card } : {}),
    ...(t.report.combine ? { cardRow: `${t.report.combine.row} (${t.report.combine.how})` } : {}),
    scorer: t.scorer.name,
    external: t.external !== undefined,
  };
}

/** Plain-text table, one task per line. */
export function formatTaskTable(rows: readonly TaskRow[]): string {
  const head = ['task', 'title', 'format', 'source', 'samples', 'card', 'scored'];
  const body = rows.map((r) => [
    r.name,
    r.title,
    r.format,
    r.source,
    r.samples !== undefined ? String(r.samples) : '-',
    r.card !== undefined ? String(r.card) + (r.cardRow ? ` [${r.cardRow}]` : '') : '-',
    r.external ? 'external' : r.scorer,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
