/**
 * A task's VLMEvalKit TSV read back as a table (every column but `image`, whose base64 cells are large), for the
 * steps after inference that need source columns the Samples do not carry: submission files and the judge.
 */
import { sourcePath } from '../adapter.ts';
import { resolveTaskRoot } from '../task-fetch.ts';
import type { TaskConfig } from '../task.ts';
import { splitRecord, tsvRecords } from './tsv-records.ts';

export interface TsvTableRow {
  /** 1-based line of the record in the file (the adapter's `meta.line`). */
  line: number;
  cells: Map<string, string>;
}

export async function readTaskTsvTable(
  task: TaskConfig,
  dataRoot: string | undefined,
): Promise<{ file: string; header: string[]; rows: TsvTableRow[] }> {
  if (task.source.format !== 'vlmevalkit-tsv')
    throw new Error(`its source is ${task.source.format}, not a TSV`);
  const file = sourcePath(task, await resolveTaskRoot(task, { root: dataRoot }));
  let header: string[] | undefined;
  const rows: TsvTableRow[] = [];
  for await (const rec of tsvRecords(file)) {
    const fields = splitRecord(rec.text);
    if (!header) {
      header = fields;
      continue;
    }
    const cells = new Map<string, string>();
    header.forEach((h, k) => {
      if (h !== 'image') cells.set(h, fields[k] ?? '');
    });
    rows.push({ line: rec.lineNo, cells });
  }
  if (!header) throw new Error(`${file}: empty file (no header row)`);
  return { file, header: header.filter((h) => h !== 'image'), rows };
}
