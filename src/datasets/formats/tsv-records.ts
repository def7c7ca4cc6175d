/**
 * Splits a pandas-written TSV (QUOTE_MINIMAL: a field holding a tab, newline or quote is wrapped in `"`, inner
 * quotes doubled) into records by scanning bytes, and remembers each record's byte offset and length, so that a
 * row can be read again later (a lazy image) without keeping it. Field splitting itself is papaparse's job.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import Papa from 'papaparse';

export interface TsvRecord {
  /** Byte offset and length of the record in the file (without its line break). */
  readonly offset: number;
  readonly length: number;
  /** 1-based line number where the record starts. */
  readonly lineNo: number;
  readonly text: string;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** Records of a TSV file, streamed in 1 MiB chunks; a quoted newline does not end a record. */
export async function* tsvRecords(file: string): AsyncGenerator<TsvRecord> {
  let inQuotes = false;
  let parts: Buffer[] = [];
  let start = 0; // byte offset of the current record
  let pos = 0; // byte offset of chunk[0]
  let line = 1;
  let startLine = 1;
  const finish = (endExclusive: number): TsvRecord | undefined => {
    let buf = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    parts = [];
    let length = endExclusive - start;
    if (buf.length && buf[buf.length - 1] === CR) {
      buf = buf.subarray(0, buf.length - 1);
      length--;
    }
    const rec = buf.length
      ? { offset: start, length, lineNo: startLine, text: buf.toString('utf8') }
      : undefined;
    return rec;
  };
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === QUOTE) inQuotes = !inQuotes;
      else if (b === LF) {
        line++;
        if (!inQuotes) {
          parts.push(chunk.subarray(from, i));
          const rec = finish(pos + i);
          if (rec) yield rec;
          from = i + 1;
          start = pos + i + 1;
          startLine = line;
        }
      }
    }
    if (from < chunk.length) parts.push(chunk.subarray(from));
    pos += chunk.length;
  }
  const last = finish(pos);
  if (last) yield last;
}

/** Fields of one record (papaparse with a tab delimiter and `"` quotes). */
export function splitRecord(text: string): string[] {
  const r = Papa.parse<string[]>(text, { delimiter: '\t', quoteChar: '"', header: false });
  return r.data[0] ?? [];
}

/** Reads back one record by offset (for lazy images). */
export async function readRecordAt(file: string, offset: number, length: number): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    if (bytesRead !== length) throw new Error(`file changed: record at byte ${offset} is cut short`);
    return buf.toString('utf8');
  } finally {
    await fh.close();
  }
}
