/** What every format adapter (src/datasets/formats/*.ts) is: a lazy stream of Samples or per-row errors. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { SampleError, SampleOrError } from './sample.ts';
import type { TaskConfig } from './task.ts';
import { resolveInside } from './safe-path.ts';

export interface AdapterOptions {
  /** Dataset root: every path in the task source and in the data resolves inside it. */
  root: string;
  /** Pixel limit for images (decompression-bomb guard); default image-source.ts DEFAULT_MAX_PIXELS. */
  maxPixels?: number;
}

export type DatasetAdapter = (task: TaskConfig, opts: AdapterOptions) => AsyncIterable<SampleOrError>;

export function sampleError(task: TaskConfig, id: string, error: string): SampleError {
  return { id, task: task.name, error };
}

/** The file an adapter reads (`source.path` inside the root) and how messages show it. */
export function sourceFile(task: TaskConfig, root: string): { file: string; where: string } {
  const file = sourcePath(task, root);
  return { file, where: shown(root, file) };
}

/** `source.options.imageRoot` resolved inside the root; when unset, `fallback` (default: the root itself). */
export function imageRootOf(task: TaskConfig, root: string, fallback?: string): string {
  const rel = stringOption(task, 'imageRoot');
  if (!rel && fallback !== undefined) return fallback; // '' counts as unset (ocrbench-json.ts always did so)
  return resolveInside(root, rel ?? '.');
}

/** `source.path` resolved inside the root (the dataset files themselves must not escape it either). */
export function sourcePath(task: TaskConfig, root: string): string {
  const p = task.source.path;
  if (!p) throw new Error(`task ${task.name}: source.path is not set`);
  return resolveInside(root, p);
}

/** A string option of `source.options`, or the fallback; a non-string value throws naming the key. */
export function stringOption(task: TaskConfig, key: string, fallback?: string): string | undefined {
  const v = task.source.options?.[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw new Error(`task ${task.name}: source.options.${key} must be a string`);
  return v;
}

export function numberOption(task: TaskConfig, key: string, fallback?: number): number | undefined {
  const v = task.source.options?.[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number') throw new Error(`task ${task.name}: source.options.${key} must be a number`);
  return v;
}

/** Lines of a text file with 1-based numbers, streamed (a JSONL file never sits in memory whole). */
export async function* readLines(file: string): AsyncGenerator<{ line: string; lineNo: number }> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of rl) {
    lineNo++;
    yield { line, lineNo };
  }
}

/** One parsed line of a JSONL file: the value, its 1-based number and `FILE:LINE` for messages. */
export interface JsonlLine {
  readonly row: unknown;
  readonly lineNo: number;
  readonly at: string;
}

/**
 * The non-blank lines of a JSONL file, parsed; a line that is not JSON (or, with `objects`, not a JSON object)
 * becomes that line's SampleError (`line<N>`, `FILE:LINE: invalid JSON line (...)`) and the stream goes on.
 */
export async function* jsonlLines(
  task: TaskConfig,
  file: string,
  where: string,
  opts: { objects?: boolean } = {},
): AsyncGenerator<JsonlLine | SampleError> {
  for await (const { line, lineNo } of readLines(file)) {
    if (line.trim() === '') continue;
    const at = `${where}:${lineNo}`;
    let row: unknown;
    try {
      row = JSON.parse(line);
      if (opts.objects && (typeof row !== 'object' || row === null || Array.isArray(row)))
        throw new Error('not a JSON object');
    } catch (e) {
      yield sampleError(task, `line${lineNo}`, `${at}: invalid JSON line (${(e as Error).message})`);
      continue;
    }
    yield { row, lineNo, at };
  }
}

/** A display path: relative to the root when inside it. */
export function shown(root: string, abs: string): string {
  const r = abs.startsWith(root) ? abs.slice(root.length).replace(/^[\\/]+/, '') : abs;
  return r || abs;
}
