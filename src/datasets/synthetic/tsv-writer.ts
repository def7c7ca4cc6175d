/**
 * Writes TSV files the way VLMEvalKit's are made (pandas `to_csv(sep='\t', index=False)`, QUOTE_MINIMAL): a field
 * holding a tab, a quote or a line break is wrapped in `"` with inner quotes doubled; a missing value (NaN) is an
 * empty cell.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type TsvCell = string | number | undefined | null;

export function tsvField(v: TsvCell): string {
  if (v === undefined || v === null) return '';
  const s = String(v);
  return /[\t"\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function tsvText(columns: readonly string[], rows: readonly Record<string, TsvCell>[]): string {
  const lines = [columns.map(tsvField).join('\t')];
  for (const r of rows) lines.push(columns.map((c) => tsvField(r[c])).join('\t'));
  return lines.join('\n') + '\n';
}

export async function writeTsv(
  file: string,
  columns: readonly string[],
  rows: readonly Record<string, TsvCell>[],
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, tsvText(columns, rows));
}

/** Python's `repr()` of a str (quote choice and escapes as CPython does for printable ASCII text). */
export function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch < ' ' || ch === '\x7f') out += '\\x' + ch.charCodeAt(0).toString(16).padStart(2, '0');
    else out += ch;
  }
  return quote + out + quote;
}

/** Python's `repr()` of a list of str, e.g. OCRBench's `answer` cell `['a', "b'c"]`. */
export function pyReprList(items: readonly string[]): string {
  return `[${items.map(pyRepr).join(', ')}]`;
}
