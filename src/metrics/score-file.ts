/**
 * Re-scoring prediction files (the `score` command's library side): read JSONL or CSV/TSV records, check them,
 * score each with a named metric, aggregate, and write every record back with `score` / `extracted` — atomically
 * (temp file + rename), so a bad input never leaves a half-written output.
 *
 * Input formats, by file extension:
 *  - `.csv` / `.tsv`: a header row with the JSONL field names (papaparse). Cells of the JSON-valued columns
 *    `answers`, `choices`, `bbox` are parsed as JSON text (`["a","b"]`, `{"A":"cat"}`, `[1,2,3,4]`); cells of
 *    `width`, `height`, `index` become numbers when they are numeric; everything else stays a string; empty cells
 *    count as absent.
 *  - anything else: JSONL, one JSON object per line (blank lines skipped).
 * Records need `id` (or VLMEvalKit's `index`) and `prediction`, plus what the metric needs (see each scorer's
 * `requires`); VLMEvalKit-style files also work for `mcq` (option columns `A`, `B`, ...), `mme_vlmevalkit`
 * (`image_path`) and `ocrbench` (`answer` as a Python list literal).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import Papa from 'papaparse';
import { writeFileAtomic } from '../common/atomic-write.ts';
import type { Aggregate, SampleScore, ScoreInput, Scorer } from './scorer.ts';
import { getScorer, missingField } from './registry.ts';
import { FieldError, describe } from './field-error.ts';

/** A located input record: the parsed object and the 1-based line where it starts. */
export interface LocatedRecord {
  readonly line: number;
  readonly record: Record<string, unknown>;
}

export interface ScoreFileOptions {
  /** Where to write the scored records (JSONL, or CSV/TSV by extension); none: nothing is written. */
  readonly output?: string;
  /** Passed to the scorer's `scoreSample` / `aggregate`. */
  readonly scorerOptions?: Record<string, unknown>;
}

export interface ScoreFileResult {
  readonly aggregate: Aggregate;
  /** Every input record with `score` and (where the metric extracts) `extracted` added. */
  readonly records: Record<string, unknown>[];
}

/** An input problem located at `FILE:LINE:` (or `FILE:` for whole-file problems). */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

const JSON_COLUMNS = new Set(['answers', 'choices', 'bbox']);
const NUMERIC_COLUMNS = new Set(['width', 'height', 'index']);

function isDelimited(file: string): ',' | '\t' | null {
  const ext = path.extname(file).toLowerCase();
  return ext === '.csv' ? ',' : ext === '.tsv' ? '\t' : null;
}

/** Parse JSONL text into located records; a line that is not a JSON object is an InputError. */
export function parseJsonl(text: string, file: string): LocatedRecord[] {
  const out: LocatedRecord[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new InputError(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InputError(`${file}:${i + 1}: a line must be a JSON object, got ${describe(value)}`);
    }
    out.push({ line: i + 1, record: value as Record<string, unknown> });
  });
  return out;
}

/** Parse CSV/TSV text (header row) into located records, decoding JSON-valued and numeric columns. */
export function parseDelimited(text: string, file: string, delimiter: ',' | '\t'): LocatedRecord[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const parsed = Papa.parse<string[]>(body, { delimiter, skipEmptyLines: false });
  if (parsed.errors.length > 0) {
    const err = parsed.errors[0];
    throw new InputError(`${file}:${(err.row ?? 0) + 1}: ${err.message}`);
  }
  const rows = parsed.data;
  if (rows.length === 0) return [];
  const header = rows[0].map((h) => h.trim());
  // Papaparse does not report line numbers; count the physical lines each row spans (quoted cells may hold \n).
  let line = 1 + physicalLines(rows[0], delimiter);
  const out: LocatedRecord[] = [];
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r];
    const startLine = line;
    line += physicalLines(row, delimiter);
    if (row.length === 1 && row[0].trim() === '') continue;
    if (row.length !== header.length) {
      throw new InputError(`${file}:${startLine}: ${row.length} columns, the header has ${header.length}`);
    }
    const record: Record<string, unknown> = {};
    header.forEach((name, c) => {
      const cell = row[c];
      if (cell === '') return;
      if (JSON_COLUMNS.has(name)) {
        try {
          record[name] = JSON.parse(cell);
        } catch {
          throw new InputError(
            `${file}:${startLine}: field "${name}" must be JSON text (e.g. ["a","b"]), got "${cell}"`,
          );
        }
      } else if (NUMERIC_COLUMNS.has(name) && /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/.test(cell)) {
        record[name] = Number(cell);
      } else {
        record[name] = cell;
      }
    });
    out.push({ line: startLine, record });
  }
  return out;
}

