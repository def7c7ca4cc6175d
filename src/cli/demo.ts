/**
 * `npm run demo` (= `internvl-eval demo`): the whole harness on a fresh clone with no network. Makes the embedded
 * tiny random checkpoint and the synthetic datasets, evaluates several tasks of different formats (documents,
 * charts, MCQ TSV, MME pairs, grounding, video) with the ONNX engine, repeats the run with int4 weights and
 * compares the two sample by sample, runs a small tiling sweep, and prints where the reports are.
 *
 * The model has random weights: scores near zero are expected. The point is that every stage runs for real.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { makeSyntheticSuite } from '../datasets/synthetic/index.ts';
import { makeTinyCheckpoint } from '../model/checkpoint/tiny.ts';
import { writeComparisons } from '../report/compare.ts';
import { runSweep } from '../report/sweep.ts';
import { runWithReport } from '../report/run-with-report.ts';
import type { RunOptions } from '../runner/run-evaluation.ts';

/** Tasks of the main runs: one per data format and card table (image, grounding, video). */
export const DEMO_TASKS = [
  'synth_docvqa',
  'synth_chartqa_human',
  'synth_chartqa_augmented',
  'synth_textvqa',
  'synth_mmbench',
  'synth_mme',
  'synth_ocrbench_json',
  'synth_refcoco',
  'synth_mvbench',
];
export const SWEEP_TASKS = ['synth_docvqa', 'synth_chartqa_human'];
export const SWEEP_TILES = [1, 2, 4];
const MARKER = 'INTERNVL_EVAL_DEMO.txt';

export interface DemoResult {
  out: string;
  runs: string[];
  compare: string[];
  sweep: string[];
}

/** Refuse to clear a folder the demo did not make. */
async function prepareOut(out: string): Promise<void> {
  if (existsSync(out)) {
    const entries = await readdir(out);
    if (entries.length && !entries.includes(MARKER)) {
      throw new Error(`${out} exists and is not a demo folder (no ${MARKER}); choose another --out`);
    }
    await rm(out, { recursive: true, force: true });
  }
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, MARKER), 'Made by `npm run demo`; deleted and remade on each demo run.\n');
}

export async function runDemo(out: string, log: (line: string) => void): Promise<DemoResult> {
  const t0 = performance.now();
  await prepareOut(out);
  const modelDir = path.join(out, 'model');
  log(`1/5 tiny random checkpoint (InternVL2 layout) -> ${modelDir}`);
  await makeTinyCheckpoint(modelDir, { seed: 0 });
  log(`2/5 synthetic datasets in every format -> ${path.join(out, 'data')}`);
  const suite = await makeSyntheticSuite(path.join(out, 'data'), { seed: 0, size: 'tiny' });
  const base: RunOptions = {
    model: modelDir,
    backend: 'onnx',
    configDir: suite.configDir,
    dataRoot: suite.root,
    progress: 'lines',
    batchSize: 2,
    commandLine: ['demo'],
    log,
  };
  const runA = path.join(out, 'runs', 'fp32');
  const runB = path.join(out, 'runs', 'int4');
  log(`3/5 evaluating ${DEMO_TASKS.length} tasks, fp32 then int4`);
  await runWithReport({ ...base, tasks: DEMO_TASKS, engine: { variant: 'fp32' }, out: runA });
  await runWithReport({ ...base, tasks: DEMO_TASKS, engine: { variant: 'int4' }, out: runB });
  log('4/5 comparing int4 against fp32 sample by sample');
  const { files: compare } = await writeComparisons([runA, runB], path.join(out, 'compare'));
  log(`5/5 tiling sweep (max tiles ${SWEEP_TILES.join(', ')}) on ${SWEEP_TASKS.join(', ')}`);
  const { files: sweep } = await runSweep(
    {
      ...base,
      tasks: SWEEP_TASKS,
      variants: ['fp32'],
      maxTiles: SWEEP_TILES,
      out: path.join(out, 'sweep'),
      progress: 'none',
    },
    log,
  );
  log(`demo finished in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { out, runs: [runA, runB], compare, sweep };
}

interface DemoArgs {
  out: string;
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'Run the whole harness offline on the embedded tiny random model and synthetic data',
  builder: (y) =>
    y.option('out', {
      type: 'string',
      default: path.join('results', 'demo'),
      describe: 'Demo folder (remade each run)',
    }) as never,
  handler: async (args) => {
    const result = await runDemo(path.resolve(args.out), (line) => process.stderr.write(`${line}\n`));
    const lines = [
      '',
      'The demo model has RANDOM weights: scores near zero are expected. Every stage ran for real.',
      'For InternVL2-2B itself, see README "Evaluate the real model".',
      '',
      ...result.runs.map(
        (r) => `report:  ${path.join(r, 'report.html')}  (tables: ${path.join(r, 'results.md')})`,
      ),
      ...result.compare.map((f) => `compare: ${f}`),
      ...result.sweep.map((f) => `sweep:   ${f}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  },
};
