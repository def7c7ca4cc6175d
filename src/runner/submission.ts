/**
 * Submission files for tasks whose official score is computed outside this harness (`external:` in the task
 * YAML): `results/RUN/submissions/TASK.json|xlsx`, in the layout the reference script writes and the server or
 * judge expects. Built from the finished prediction log; failed samples are written with an empty prediction
 * (the server then counts them wrong) and counted.
 *
 * Formats (`external.submissionFormat`, eval-protocols.md §4.2, §4.6, §4.7, §5.5):
 * - `rrc-docvqa-json`, `rrc-infovqa-json`: `[{"questionId": N, "answer": "..."}]` for the RRC server
 *   (InternVL `eval/vqa/evaluate_vqa.py`, docvqa_test / infographicsvqa_test branch; lmms-eval `docvqa` utils
 *   also send `int(questionId)`).
 * - `mmvet-json`: `{"v1_<question_id>": "<answer>"}` for the MM-Vet evaluator (InternVL
 *   `eval/mmvet/evaluate_mmvet.py`).
 * - `mmbench-xlsx`: the source TSV minus some columns plus `prediction` after InternVL's `post_process`
 *   (InternVL `eval/mmbench/evaluate_mmbench.py`, `evaluate_chat_model`).
 * - `vlmevalkit-xlsx`: the source TSV minus `image` plus `prediction` last, as VLMEvalKit's inference writes the
 *   file that `run.py --mode eval` reads (VLMEvalKit `vlmeval/inference.py`, `infer_data_job`).
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import writeExcelFile, { type Cell, type SheetData } from 'write-excel-file/node';
import { writeFileAtomicSync } from '../common/atomic-write.ts';
import { readTaskTsvTable, type TsvTableRow } from '../datasets/formats/tsv-table.ts';
import type { TaskConfig } from '../datasets/task.ts';
import { mmbenchPostProcess } from '../metrics/mmbench-internvl.ts';
import { readManifest } from './manifest.ts';
import { readPredictionLog, sortRecords } from './prediction-log.ts';
import type { PredictionRecord } from './prediction-record.ts';

/** Folder of a run that holds the submission files. */
export const SUBMISSIONS_DIR = 'submissions';

export const SUBMISSION_FORMATS = {
  'rrc-docvqa-json': 'json',
  'rrc-infovqa-json': 'json',
  'mmvet-json': 'json',
  'mmbench-xlsx': 'xlsx',
  'vlmevalkit-xlsx': 'xlsx',
} as const;

export type SubmissionFormat = keyof typeof SUBMISSION_FORMATS;

export interface SubmissionResult {
  /** Absolute path of the file written. */
  file: string;
  format: SubmissionFormat;
  /** Rows / entries written. */
  rows: number;
  /** Samples that failed (written with an empty prediction). */
  failed: number;
  /** Things a reader of the file should know (failed samples, where the columns came from). */
  notes: string[];
}

export interface SubmissionOptions {
  /** Dataset root of the run (`--data-root`); default: the task's cached hub snapshot. Used by the xlsx formats. */
  dataRoot?: string;
}

export function isSubmissionFormat(format: string): format is SubmissionFormat {
  return Object.hasOwn(SUBMISSION_FORMATS, format);
}

/** `submissions/TASK.EXT`, relative to the run folder. */
export function submissionPath(taskName: string, format: SubmissionFormat): string {
  return path.join(SUBMISSIONS_DIR, `${taskName}.${SUBMISSION_FORMATS[format]}`);
}

