/**
 * What a generated task should yield, sample by sample: the generator's own ground truth, kept in memory so that
 * tests (and anyone curious) can check that each adapter reads back exactly what was written.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Box } from './raster.ts';
import type { Rng } from './rng.ts';

export interface ExpectedSample {
  /** The id the task's adapter gives the sample. */
  readonly id: string;
  readonly question: string;
  readonly answers: readonly string[];
  readonly choices?: Readonly<Record<string, string>>;
  readonly hint?: string;
  readonly category?: string;
  readonly bbox?: Box;
  readonly width?: number;
  readonly height?: number;
  /** Ground truth the format does not carry as such (chart values, shape colour, clip direction, ...). */
  readonly truth?: Readonly<Record<string, unknown>>;
}

/** Task name -> its expected samples, in the order the adapter yields them. */
export type ExpectedTasks = Record<string, ExpectedSample[]>;

export interface SuiteCounts {
  /** documents (DocVQA-like, 2 questions each) */
  documents: number;
  /** InfoVQA-like documents (2 questions each) */
  infographics: number;
  /** TextVQA-like images (1 question each) */
  textImages: number;
  /** charts per ChartQA split (human: 2 questions each, augmented: 2 questions each) */
  charts: number;
  /** shape scenes for RefCOCO (1 sentence each, cycling through the shapes) */
  groundingScenes: number;
  /** MME images per subtask (2 questions each) */
  mmeImagesPerSubtask: number;
  /** MMBench main questions (each + 3 circular copies) */
  mmbenchQuestions: number;
  /** AI2D-like questions */
  ai2dQuestions: number;
  /** OCRBench-like questions (cycling through 4 categories) */
  ocrbenchQuestions: number;
  /** moving-square MP4 clips and colour-change frame folders (MVBench) */
  videos: number;
  frameFolders: number;
}

export interface WriterContext {
  /** Dataset root: every path below is relative to it. */
  readonly root: string;
  readonly rng: Rng;
  readonly counts: SuiteCounts;
  /** Writers add their tasks' expected samples here. */
  readonly expected: ExpectedTasks;
}

/** Writes `data` at `root/rel`, creating folders; returns the absolute path. */
export async function put(root: string, rel: string, data: string | Uint8Array): Promise<string> {
  const file = path.join(root, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, data);
  return file;
}

export const jsonl = (rows: readonly unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
