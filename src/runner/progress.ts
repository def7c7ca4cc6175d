/**
 * Progress for `run`: a cli-progress bar per task on a TTY (done/total, samples/s, ETA, errors), plain lines every
 * few seconds otherwise (CI logs, Slurm output files), nothing with `--quiet`. Totals are estimates from the task
 * config's `samples`, `--limit` and `--shard` (the data is read lazily, never counted up front); an unknown total
 * shows as `?`.
 */
import cliProgress from 'cli-progress';
import type { TaskProgressSink } from './pipeline.ts';

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

export interface TaskProgressHandle extends TaskProgressSink {
  end(): void;
}

export interface ProgressReporter {
  startTask(task: string, total: number | null, alreadyDone: number): TaskProgressHandle;
  close(): void;
}

export function createProgress(
  mode: ProgressMode,
  stream: NodeJS.WriteStream = process.stderr,
  intervalMs = 10_000,
): ProgressReporter {
  const resolved = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
  if (resolved === 'none')
    return { startTask: () => ({ sampleDone: () => {}, end: () => {} }), close: () => {} };
  if (resolved === 'lines') return linesProgress(stream, intervalMs);
  return barProgress(stream);
}

function rate(done: number, t0: number): number {
  const s = (performance.now() - t0) / 1000;
  return s > 0 ? done / s : 0;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

/** One status line: `docvqa_val 120/5349 (2.3%) 4.10 samples/s ETA 21m15s errors 0`. */
export function formatProgressLine(
  task: string,
  done: number,
  total: number | null,
  perSec: number,
  errors: number,
) {
  const pct = total ? ` (${((100 * done) / total).toFixed(1)}%)` : '';
  const eta = total ? formatEta((total - done) / perSec) : '?';
  return `${task} ${done}/${total ?? '?'}${pct} ${perSec.toFixed(2)} samples/s ETA ${eta} errors ${errors}`;
}

function linesProgress(stream: NodeJS.WriteStream, intervalMs: number): ProgressReporter {
  return {
    startTask(task, total, alreadyDone) {
      let done = alreadyDone;
      let newDone = 0;
      let errors = 0;
      const t0 = performance.now();
      let last = t0;
      const line = (): string => formatProgressLine(task, done, total, rate(newDone, t0), errors);
      stream.write(`${line()}\n`);
      return {
        sampleDone(error) {
          done++;
          newDone++;
          if (error) errors++;
          const now = performance.now();
          if (now - last >= intervalMs) {
            last = now;
            stream.write(`${line()}\n`);
          }
        },
        end() {
          stream.write(`${line()} done\n`);
        },
      };
    },
    close() {},
  };
}

function barProgress(stream: NodeJS.WriteStream): ProgressReporter {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: '{task} [{bar}] {value}/{totalText} | {rate} samples/s | ETA {etaText} | errors {errors}',
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    startTask(task, total, alreadyDone) {
      const t0 = performance.now();
      let newDone = 0;
      let errors = 0;
      let done = alreadyDone;
      const payload = () => {
        const r = rate(newDone, t0);
        return {
          task: task.padEnd(18),
          totalText: total ?? '?',
          rate: r.toFixed(2),
          etaText: total ? formatEta((total - done) / r) : '?',
          errors,
        };
      };
      const bar = multi.create(total ?? Math.max(1, done), done, payload());
      return {
        sampleDone(error) {
          done++;
          newDone++;
          if (error) errors++;
          if (!total && done > bar.getTotal()) bar.setTotal(done);
          bar.update(done, payload());
        },
        end() {
          if (!total) bar.setTotal(done);
          bar.update(done, payload());
          bar.stop();
        },
      };
    },
    close() {
      multi.stop();
    },
  };
}
