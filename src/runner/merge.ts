/**
 * `internvl-eval merge OUT SHARD_DIR...`: combines the run folders of `--shard I/N` runs into one run folder, as
 * if it had run unsharded. Refuses shards whose configs differ (naming the keys), a missing or doubled shard,
 * an unfinished shard, a record in the wrong shard and a sample id in two shards; then writes the logs in the
 * finished-log order and re-scores each task from the merged log.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { TaskConfig } from '../datasets/task.ts';
import type { Scorer } from '../metrics/scorer.ts';
import { diffConfigKeys } from './config-diff.ts';
import { readManifest, writeManifest, type RunManifest } from './manifest.ts';
import type { PredictionRecord } from './prediction-record.ts';
import { readPredictionLog, rewritePredictionLog, sortRecords } from './prediction-log.ts';
import { resolveScorer } from './run-evaluation.ts';
import { formatShard, shardOf } from './shard.ts';
import { writeRunSubmissions } from './submission.ts';
import { scoreTask, writeTaskScore, type TaskScore } from './task-score.ts';

export interface MergeOptions {
  out: string;
  shardDirs: readonly string[];
  commandLine?: readonly string[];
  /** Scorer lookup (default: the metrics registry). */
  getScorer?: (name: string) => Scorer;
}

export interface MergeSummary {
  runDir: string;
  shards: number;
  tasks: { task: string; n: number; score: TaskScore }[];
  notes: string[];
}

export async function mergeRuns(opts: MergeOptions): Promise<MergeSummary> {
  if (opts.shardDirs.length === 0) throw new Error('merge: name the shard run folders');
  const getScorer = opts.getScorer ?? (await import('../metrics/registry.ts')).getScorer;
  const shards = opts.shardDirs.map((dir) => ({ dir: path.resolve(dir), manifest: readManifest(dir) }));

  for (const s of shards) {
    if (!s.manifest.config.shard) throw new Error(`${s.dir}: not a shard (its run had no --shard)`);
    if (s.manifest.status !== 'complete') {
      throw new Error(
        `${s.dir}: shard ${formatShard(s.manifest.config.shard)} is not complete (status ${s.manifest.status}); finish it with --resume`,
      );
    }
  }
  const first = shards[0];
  const baseConfig = { ...first.manifest.config, shard: null };
  for (const s of shards.slice(1)) {
    const diff = diffConfigKeys(baseConfig, { ...s.manifest.config, shard: null });
    if (diff.length) throw new Error(`merge: ${s.dir} differs from ${first.dir} at: ${diff.join(', ')}`);
  }
  const count = first.manifest.config.shard!.count;
  const byIndex = new Map<number, string>();
  for (const s of shards) {
    const sh = s.manifest.config.shard!;
    if (sh.count !== count)
      throw new Error(`merge: ${s.dir} is shard ${formatShard(sh)} but ${first.dir} has ${count} shards`);
    const other = byIndex.get(sh.index);
    if (other) throw new Error(`merge: shard ${formatShard(sh)} given twice (${other}, ${s.dir})`);
    byIndex.set(sh.index, s.dir);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length)
    throw new Error(`merge: missing shard(s) ${missing.map((i) => `${i}/${count}`).join(', ')}`);

  const runDir = path.resolve(opts.out);
  if (
    existsSync(path.join(runDir, 'manifest.json')) ||
    (existsSync(runDir) && readdirSync(runDir).length > 0)
  ) {
    throw new Error(`merge: ${runDir} is not empty; choose a new output folder`);
  }
  mkdirSync(path.join(runDir, 'predictions'), { recursive: true });

  const tasks: MergeSummary['tasks'] = [];
  for (const [name, task] of Object.entries(first.manifest.config.tasks) as [string, TaskConfig][]) {
    const seen = new Map<string, string>();
    const records: PredictionRecord[] = [];
    let wallSeconds = 0;
    let samplesPerSec = 0;
    for (const s of shards) {
      const sh = s.manifest.config.shard!;
      const file = path.join(s.dir, 'predictions', `${name}.jsonl`);
      if (!existsSync(file)) throw new Error(`merge: ${file} is missing`);
      const { records: recs, tornBytes } = readPredictionLog(file);
      if (tornBytes > 0) throw new Error(`merge: ${file} ends in a torn line; resume that shard first`);
      for (const r of recs) {
        const owner = shardOf(name, r.id, count);
        if (owner !== sh.index) {
          throw new Error(
            `merge: ${file}: sample "${r.id}" belongs to shard ${owner}/${count}, not ${formatShard(sh)}`,
          );
        }
        const dupe = seen.get(r.id);
        if (dupe) throw new Error(`merge: sample "${r.id}" of ${name} is in ${dupe} and ${file}`);
        seen.set(r.id, file);
        records.push(r);
      }
      const scoreFile = path.join(s.dir, 'scores', `${name}.json`);
      if (existsSync(scoreFile)) {
        const sc = JSON.parse(readFileSync(scoreFile, 'utf8')) as TaskScore;
        // Shards ran side by side: the merged wall time is the longest, the throughput the sum.
        wallSeconds = Math.max(wallSeconds, sc.wallSeconds);
        samplesPerSec += sc.samplesPerSec;
      }
    }
    const sorted = sortRecords(records);
    rewritePredictionLog(path.join(runDir, 'predictions', `${name}.jsonl`), sorted);
    const scorer = resolveScorer(task, { getScorer });
    const score = scoreTask(task, scorer, sorted, {
      samplesTimed: sorted.length,
      wallSeconds,
      samplesPerSec,
    });
    writeTaskScore(runDir, score);
    tasks.push({ task: name, n: sorted.length, score });
  }

  const times = shards.map((s) => s.manifest);
  const manifest: RunManifest = {
    ...first.manifest,
    name: path.basename(runDir),
    status: 'complete',
    startedAt: minIso(times.map((m) => m.startedAt)),
    endedAt: maxIso(times.map((m) => m.endedAt ?? m.startedAt)),
    config: { ...first.manifest.config, shard: null },
    commandLine: [...(opts.commandLine ?? process.argv)],
    sessions: shards.flatMap((s) => s.manifest.sessions),
    mergedFrom: shards
      .sort((a, b) => a.manifest.config.shard!.index - b.manifest.config.shard!.index)
      .map((s) => ({
        dir: s.dir,
        shard: s.manifest.config.shard,
        startedAt: s.manifest.startedAt,
        endedAt: s.manifest.endedAt,
        host: s.manifest.environment.hostname,
        gpus: s.manifest.environment.gpus,
      })),
  };
  writeManifest(runDir, manifest);
  const notes: string[] = [];
  // Externally scored tasks: each shard wrote a partial submission file; the merged run gets the whole one.
  for (const s of await writeRunSubmissions(runDir)) notes.push(s.note);
  return { runDir, shards: count, tasks, notes };
}

function minIso(xs: string[]): string {
  return [...xs].sort()[0];
}
function maxIso(xs: string[]): string {
  return [...xs].sort().at(-1)!;
}