/** Writes the task's submission file from its finished prediction log. Throws for a task with no known format. */
export async function writeSubmission(
  runDir: string,
  task: TaskConfig,
  records: readonly PredictionRecord[],
  opts: SubmissionOptions = {},
): Promise<SubmissionResult> {
  const format = task.external?.submissionFormat;
  if (format === undefined) throw new Error(`task ${task.name}: has no external.submissionFormat`);
  if (!isSubmissionFormat(format)) {
    throw new Error(
      `task ${task.name}: external.submissionFormat "${format}" is not one this harness writes ` +
        `(known: ${Object.keys(SUBMISSION_FORMATS).join(', ')})`,
    );
  }
  const file = path.join(path.resolve(runDir), submissionPath(task.name, format));
  const failed = records.filter((r) => r.error !== undefined).length;
  const notes: string[] = [];
  let rows: number;
  let bytes: Uint8Array;
  if (format === 'rrc-docvqa-json' || format === 'rrc-infovqa-json') {
    const entries = rrcEntries(records);
    rows = entries.length;
    bytes = Buffer.from(JSON.stringify(entries, null, 1) + '\n');
  } else if (format === 'mmvet-json') {
    const entries = mmvetEntries(records);
    rows = Object.keys(entries).length;
    bytes = Buffer.from(JSON.stringify(entries, null, 1) + '\n');
  } else {
    const sheet = await xlsxSheet(task, format, records, opts, notes);
    rows = sheet.length - 1;
    bytes = await writeExcelFile(sheet, { sheet: 'Sheet1' }).toBuffer();
  }
  if (failed > 0) {
    notes.unshift(
      `${failed} failed sample(s) written with an empty prediction (the server counts them wrong)`,
    );
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomicSync(file, bytes);
  return { file, format, rows, failed, notes };
}

/** The prediction a submission carries: '' for a failed sample. */
function predictionOf(r: PredictionRecord): string {
  return r.error === undefined ? r.prediction : '';
}

/**
 * RRC questionIds are integers (DocVQA/InfoVQA `questionId`; InternVL passes the JSONL's int through, lmms-eval
 * sends `int(questionId)`); our sample ids are strings, so a plain integer id goes back to a number and anything
 * else stays a string.
 */
export function rrcQuestionId(id: string): number | string {
  if (/^(0|[1-9]\d*)$/.test(id)) {
    const n = Number(id);
    if (Number.isSafeInteger(n)) return n;
  }
  return id;
}

export function rrcEntries(
  records: readonly PredictionRecord[],
): { questionId: number | string; answer: string }[] {
  return records.map((r) => ({ questionId: rrcQuestionId(r.id), answer: predictionOf(r) }));
}

/**
 * `{"v1_<question_id>": answer}` (evaluate_mmvet.py: `outputs[f'v1_{question_id}'] = answer`). lmms-lab/MMVet
 * ids already read `v1_N`; they are not prefixed twice.
 */
export function mmvetEntries(records: readonly PredictionRecord[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of records) out[r.id.startsWith('v1_') ? r.id : `v1_${r.id}`] = predictionOf(r);
  return out;
}

/** Option letters present in a row (InternVL `load_from_df` over ['A'..'E']: present and not NaN). */
function optionsOf(cells: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['A', 'B', 'C', 'D', 'E']) {
    const v = cells.get(k);
    if (v !== undefined && v !== '') out[k] = v;
  }
  return out;
}

/**
 * The sheet (header row first). Rows follow the source TSV's order, as the reference writes the whole data frame;
 * only rows this run has records for are written (a `--limit` or shard run says so in a note).
 */
async function xlsxSheet(
  task: TaskConfig,
  format: 'mmbench-xlsx' | 'vlmevalkit-xlsx',
  records: readonly PredictionRecord[],
  opts: SubmissionOptions,
  notes: string[],
): Promise<SheetData> {
  let source: { header: string[]; rows: TsvTableRow[] } | undefined;
  try {
    // Every column but `image` (base64 cells are large and never written).
    source = await readTaskTsvTable(task, opts.dataRoot);
  } catch (err) {
    notes.push(
      `source TSV not readable (${(err as Error).message}); columns rebuilt from the prediction log, ` +
        'with the prompt as sent in "question"',
    );
  }
  const byLine = new Map<number, PredictionRecord>();
  const byId = new Map<string, PredictionRecord>();
  for (const r of records) {
    const line = r.meta?.line;
    if (typeof line === 'number') byLine.set(line, r);
    byId.set(r.id, r);
  }

  let header: string[];
  let table: { cells: Map<string, string>; record: PredictionRecord }[] = [];
  if (source) {
    header = source.header;
    const used = new Set<PredictionRecord>();
    for (const row of source.rows) {
      const rec = byLine.get(row.line) ?? byId.get(row.cells.get('index') ?? '');
      if (rec && !used.has(rec)) {
        used.add(rec);
        table.push({ cells: row.cells, record: rec });
      }
    }
    const missing = records.filter((r) => !used.has(r));
    if (missing.length) {
      notes.push(`${missing.length} record(s) match no row of the source TSV and are not in the file`);
    }
    if (table.length < source.rows.length) {
      notes.push(`covers ${table.length} of the ${source.rows.length} rows of the source TSV`);
    }
  } else {
    header = ['index', 'question', 'A', 'B', 'C', 'D', 'E', 'answer', 'category'];
    table = records.map((r) => ({ cells: cellsFromRecord(r), record: r }));
    header = header.filter((h) => table.some((t) => (t.cells.get(h) ?? '') !== ''));
  }

  let columns: string[];
  let predictionAt: number;
  if (format === 'mmbench-xlsx') {
    // evaluate_mmbench.py: MMBench drops hint/category/source/image/comment/l2-category and inserts `prediction`
    // at position 6; CCBench (`'mmbench' not in ds_name`) drops category/image and inserts it at 8. The
    // reference raises on a missing column; here an absent one is simply not there.
    const isMmbench = task.name.includes('mmbench');
    const drop = isMmbench
      ? ['hint', 'category', 'source', 'image', 'comment', 'l2-category']
      : ['category', 'image'];
    columns = header.filter((h) => !drop.includes(h));
    predictionAt = Math.min(isMmbench ? 6 : 8, columns.length);
  } else {
    // VLMEvalKit infer_data_job: `data['prediction'] = ...; data.pop('image')` -> prediction is the last column.
    columns = header.filter((h) => h !== 'image' && h !== 'prediction');
    predictionAt = columns.length;
  }
  const numeric = new Set(columns.filter((c) => isNumericColumn(table.map((t) => t.cells.get(c) ?? ''))));

  const sheet: SheetData = [];
  sheet.push(insertAt(columns, predictionAt, 'prediction'));
  for (const { cells, record } of table) {
    let prediction = predictionOf(record);
    if (format === 'mmbench-xlsx' && record.error === undefined) {
      const options = source ? optionsOf(cells) : ((record.meta?.choices as Record<string, string>) ?? {});
      prediction = mmbenchPostProcess(prediction, options);
    }
    const row: Cell[] = columns.map((c) => cellValue(cells.get(c) ?? '', numeric.has(c)));
    sheet.push(insertAt(row, predictionAt, cellValue(prediction, false)));
  }
  return sheet;
}

