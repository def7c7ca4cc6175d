/**
 * `internvl-eval gate BASELINE CANDIDATE --max-drop POINTS` (paired non-inferiority per task) and
 * `internvl-eval gate RUN --against-card` (reproduction check against the card values in the task YAMLs).
 * Exit status: 0 every task passes, 1 a task regressed / missed its card value / was inconclusive, 2 the input
 * cannot give a verdict (different samples, a missing task, mismatched settings, a bad flag or file).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { checkAgainstCard } from '../report/card-check.ts';
import { GateInputError, type GateResult } from '../report/gate.ts';
import { renderGateMarkdown, renderGateText, renderJunit } from '../report/gate-report.ts';
import { gateRuns } from '../report/gate-runs.ts';
import { loadThresholds, type TaskThreshold } from '../report/gate-thresholds.ts';
import { commaList } from './run.ts';

export interface GateArgs {
  runs: string[];
  'max-drop'?: number;
  tasks?: string;
  thresholds?: string;
  alpha: number;
  vary?: string;
  'min-samples'?: number;
  junit?: string;
  markdown?: string;
  json?: boolean;
  'against-card'?: boolean;
  tolerance?: number;
  precision?: number;
  seed: number;
}

function nonNegative(flag: string, v: number | undefined): number | undefined {
  if (v !== undefined && !(Number.isFinite(v) && v >= 0))
    throw new GateInputError(`--${flag} ${v}: give a number ≥ 0 (card units)`);
  return v;
}

/** The verdict for parsed arguments (library side of the command; throws GateInputError for exit 2). */
export async function gateFromArgs(args: GateArgs): Promise<GateResult> {
  const thresholds = args.thresholds ? await loadThresholds(args.thresholds) : null;
  const flags: TaskThreshold = {
    maxDrop: nonNegative('max-drop', args['max-drop']),
    tolerance: nonNegative('tolerance', args.tolerance),
    precision: nonNegative('precision', args.precision),
    minSamples: nonNegative('min-samples', args['min-samples']),
  };
  const tasks = commaList(args.tasks);
  if (args['against-card']) {
    if (args.runs.length !== 1)
      throw new GateInputError(`--against-card checks one run folder, got ${args.runs.length}`);
    if (args['max-drop'] !== undefined || args.vary !== undefined)
      throw new GateInputError('--max-drop and --vary compare two runs; --against-card takes --tolerance');
    return checkAgainstCard(args.runs[0], { tasks, thresholds, flags });
  }
  if (args.runs.length !== 2)
    throw new GateInputError(
      `gate compares two run folders (BASELINE CANDIDATE), got ${args.runs.length}; for one run use --against-card`,
    );
  if (args.tolerance !== undefined || args.precision !== undefined)
    throw new GateInputError('--tolerance and --precision belong to --against-card');
  return gateRuns(args.runs[0], args.runs[1], {
    tasks,
    alpha: args.alpha,
    vary: commaList(args.vary),
    thresholds,
    flags,
    seed: args.seed,
  });
}

async function writeOut(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, text);
}

export const gateCommand: CommandModule<object, GateArgs> = {
  command: 'gate <runs..>',
  describe:
    'Verdict with an exit code: paired non-inferiority of CANDIDATE vs BASELINE per task, or RUN --against-card',
  builder: (y) =>
    y
      .positional('runs', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'BASELINE CANDIDATE run folders (or one RUN with --against-card)',
      })
      .option('max-drop', {
        type: 'number',
        describe: 'largest allowed drop of each task score, in card units (points for ×100 scores)',
      })
      .option('tasks', { type: 'string', describe: 'comma-separated tasks to gate (default: all)' })
      .option('thresholds', {
        type: 'string',
        describe: 'YAML of per-task values: "docvqa_val: 0.5", "default: 1.0" (see docs/gate.md)',
      })
      .option('alpha', {
        type: 'number',
        default: 0.05,
        describe: 'one-sided level: the lower end of the (1 − 2α) paired CI of Δ must stay ≥ −max-drop',
      })
      .option('vary', {
        type: 'string',
        describe:
          'comma-separated settings that may differ between the runs (default: variant,model); all others must match',
      })
      .option('min-samples', {
        type: 'number',
        describe: 'fewer scored samples than this is inconclusive (default 30)',
      })
      .option('against-card', {
        type: 'boolean',
        describe: "check one run's scores against the card values in its task YAMLs",
      })
      .option('tolerance', {
        type: 'number',
        describe: 'card check: how far outside the score’s 95% CI the card value may lie (default 0)',
      })
      .option('precision', {
        type: 'number',
        describe:
          'card check: widest CI half-width at which "reproduced" is claimed (default 2% of the score range: 2 points, MME 56, OCRBench 20)',
      })
      .option('junit', { type: 'string', describe: 'write JUnit XML (one testcase per task) here' })
      .option('markdown', { type: 'string', describe: 'write a Markdown table (for a PR comment) here' })
      .option('json', { type: 'boolean', describe: 'print the full result as JSON on stdout' })
      .option('seed', { type: 'number', default: 0, describe: 'bootstrap seed' }) as never,
  handler: async (args) => {
    let result: GateResult;
    try {
      result = await gateFromArgs(args);
      if (args.junit) await writeOut(args.junit, renderJunit(result));
      if (args.markdown) await writeOut(args.markdown, renderGateMarkdown(result));
    } catch (e) {
      // Whatever stops a verdict (unreadable run, bad flag, different samples) is exit status 2, never 1.
      throw Object.assign(e instanceof Error ? e : new Error(String(e)), { exitCode: 2 });
    }
    if (args.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      process.stderr.write(`gate: ${result.headline}\n`);
    } else process.stdout.write(renderGateText(result));
    process.exitCode = result.exitCode;
  },
};
