/**
 * One task through the model: samples are read lazily from the adapter, prepared (prompt text, image bytes, video
 * frames) with bounded parallelism, sent to the backend through the BatchDispatcher, scored, and appended to the
 * prediction log as each completes. A single bound on samples in flight (reading → preparing → queued → in the
 * model → scoring) is the back-pressure: the reader stops pulling rows while the window is full, so memory holds
 * at most `window` prepared requests, and the window is larger than what the model takes at once, so the model
 * never waits on preprocessing that could have run ahead. Preparing includes the backend's optional `prepare`
 * (the ONNX backend decodes and tiles images there, on worker threads).
 */
import { writeThumbnail } from './thumbnails.ts';
import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import { isSampleError, type Sample, type SampleOrError } from '../datasets/sample.ts';
import type { TaskConfig } from '../datasets/task.ts';
import type { Scorer } from '../metrics/scorer.ts';
import type { Backend } from './backend.ts';
import { BatchDispatcher } from './batch-dispatcher.ts';
import type { PredictionRecord } from './prediction-record.ts';
import type { PredictionLogWriter } from './prediction-log.ts';
import {
  applyScore,
  failedRecord,
  prepareRequest,
  resultRecord,
  scoreInputOf,
  type PreparedRequest,
} from './request.ts';
import type { RunDeps } from './stages.ts';
import { inShard, type ShardSpec } from './shard.ts';

export interface TaskProgressSink {
  /** A sample finished (logged); `error` when its record carries an error. */
  sampleDone(error: boolean): void;
}

export interface TaskPipelineOptions {
  readonly task: TaskConfig;
  readonly source: AsyncIterable<SampleOrError>;
  readonly backend: Backend;
  readonly deps: Pick<RunDeps, 'buildUserText' | 'loadVideoFrames'>;
  /** null for tasks scored externally. */
  readonly scorer: Scorer | null;
  readonly log: PredictionLogWriter;
  readonly shard?: ShardSpec;
  /** Concurrent `generate` calls (openai: HTTP requests; onnx: 1). */
  readonly concurrency: number;
  /** Samples being prepared at once (default: max(4, what the model takes at once)). */
  readonly prepConcurrency?: number;
  /** Samples in flight in total (default: 2 × what the model takes at once + prepConcurrency). */
  readonly window?: number;
  readonly progress?: TaskProgressSink;
  /** Stops reading new samples; those in flight finish and are logged (graceful SIGINT/SIGTERM). */
  readonly signal?: AbortSignal;
  /** Run folder to write each sample's first image thumbnail into (for the report's sample browser). */
  readonly thumbnailRunDir?: string;
}

export interface TaskPipelineStats {
  /** Samples logged in this call. */
  processed: number;
  errors: number;
  /** Samples already in the log (resume). */
  skipped: number;
  /** Samples belonging to other shards. */
  otherShards: number;
  /** Items whose id repeats an earlier one in the data (not logged), and the first few such ids. */
  duplicates: number;
  duplicateIds: string[];
  wallMs: number;
  /** Sum of backend call times, ms. */
  modelMs: number;
  backendCalls: number;
  /** Largest number of samples in flight at once (a check on the back-pressure bound). */
  peakInFlight: number;
  /** True when `signal` stopped the task before its data ran out. */
  interrupted: boolean;
}

