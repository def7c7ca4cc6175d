/**
 * Reading a finished (or partial) run folder as the runner writes it:
 *   manifest.json, predictions/TASK.jsonl (PredictionRecord per line), scores/TASK.json (TaskScore).
 * Everything in src/report reads runs through this module only.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { PredictionRecord } from '../runner/prediction-record.ts';
import type { TaskScore } from '../runner/task-score.ts';

/** `scores/TASK.json` is written by the runner (src/runner/task-score.ts). */
export type { TaskScore };

export interface RunData {
  dir: string;
  name: string;
  manifest: Record<string, unknown>;
  scores: TaskScore[];
}

async function readJson(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

export async function loadRun(dir: string): Promise<RunData> {
  const manifestPath = path.join(dir, 'manifest.json');
  let manifest: Record<string, unknown>;
  try {
    manifest = (await readJson(manifestPath)) as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`${dir}: not a run folder (no manifest.json)`);
    }
    throw e;
  }
  const scoresDir = path.join(dir, 'scores');
  let files: string[] = [];
  try {
    files = (await readdir(scoresDir)).filter((f) => f.endsWith('.json')).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const scores: TaskScore[] = [];
  for (const f of files) scores.push((await readJson(path.join(scoresDir, f))) as TaskScore);
  return { dir, name: path.basename(path.resolve(dir)), manifest, scores };
}

/** Stream a task's prediction log; a torn last line (a killed run) is skipped, any other bad line is an error. */
export async function* readPredictions(dir: string, task: string): AsyncGenerator<PredictionRecord> {
  const file = path.join(dir, 'predictions', `${task}.jsonl`);
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let pending: { text: string; line: number } | undefined;
  let lineNo = 0;
  for await (const text of lines) {
    lineNo++;
    if (pending) yield parseRecord(file, pending.text, pending.line);
    pending = text.trim() === '' ? undefined : { text, line: lineNo };
  }
  if (pending) {
    try {
      yield JSON.parse(pending.text) as PredictionRecord;
    } catch {
      // Torn last line of an interrupted run: the runner's --resume truncates it; the report ignores it.
    }
  }
}

function parseRecord(file: string, text: string, line: number): PredictionRecord {
  try {
    return JSON.parse(text) as PredictionRecord;
  } catch (e) {
    throw new Error(`${file}:${line}: not valid JSON (${(e as Error).message})`);
  }
}

export async function loadPredictions(dir: string, task: string): Promise<PredictionRecord[]> {
  const out: PredictionRecord[] = [];
  for await (const r of readPredictions(dir, task)) out.push(r);
  return out;
}
