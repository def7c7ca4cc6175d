/**
 * `makeSyntheticSuite`: writes every synthetic task's data, in each real format, under one root, plus the task
 * YAMLs (copied from `configs/demo/tasks/`) that read it. Used by the tests and by `npm run demo`; no network, no
 * system fonts, deterministic from the seed (same seed and size -> identical bytes).
 *
 * Layout under `outDir` (paths as in the real datasets, so the YAMLs differ from the real ones only in the prefix):
 *   configs/tasks/synth_*.yaml                          task configs (`loadTask(name, { configDir })`): the
 *                                                       committed configs/demo/tasks files + `samples: N`
 *   lmms-lab/DocVQA/DocVQA/validation-*.parquet         synth_docvqa            (lmms-parquet)
 *   lmms-lab/ChartQA/data/test-00000-of-00001.parquet   synth_chartqa_human/_augmented (lmms-parquet, `type` filter)
 *   data/infographicsvqa/...jsonl + ..._withQT.json     synth_infovqa           (internvl-jsonl + DocVQA GT)
 *   data/textvqa/textvqa_val.jsonl + annotations.json   synth_textvqa           (internvl-jsonl + VQA GT, 10 answers)
 *   data/ai2diagram/test_vlmevalkit.jsonl               synth_ai2d              (internvl-jsonl)
 *   data/mmbench/mmbench_dev_synthetic.tsv              synth_mmbench           (vlmevalkit-tsv, circular copies)
 *   eval/mme/Your_Results/*.txt + data/mme/...          synth_mme               (mme-txt)
 *   LMUData/OCRBench.tsv                                synth_ocrbench          (vlmevalkit-tsv, python-list answers)
 *   OCRBench/OCRBench.json + OCRBench_Images/           synth_ocrbench_json     (ocrbench-json)
 *   data/refcoco/refcoco_val.jsonl + data/coco/...      synth_refcoco           (refcoco-jsonl)
 *   data/MVBench/json/*.json + video/...                synth_mvbench           (mvbench-json: MP4 + tvqa frames)
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CONFIGS_DIR } from '../task-config.ts';
import { writeChartqa } from './chart-tasks.ts';
import { writeDocvqa, writeInfovqa, writeOcrbench, writeTextvqa } from './document-tasks.ts';
import type { ExpectedTasks, SuiteCounts, WriterContext } from './expected.ts';
import { Rng } from './rng.ts';
import { writeAi2d, writeMmbench, writeMme, writeRefcoco } from './shape-tasks.ts';
import { writeMvbench } from './video-tasks.ts';

export type SyntheticSize = 'tiny' | 'small';

export interface SyntheticSuiteOptions {
  /** Integer seed (default 0). */
  seed?: number;
  /** `tiny`: a handful of samples per task (the demo); `small`: a few dozen (tests of scorers, reports). */
  size?: SyntheticSize;
}

export interface SyntheticSuite {
  /** Dataset root to pass to `openTask(task, { root })`. */
  root: string;
  /** Folder of the task YAMLs, for `loadTask(name, { configDir })`. */
  configDir: string;
  /** Task names, in a stable order. */
  tasks: string[];
  /** Per task, the samples its adapter should yield (the generator's ground truth). */
  expected: ExpectedTasks;
}

/** Where the committed demo task YAMLs live. */
export const DEMO_TASKS_DIR = path.join(CONFIGS_DIR, 'demo', 'tasks');

export const SYNTHETIC_TASKS = [
  'synth_docvqa',
  'synth_infovqa',
  'synth_textvqa',
  'synth_chartqa_human',
  'synth_chartqa_augmented',
  'synth_ai2d',
  'synth_mmbench',
  'synth_mme',
  'synth_ocrbench',
  'synth_ocrbench_json',
  'synth_refcoco',
  'synth_mvbench',
] as const;

/** The real task (configs/tasks) whose settings each synthetic task copies (all but `maxTiles`, lowered for speed). */
export const SYNTHETIC_TASK_ORIGINS: Readonly<Record<(typeof SYNTHETIC_TASKS)[number], string>> = {
  synth_docvqa: 'docvqa_val',
  synth_infovqa: 'infovqa_val',
  synth_textvqa: 'textvqa_val',
  synth_chartqa_human: 'chartqa_test_human',
  synth_chartqa_augmented: 'chartqa_test_augmented',
  synth_ai2d: 'ai2d_test',
  synth_mmbench: 'mmbench_dev_en',
  synth_mme: 'mme',
  synth_ocrbench: 'ocrbench',
  synth_ocrbench_json: 'ocrbench',
  synth_refcoco: 'refcoco_val',
  synth_mvbench: 'mvbench',
};