/** Columns when the TSV cannot be read: what the record kept (meta index/choices/category, GT answer). */
function cellsFromRecord(r: PredictionRecord): Map<string, string> {
  const meta = r.meta ?? {};
  const cells = new Map<string, string>();
  cells.set('index', typeof meta.index === 'number' ? String(meta.index) : r.id);
  cells.set('question', r.prompt.replace(/^<image>\n/, ''));
  const choices = (meta.choices ?? {}) as Record<string, unknown>;
  for (const k of ['A', 'B', 'C', 'D', 'E'])
    if (typeof choices[k] === 'string') cells.set(k, choices[k] as string);
  if (r.answers.length) cells.set('answer', r.answers[0]);
  if (typeof meta.category === 'string') cells.set('category', meta.category);
  return cells;
}

function insertAt<T>(list: readonly T[], at: number, item: T): T[] {
  return [...list.slice(0, at), item, ...list.slice(at)];
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** pandas `read_table` dtype inference, as far as it matters here: a column of numbers (or blanks) is numeric. */
export function isNumericColumn(values: readonly string[]): boolean {
  const filled = values.filter((v) => v !== '');
  return filled.length > 0 && filled.every((v) => NUMBER.test(v.trim()));
}

// Characters XML 1.0 cannot hold (openpyxl raises IllegalCharacterError on them); removed, never fatal.
const XML_ILLEGAL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

function cellValue(text: string, numeric: boolean): Cell {
  if (text === '') return null; // pandas writes NaN / None as an empty cell
  if (numeric) return Number(text.trim());
  return text.replace(XML_ILLEGAL, '');
}

/**
 * What the runner calls for a finished external task: writes the submission file and returns the run note that
 * says plainly the score is external. Never throws (a submission that cannot be written must not fail the run;
 * the note says why).
 */
export async function submitExternalTask(
  runDir: string,
  task: TaskConfig,
  records: readonly PredictionRecord[],
  opts: SubmissionOptions = {},
): Promise<{ file?: string; note: string }> {
  const head = `${task.name}: score is external, not computed here (${task.external?.reason ?? 'scored outside'})`;
  try {
    const s = await writeSubmission(runDir, task, records, opts);
    const rel = path.relative(path.resolve(runDir), s.file);
    const extra = s.notes.length ? `; ${s.notes.join('; ')}` : '';
    return { file: s.file, note: `${head}; submission file ${rel} (${s.format}, ${s.rows} rows)${extra}` };
  } catch (err) {
    return { note: `${head}; no submission file written: ${(err as Error).message}` };
  }
}

/**
 * Writes the submission of every external task of a finished run folder from its manifest and prediction logs
 * (for `merge`, or to redo the files after the data became readable). The data root defaults to the one the
 * manifest recorded. Returns one note per external task.
 */
export async function writeRunSubmissions(
  runDir: string,
  opts: SubmissionOptions = {},
): Promise<{ task: string; file?: string; note: string }[]> {
  const manifest = readManifest(runDir);
  const dataRoot = opts.dataRoot ?? manifest.runtime?.dataRoot ?? undefined;
  const out: { task: string; file?: string; note: string }[] = [];
  for (const task of Object.values(manifest.config.tasks)) {
    if (!task.external) continue;
    const log = path.join(runDir, 'predictions', `${task.name}.jsonl`);
    if (!existsSync(log)) {
      out.push({
        task: task.name,
        note: `${task.name}: no prediction log (${log}); no submission file written`,
      });
      continue;
    }
    const records = sortRecords(readPredictionLog(log).records);
    out.push({ task: task.name, ...(await submitExternalTask(runDir, task, records, { dataRoot })) });
  }
  return out;
}