function physicalLines(row: readonly string[], delimiter: string): number {
  let n = 1;
  for (const cell of row) for (const ch of cell) if (ch === '\n') n++;
  void delimiter;
  return n;
}

/** Read a prediction file (JSONL, CSV or TSV by extension). */
export async function readRecords(file: string): Promise<LocatedRecord[]> {
  const text = await readFile(file, 'utf8');
  const delimiter = isDelimited(file);
  return delimiter ? parseDelimited(text, file, delimiter) : parseJsonl(text, file);
}

/**
 * Check and score located records with a scorer: `id` (string or number) and `prediction` (string) are required,
 * then the scorer's `requires`; a FieldError from the scorer is reported as `FILE:LINE: field "x" ...`.
 */
export function scoreRecords(
  located: readonly LocatedRecord[],
  scorer: Scorer<any>,
  file: string,
  scorerOptions?: Record<string, unknown>,
): ScoreFileResult {
  if (located.length === 0) throw new InputError(`${file}: no records`);
  const inputs: ScoreInput[] = [];
  const scores: SampleScore[] = [];
  for (const { line, record } of located) {
    const where = `${file}:${line}:`;
    // VLMEvalKit prediction files have `index` instead of `id`.
    const id = record.id ?? record.index;
    if (typeof id !== 'string' && typeof id !== 'number') {
      throw new InputError(`${where} field "id" must be a string (got ${describe(id)})`);
    }
    if (typeof record.prediction !== 'string') {
      throw new InputError(
        `${where} field "prediction" must be a string (got ${describe(record.prediction)})`,
      );
    }
    const missing = missingField(scorer, record);
    if (missing)
      throw new InputError(`${where} field "${missing}" is missing (metric ${scorer.name} needs it)`);
    const input = { ...record, id: String(id) } as ScoreInput;
    try {
      scores.push(scorer.scoreSample(input, scorerOptions));
    } catch (e) {
      if (e instanceof FieldError) throw new InputError(`${where} ${e.message}`);
      throw e;
    }
    inputs.push(input);
  }
  let aggregate: Aggregate;
  try {
    aggregate = scorer.aggregate(inputs, scores, scorerOptions);
  } catch (e) {
    if (e instanceof FieldError) throw new InputError(`${file}: ${e.message}`);
    throw e;
  }
  const records = located.map(({ record }, i) => {
    const out: Record<string, unknown> = { ...record, score: scores[i].score };
    if (scores[i].extracted !== undefined) out.extracted = scores[i].extracted;
    return out;
  });
  return { aggregate, records };
}

/** Serialize scored records: JSONL, or CSV/TSV (objects and arrays as JSON text) when the path says so. */
export function serializeRecords(records: readonly Record<string, unknown>[], file: string): string {
  const delimiter = isDelimited(file);
  if (!delimiter) return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const columns: string[] = [];
  for (const r of records) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
  const rows = records.map((r) =>
    columns.map((c) => {
      const v = r[c];
      if (v === undefined || v === null) return '';
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    }),
  );
  return Papa.unparse({ fields: columns, data: rows }, { delimiter, newline: '\n' }) + '\n';
}

/** Score a prediction file with a named metric; writes the scored records to `options.output` on success only. */
export async function scoreFile(
  file: string,
  metric: string,
  options: ScoreFileOptions = {},
): Promise<ScoreFileResult> {
  const scorer = getScorer(metric);
  const located = await readRecords(file);
  const result = scoreRecords(located, scorer, file, options.scorerOptions);
  if (options.output) await writeFileAtomic(options.output, serializeRecords(result.records, options.output));
  return result;
}

/** The `--json` summary: `{"metric","n","score","ci95":[lo,hi],"breakdown":{...},"unit"}`. */
export function aggregateJson(a: Aggregate): string {
  return JSON.stringify({
    metric: a.metric,
    n: a.n,
    score: a.score,
    ci95: a.ci95,
    breakdown: a.breakdown,
    unit: a.unit,
  });
}

/** A readable table of an aggregate. */
export function formatAggregate(a: Aggregate): string {
  const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));
  const lines = [
    `metric  ${a.metric}`,
    `n       ${a.n}`,
    `score   ${fmt(a.score)} (${a.unit})  95% CI [${fmt(a.ci95[0])}, ${fmt(a.ci95[1])}]`,
  ];
  const entries = Object.entries(a.breakdown);
  if (entries.length > 0) {
    const width = Math.max(...entries.map(([k]) => k.length));
    lines.push('breakdown:');
    for (const [k, v] of entries) lines.push(`  ${k.padEnd(width)}  ${fmt(v)}`);
  }
  return lines.join('\n');
}
