/**
 * `scores/TASK.json`: the task's aggregate (the scorer's own `aggregate`, over the samples that did not fail)
 * plus its error count and the throughput/size figures the report tables show. Built from the prediction log
 * alone, so resume and `merge` score exactly what the log holds.
 *
 * Failed samples (bad data, model errors) are counted in `errors` and left out of `aggregate.n`; the report shows
 * both, so a run with failures is never mistaken for a clean one.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../common/atomic-write.ts';
import type { TaskConfig } from '../datasets/task.ts';
import type { Aggregate, SampleScore, Scorer } from '../metrics/scorer.ts';
import type { PredictionRecord } from './prediction-record.ts';
import { scoreInputOf } from './request.ts';

export interface TaskScore {
  task: string;
  title: string;
  group: TaskConfig['group'];
  metric: string;
  /** null only for tasks scored outside (judge/server) whose scorer produces no local aggregate. */
  aggregate: Aggregate | null;
  /** Samples in the log (failed ones included). */
  n: number;
  errors: number;
  external?: { reason: string; submissionFormat: string };
  /**
   * Set when `aggregate` of an external task comes from the optional local judge (`run --judge-endpoint`,
   * src/runner/judge.ts): who judged it. Never the official number, which stays external.
   */
  judge?: { model: string; endpoint: string };
  card?: number;
  combine?: { row: string; tasks: string[]; how: 'mean' | 'sum' };
  tilesPerSample: number;
  imageTokensPerSample: number;
  latencyMsMean: number;
  samplesPerSec: number;
  wallSeconds: number;
}

export interface TaskTiming {
  /** Samples generated during `wallSeconds` (resume: this session's, merge: all shards'). */
  samplesTimed: number;
  wallSeconds: number;
  /** Overrides samplesTimed / wallSeconds (merge: the shards' rates added, as they ran in parallel). */
  samplesPerSec?: number;
}

export function scoreTask(
  task: TaskConfig,
  scorer: Scorer | null,
  records: readonly PredictionRecord[],
  timing: TaskTiming,
): TaskScore {
  const ok = records.filter((r) => r.error === undefined);
  let aggregate: Aggregate | null = null;
  if (scorer) {
    const scored = ok.filter((r) => r.score !== null);
    const inputs = scored.map(scoreInputOf);
    const scores: SampleScore[] = scored.map((r) =>
      r.extracted === undefined
        ? { score: r.score as number }
        : { score: r.score as number, extracted: r.extracted },
    );
    aggregate = scorer.aggregate(inputs, scores, task.scorer.options);
  }
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const out: TaskScore = {
    task: task.name,
    title: task.title,
    group: task.group,
    metric: aggregate?.metric ?? task.scorer.name,
    aggregate,
    n: records.length,
    errors: records.length - ok.length,
    tilesPerSample: mean(ok.map((r) => r.tiles.reduce((a, b) => a + b, 0))),
    imageTokensPerSample: mean(ok.map((r) => r.imageTokens)),
    latencyMsMean: mean(ok.map((r) => r.latencyMs)),
    samplesPerSec:
      timing.samplesPerSec ?? (timing.wallSeconds > 0 ? timing.samplesTimed / timing.wallSeconds : 0),
    wallSeconds: timing.wallSeconds,
  };
  if (task.external) {
    // The grader choice (external.judge) is config, not a result: scores/TASK.json keeps its two fields.
    const { reason, submissionFormat } = task.external;
    out.external = { reason, submissionFormat };
  }
  if (task.report.card !== undefined) out.card = task.report.card;
  if (task.report.combine) out.combine = task.report.combine;
  return out;
}

export function writeTaskScore(runDir: string, score: TaskScore): string {
  const dir = path.join(runDir, 'scores');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${score.task}.json`);
  writeFileAtomicSync(file, JSON.stringify(score, null, 2) + '\n');
  return file;
}