export async function runTaskPipeline(opts: TaskPipelineOptions): Promise<TaskPipelineStats> {
  const { task, backend, log, scorer } = opts;
  const modelWidth = Math.max(1, backend.maxBatch) * opts.concurrency;
  // A backend that prepares (e.g. preprocessing on a worker pool) can use one preparation slot per core.
  const prepConcurrency =
    opts.prepConcurrency ?? Math.max(4, modelWidth, backend.prepare ? availableParallelism() : 0);
  const window = opts.window ?? 2 * modelWidth + prepConcurrency;
  const prepLimit = pLimit(prepConcurrency);
  // Samples read but not yet handed to the model: while there are any, a partial batch waits for them.
  let preparing = 0;
  let reading = true;
  const dispatcher = new BatchDispatcher(backend, opts.concurrency, () => preparing > 0 || reading);
  const stats: TaskPipelineStats = {
    processed: 0,
    errors: 0,
    skipped: 0,
    otherShards: 0,
    duplicates: 0,
    duplicateIds: [],
    wallMs: 0,
    modelMs: 0,
    backendCalls: 0,
    peakInFlight: 0,
    interrupted: false,
  };
  const t0 = performance.now();
  const inFlight = new Set<Promise<void>>();
  const seen = new Set<string>();
  let fatal: Error | undefined;

  const finish = (record: PredictionRecord): void => {
    log.append(record);
    stats.processed++;
    if (record.error !== undefined) stats.errors++;
    opts.progress?.sampleDone(record.error !== undefined);
  };

  const handle = async (sample: Sample): Promise<void> => {
    let prepared: PreparedRequest;
    preparing++;
    try {
      prepared = await prepLimit(async () => {
        const p = await prepareRequest(task, sample, opts.deps);
        // The backend's own preparation (ONNX: image preprocessing on worker threads) runs here, in the bounded
        // stage ahead of the model; the prompt hash was taken above, from the request's own fields.
        return backend.prepare ? { ...p, request: await backend.prepare(p.request) } : p;
      });
    } catch (err) {
      preparing--;
      dispatcher.poke();
      finish(failedRecord(task, sample, `input: ${(err as Error).message}`));
      return;
    }
    preparing--;
    const pending = dispatcher.submit(prepared.request);
    // The thumbnail is made while the model works; it is best effort and never fails the sample.
    const first = prepared.request.images[0];
    const thumbnail =
      opts.thumbnailRunDir && first
        ? writeThumbnail(opts.thumbnailRunDir, task.name, sample.id, first)
        : undefined;
    const result = await pending;
    await thumbnail;
    let record = resultRecord(task, sample, prepared, result);
    if (record.error === undefined && scorer) {
      try {
        record = applyScore(record, scorer.scoreSample(scoreInputOf(record), task.scorer.options));
      } catch (err) {
        record = { ...record, error: `scorer ${scorer.name}: ${(err as Error).message}` };
      }
    }
    finish(record);
  };

  try {
    for await (const item of opts.source) {
      if (fatal) break;
      if (opts.signal?.aborted) {
        stats.interrupted = true;
        break;
      }
      if (!inShard(task.name, item.id, opts.shard)) {
        stats.otherShards++;
        continue;
      }
      // A repeated id cannot get a second record (ids key resume, sharding and merge): counted and reported.
      if (seen.has(item.id)) {
        if (stats.duplicateIds.length < 20) stats.duplicateIds.push(item.id);
        stats.duplicates++;
        continue;
      }
      seen.add(item.id);
      if (log.has(item.id)) {
        stats.skipped++;
        continue;
      }
      if (isSampleError(item)) {
        finish(failedRecord(task, item, `data: ${item.error}`));
        continue;
      }
      if (inFlight.size >= window) {
        // The window is full: nothing more can be read until something finishes, so queued requests go now.
        reading = false;
        dispatcher.poke();
        while (inFlight.size >= window) await Promise.race(inFlight);
        reading = true;
      }
      const p: Promise<void> = handle(item)
        .catch((err: unknown) => {
          // Only the log itself can fail here (disk full, closed): stop reading and report it.
          fatal ??= err as Error;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      stats.peakInFlight = Math.max(stats.peakInFlight, inFlight.size);
    }
  } finally {
    // Also when the data source throws: what is in flight is still logged before the error propagates.
    reading = false;
    dispatcher.poke();
    await Promise.all(inFlight);
  }
  if (fatal) throw fatal;
  stats.wallMs = performance.now() - t0;
  stats.modelMs = dispatcher.modelMs;
  stats.backendCalls = dispatcher.calls;
  return stats;
}
