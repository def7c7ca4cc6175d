/**
 * Maps a dataset row (a JSON object, a TSV row, a parquet row) onto Sample fields through the task's `fields`
 * table (`dataset column -> Sample field`, e.g. `questionId: id`, `text: question`, `docId: meta.docId`).
 * Shared by the row-shaped adapters; each adapter supplies its defaults and handles images itself.
 */
import { sampleError } from './adapter.ts';
import type { ImageSource, Sample, SampleError, VideoSource } from './sample.ts';
import type { TaskConfig } from './task.ts';

/** Sample fields a `fields` table may target (besides `meta.NAME`). */
export const MAPPABLE_FIELDS = [
  'id',
  'question',
  'answers',
  'answer',
  'image',
  'images',
  'category',
  'hint',
  'choices',
  'bbox',
  'width',
  'height',
  'video',
] as const;

export interface FieldMap {
  /** Sample field -> dataset column. */
  readonly columns: ReadonlyMap<string, string>;
  /** meta key -> dataset column. */
  readonly meta: ReadonlyMap<string, string>;
}

/** The task's `fields` table if it has one, else the adapter's defaults; unknown targets throw. */
export function fieldMap(task: TaskConfig, defaults: Record<string, string>): FieldMap {
  const table = task.fields ?? defaults;
  const columns = new Map<string, string>();
  const meta = new Map<string, string>();
  for (const [column, target] of Object.entries(table)) {
    if (target.startsWith('meta.')) meta.set(target.slice(5), column);
    else if ((MAPPABLE_FIELDS as readonly string[]).includes(target)) columns.set(target, column);
    else throw new Error(`task ${task.name}: fields."${column}": unknown Sample field "${target}"`);
  }
  return { columns, meta };
}

/** A missing or unusable field: the message is completed by the caller's location (`FILE:LINE: `). */
export class RowFieldError extends Error {}

/** Python/pandas "missing" values: absent, null, NaN, or an empty TSV cell. */
export function isMissing(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'number' && Number.isNaN(v)) || v === '';
}

export function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  throw new RowFieldError(`is ${Array.isArray(v) ? 'a list' : typeof v}, not text`);
}

export function requiredText(row: Record<string, unknown>, column: string | undefined, what: string): string {
  if (!column) throw new RowFieldError(`no column mapped to "${what}"`);
  const v = row[column];
  if (isMissing(v)) throw new RowFieldError(`field "${column}" is missing`);
  try {
    return asText(v);
  } catch (e) {
    throw new RowFieldError(`field "${column}" ${(e as Error).message}`);
  }
}

export function optionalText(row: Record<string, unknown>, column: string | undefined): string | undefined {
  if (!column) return undefined;
  const v = row[column];
  if (isMissing(v)) return undefined;
  try {
    return asText(v);
  } catch (e) {
    throw new RowFieldError(`field "${column}" ${(e as Error).message}`);
  }
}

/** Answers from a list column (`answers`) or a single-answer column (`answer`); [] when neither is mapped. */
export function answersOf(row: Record<string, unknown>, map: FieldMap): string[] {
  const listCol = map.columns.get('answers');
  if (listCol && !isMissing(row[listCol])) {
    const v = row[listCol];
    const list = Array.isArray(v) || ArrayBuffer.isView(v) ? Array.from(v as ArrayLike<unknown>) : [v];
    return list.map((a, i) => {
      try {
        return asText(a);
      } catch (e) {
        throw new RowFieldError(`field "${listCol}"[${i}] ${(e as Error).message}`);
      }
    });
  }
  const one = optionalText(row, map.columns.get('answer'));
  return one === undefined ? [] : [one];
}

/** Copies the meta columns (missing ones are left out). */
export function metaOf(row: Record<string, unknown>, map: FieldMap): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  for (const [key, column] of map.meta) {
    const v = row[column];
    if (!isMissing(v)) meta[key] = typeof v === 'bigint' ? Number(v) : v;
  }
  return meta;
}

/** `{row: "type", equals: "human_test"}` / `notEquals`: which rows belong to the task (ChartQA parts, MMMU split). */
export interface RowFilter {
  column: string;
  equals?: string;
  notEquals?: string;
}

export function rowFilterOf(task: TaskConfig): RowFilter | undefined {
  const f = task.source.options?.filter as RowFilter | undefined;
  if (f === undefined) return undefined;
  if (
    typeof f !== 'object' ||
    typeof f.column !== 'string' ||
    (f.equals === undefined) === (f.notEquals === undefined)
  ) {
    throw new Error(
      `task ${task.name}: source.options.filter needs "column" and one of "equals" / "notEquals"`,
    );
  }
  return f;
}

export function keepRow(row: Record<string, unknown>, f: RowFilter | undefined): boolean {
  if (!f) return true;
  const v = isMissing(row[f.column]) ? '' : String(row[f.column]);
  return f.equals !== undefined ? v === f.equals : v !== f.notEquals;
}

/** Option letters A, B, C, ... for index i. */
export function letter(i: number): string {
  return String.fromCharCode(65 + i);
}

/**
 * The SampleError a row gives for a RowFieldError (`AT: message`, under the row's id). Any other error is not
 * the row's fault (a bug, an unreadable file) and propagates.
 */
export function rowError(task: TaskConfig, id: string, at: string, e: unknown): SampleError {
  if (!(e instanceof RowFieldError)) throw e;
  return sampleError(task, id, `${at}: ${e.message}`);
}

/** What a table row (TSV, parquet) contributes to its Sample besides the mapped `hint` and `category`. */
export interface TableRowParts {
  id: string;
  images: readonly ImageSource[];
  video?: VideoSource;
  question: string;
  answers: readonly string[];
  choices?: Readonly<Record<string, string>>;
  meta: Record<string, unknown>;
}

/** The Sample of a table row: its parts plus `hint` and `category` from their mapped columns. */
export function tableRowSample(
  task: TaskConfig,
  row: Record<string, unknown>,
  map: FieldMap,
  p: TableRowParts,
): Sample {
  return {
    id: p.id,
    task: task.name,
    images: p.images,
    ...(p.video ? { video: p.video } : {}),
    question: p.question,
    answers: p.answers,
    ...(p.choices ? { choices: p.choices } : {}),
    hint: optionalText(row, map.columns.get('hint')),
    category: optionalText(row, map.columns.get('category')),
    meta: p.meta,
  };
}
