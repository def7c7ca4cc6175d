/**
 * The append-only prediction log of one task (`predictions/TASK.jsonl`): one `PredictionRecord` per line, written
 * with a synchronous `write(2)` as each sample completes, so a SIGKILL loses at most the line being written.
 * Resume reads the log back, cuts a torn last line, and reports which ids are done. Finalisation rewrites the
 * file in a deterministic order (see record-order.ts) through a temp file + rename, so it is never half-written.
 */
import { closeSync, existsSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { writeFileAtomicSync } from '../common/atomic-write.ts';
import type { PredictionRecord } from './prediction-record.ts';
import { compareIdsNaturally } from './record-order.ts';

export interface LogContents {
  readonly records: PredictionRecord[];
  /** Bytes of a torn (unterminated or unparsable) last line that were cut off, 0 when the log was clean. */
  readonly tornBytes: number;
}

/**
 * Reads a log; a last line that is not newline-terminated or does not parse is a torn write and is dropped
 * (`repair` also truncates the file there). A bad line anywhere else is corruption and an error naming the line.
 */
export function readPredictionLog(path: string, opts: { repair?: boolean } = {}): LogContents {
  if (!existsSync(path)) return { records: [], tornBytes: 0 };
  const buf = readFileSync(path);
  const text = buf.toString('utf8');
  const records: PredictionRecord[] = [];
  let start = 0;
  let line = 0;
  let goodEnd = 0;
  while (start < text.length) {
    line++;
    const nl = text.indexOf('\n', start);
    const isLast = nl === -1 || nl === text.length - 1;
    const end = nl === -1 ? text.length : nl;
    const body = text.slice(start, end);
    if (body.trim() !== '') {
      let rec: PredictionRecord | undefined;
      try {
        rec = JSON.parse(body) as PredictionRecord;
      } catch (err) {
        if (!isLast) throw new Error(`${path}:${line}: not valid JSON (${(err as Error).message})`);
      }
      if (rec !== undefined && nl === -1) rec = undefined; // unterminated: the write may be incomplete
      if (rec === undefined) break; // torn last line
      if (typeof rec.id !== 'string') throw new Error(`${path}:${line}: field "id" missing or not a string`);
      records.push(rec);
    }
    if (nl === -1) break;
    start = nl + 1;
    goodEnd = Buffer.byteLength(text.slice(0, start), 'utf8');
  }
  const tornBytes = buf.length - goodEnd;
  if (tornBytes > 0 && opts.repair) truncateSync(path, goodEnd);
  return { records, tornBytes };
}

/** Sorts records into the finished-log order (natural id order). */
export function sortRecords(records: readonly PredictionRecord[]): PredictionRecord[] {
  return [...records].sort((a, b) => compareIdsNaturally(a.id, b.id));
}

export function serialiseRecords(records: readonly PredictionRecord[]): string {
  return records.map((r) => JSON.stringify(r) + '\n').join('');
}

/** Atomically replaces a log with the given records (temp file + rename). */
export function rewritePredictionLog(path: string, records: readonly PredictionRecord[]): void {
  writeFileAtomicSync(path, serialiseRecords(records));
}

/** An open log for appending. Appends are synchronous so no record is ever half-buffered in user space. */
export class PredictionLogWriter {
  private fd: number | undefined;
  private readonly ids = new Set<string>();

  constructor(
    readonly path: string,
    existingIds: Iterable<string> = [],
  ) {
    for (const id of existingIds) this.ids.add(id);
    this.fd = openSync(path, 'a');
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  get size(): number {
    return this.ids.size;
  }

  append(record: PredictionRecord): void {
    if (this.fd === undefined) throw new Error(`${this.path}: log is closed`);
    // Never write an id twice: resume and the pipeline both rely on this.
    if (this.ids.has(record.id)) throw new Error(`${this.path}: sample "${record.id}" is already logged`);
    this.ids.add(record.id);
    writeSync(this.fd, JSON.stringify(record) + '\n');
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