export const SUITE_COUNTS: Readonly<Record<SyntheticSize, SuiteCounts>> = {
  tiny: {
    documents: 2,
    infographics: 1,
    textImages: 2,
    charts: 1,
    groundingScenes: 3,
    mmeImagesPerSubtask: 1,
    mmbenchQuestions: 1,
    ai2dQuestions: 3,
    ocrbenchQuestions: 4,
    videos: 1,
    frameFolders: 1,
  },
  small: {
    documents: 8,
    infographics: 6,
    textImages: 12,
    charts: 6,
    groundingScenes: 20,
    mmeImagesPerSubtask: 5,
    mmbenchQuestions: 6,
    ai2dQuestions: 16,
    ocrbenchQuestions: 16,
    videos: 4,
    frameFolders: 3,
  },
};

/** Marks a folder as a generated suite, so that regenerating may empty it (and nothing else). */
export const SUITE_MARKER = 'SYNTHETIC_SUITE.txt';

/**
 * Writes the suite under `outDir`. The folder must be absent, empty, or an earlier suite (it has SUITE_MARKER): it
 * is then emptied first, so the tree is exactly the suite and hashes the same every time.
 */
export async function makeSyntheticSuite(
  outDir: string,
  opts: SyntheticSuiteOptions = {},
): Promise<SyntheticSuite> {
  const seed = opts.seed ?? 0;
  const size = opts.size ?? 'small';
  const counts = SUITE_COUNTS[size];
  if (!counts) throw new Error(`makeSyntheticSuite: size must be "tiny" or "small", got "${size}"`);
  if (!Number.isInteger(seed)) throw new Error(`makeSyntheticSuite: seed must be an integer, got ${seed}`);
  const root = path.resolve(outDir);
  await clearSuiteDir(root);
  await writeFile(
    path.join(root, SUITE_MARKER),
    `Synthetic datasets written by makeSyntheticSuite (src/datasets/synthetic), seed ${seed}, size ${size}.\n` +
      'Generated data: safe to delete; regenerating empties this folder.\n',
  );
  const ctx: WriterContext = { root, rng: new Rng(seed), counts, expected: {} };
  // Each writer draws from its own forked stream (by task name): the order below does not affect the bytes.
  await writeDocvqa(ctx);
  await writeInfovqa(ctx);
  await writeTextvqa(ctx);
  await writeChartqa(ctx);
  await writeAi2d(ctx);
  await writeMmbench(ctx);
  await writeMme(ctx);
  await writeOcrbench(ctx);
  await writeRefcoco(ctx);
  await writeMvbench(ctx);

  const configDir = path.join(root, 'configs', 'tasks');
  await mkdir(configDir, { recursive: true });
  const yamls = (await readdir(DEMO_TASKS_DIR)).filter((f) => f.endsWith('.yaml')).sort();
  const tasks = [...SYNTHETIC_TASKS];
  for (const t of tasks) {
    if (!yamls.includes(`${t}.yaml`))
      throw new Error(`makeSyntheticSuite: ${DEMO_TASKS_DIR} has no ${t}.yaml`);
    const expected = ctx.expected[t];
    if (!expected) throw new Error(`makeSyntheticSuite: no writer produced task ${t}`);
    // The committed YAML plus this suite's sample count (shown by `datasets list`).
    const text = await readFile(path.join(DEMO_TASKS_DIR, `${t}.yaml`), 'utf8');
    const withCount = text.replace(/^(group: .*)$/m, `$1\nsamples: ${expected.length}`);
    if (withCount === text) throw new Error(`${DEMO_TASKS_DIR}/${t}.yaml: no "group:" line`);
    await writeFile(path.join(configDir, `${t}.yaml`), withCount);
  }
  return { root, configDir, tasks, expected: ctx.expected };
}

async function clearSuiteDir(root: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`${root}: cannot read (${String(e)})`);
    entries = [];
  }
  if (entries.length && !entries.includes(SUITE_MARKER)) {
    throw new Error(
      `${root} is not empty and holds no ${SUITE_MARKER}: refusing to overwrite it with a synthetic suite`,
    );
  }
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
}
