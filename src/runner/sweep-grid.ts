/**
 * The running half of `sweep`: one run folder per grid point (tile cap × numeric variant), reusing finished runs
 * and resuming unfinished ones. Charting the grid is src/report/sweep.ts's job.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { runEvaluation, type RunOptions } from './run-evaluation.ts';

export interface SweepGridOptions extends Omit<RunOptions, 'maxTiles' | 'out' | 'resume'> {
  maxTiles: number[];
  /** Numeric variants (onnx backend); default: one run with the backend's default. */
  variants?: string[];
  /** Folder holding one run per grid point (`<variant>-tiles<N>`). */
  out: string;
}

/** One grid point's run folder; `reused` when it was already complete. */
export interface GridRun {
  variant: string;
  maxTiles: number;
  runDir: string;
  reused: boolean;
}

/** A run folder whose manifest says complete is reused as it is; anything else is resumed. */
async function isComplete(runDir: string): Promise<boolean> {
  const file = path.join(runDir, 'manifest.json');
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(await readFile(file, 'utf8')) as { status?: string }).status === 'complete';
  } catch {
    return false;
  }
}

/**
 * Runs the grid variant by variant, tile cap by tile cap. `afterRun` is called after each point (reused or not),
 * before the next one starts, so a caller can write that run's report while the others are still to come.
 */
export async function runSweepGrid(
  opts: SweepGridOptions,
  log: (line: string) => void = () => {},
  afterRun: (run: GridRun) => Promise<void> = async () => {},
): Promise<GridRun[]> {
  const { maxTiles, variants, out, ...runOpts } = opts;
  if (!maxTiles.length) throw new Error('sweep: give at least one --max-tiles value');
  await mkdir(out, { recursive: true });
  const runs: GridRun[] = [];
  for (const variant of variants?.length ? variants : [undefined]) {
    for (const t of maxTiles) {
      const name = `${variant ?? 'default'}-tiles${t}`;
      const runDir = path.join(out, name);
      const reused = await isComplete(runDir);
      if (reused) log(`sweep: ${name} is complete, reusing it`);
      else {
        log(`sweep: running ${name}`);
        await runEvaluation({
          ...runOpts,
          maxTiles: t,
          ...(variant ? { engine: { ...runOpts.engine, variant } } : {}),
          out: runDir,
          resume: existsSync(runDir),
        });
      }
      const run: GridRun = { variant: variant ?? 'default', maxTiles: t, runDir, reused };
      await afterRun(run);
      runs.push(run);
    }
  }
  return runs;
}
