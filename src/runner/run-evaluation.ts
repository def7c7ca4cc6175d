/**
 * `runEvaluation(options)`: the library behind `internvl-eval run`. Resolves the tasks (task YAML ← preset ←
 * `--max-tiles`), writes the manifest first, runs each task through the pipeline into its append-only log,
 * finalises and scores each log. The report is not its business: src/report/run-with-report.ts adds it.
 *
 * Run folder (consumed by src/report): manifest.json · predictions/TASK.jsonl · scores/TASK.json.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { TaskConfig } from '../datasets/task.ts';
import type { Scorer } from '../metrics/scorer.ts';
import type { Backend, BackendInfo, EndpointStats } from './backend.ts';
import { createBackend, type BackendName } from './backends/create.ts';
import type { EngineOptionsInput } from '../model/engine/engine-options.ts';
import type { Balance, ServerKind } from './backends/openai.ts';
import { diffConfigKeys } from './config-diff.ts';
import {
  collectEnvironment,
  hashModelFiles,
  readBuildInfo,
  readManifest,
  writeManifest,
  type RunConfig,
  type RunManifest,
  type RunSession,
  type RunStatus,
} from './manifest.ts';
import { runTaskPipeline, type TaskPipelineStats } from './pipeline.ts';
import {
  PredictionLogWriter,
  readPredictionLog,
  rewritePredictionLog,
  sortRecords,
} from './prediction-log.ts';
import { createProgress, type ProgressMode } from './progress.ts';
import type { PresetSettings, RunDeps } from './stages.ts';
import type { PredictionRecord } from './prediction-record.ts';
import { parseShard, type ShardSpec } from './shard.ts';
import { judgeExternalTask, judgeKindOf, judgedTaskScore } from './judge.ts';
import { createJudgeClient, type JudgeClient } from './judge-client.ts';
import { submitExternalTask } from './submission.ts';
import { scoreTask, writeTaskScore, type TaskScore } from './task-score.ts';
import os from 'node:os';

export interface RunOptions {
  /** onnx: model folder; openai: model name on the server; echo: any label. */
  model: string;
  /** Task names; default: the preset's tasks. */
  tasks?: readonly string[];
  preset?: string;
  /** Overrides every task's tile cap (InternVL `--max-num`). */
  maxTiles?: number;
  /** onnx: how the engine is built and run (variant, device, threads, ...), passed whole to the backend. */
  engine?: EngineOptionsInput;
  backend?: BackendName;
  endpoints?: readonly string[];
  /** Name of the environment variable holding the API key (never the key itself: it would land in the manifest). */
  apiKeyEnv?: string;
  serverKind?: ServerKind;
  balance?: Balance;
  requestTimeoutMs?: number;
  retries?: number;
  /** openai: first retry backoff, ms (default 500; doubles, with jitter). */
  retryBackoffMs?: number;
  /** Concurrent backend calls (default: 1 for onnx/echo, 8 for openai). */
  concurrency?: number;
  /** Requests per backend call (onnx batched generation; default 1). */
  batchSize?: number;
  /** A count (>= 1) or a fraction in (0, 1) of each task, passed to the dataset adapter. */
  limit?: number;
  shard?: ShardSpec | string;
  dataRoot?: string;
  configDir?: string;
  /** Run folder (default `results/<model>-<backend>-<time>`). */
  out?: string;
  resume?: boolean;
  /** With resume: run again the samples whose record has an error. */
  retryErrors?: boolean;
  progress?: ProgressMode;
  /** Recorded in the manifest. */
  commandLine?: readonly string[];
  /** Messages (default: stderr unless progress is 'none'). */
  log?: (line: string) => void;
  /**
   * Graceful stop (the CLI wires SIGINT/SIGTERM to it; Slurm sends SIGTERM before its kill): no new samples are
   * read, those in flight are logged, the manifest says `interrupted`, and runEvaluation rejects with
   * RunInterruptedError. `--resume` continues.
   */
  signal?: AbortSignal;
  /** Test seams: stage doubles and a ready backend. */
  deps?: RunDeps;
  backendInstance?: Backend;
  echoDelayMs?: number;
  /** onnx: image preprocessing worker threads (default: cores - 1; 0 = on the main thread). */
  preprocessWorkers?: number;
  /**
   * Optional local GPT judge (src/runner/judge.ts) for the external tasks whose official score is a GPT judge
   * (MM-Vet, MathVista): an OpenAI-compatible endpoint and the model name to ask. Server-scored tasks are never
   * judged. The result is labelled with the judge model and never presented as the official number.
   */
  judgeEndpoint?: string;
  judgeModel?: string;
  /** Name of the environment variable holding the judge's API key (the key itself is never recorded). */
  judgeApiKeyEnv?: string;
  /** Judge requests in flight (default 4), per-attempt timeout (default 60 000 ms), HTTP retries per try (2). */
  judgeConcurrency?: number;
  judgeTimeoutMs?: number;
  judgeRetries?: number;
}

export class RunInterruptedError extends Error {
  constructor(readonly runDir: string) {
    super(`run interrupted; continue it with --resume --out ${runDir}`);
  }
}

export interface TaskRunSummary {
  task: string;
  score: TaskScore;
  stats: TaskPipelineStats;
  predictionsFile: string;
  scoresFile: string;
  /** External tasks: the submission file (submission.ts), when it could be written. */
  submissionFile?: string;
}

export interface RunSummary {
  runDir: string;
  name: string;
  status: RunStatus;
  tasks: TaskRunSummary[];
  /** Path of the report, when the caller wrote one (src/report/run-with-report.ts). */
  report?: string;
  notes: string[];
  /** openai backend: what each endpoint saw (attempts, retries, failures by kind); also in the manifest. */
  endpoints?: EndpointStats[];
}

/** Strips what the loader adds beyond the TaskConfig contract (file path, sample count). */
function taskConfigOf(t: TaskConfig & { file?: string; samples?: number }): TaskConfig {
  const { file: _f, samples: _s, ...rest } = t;
  return rest;
}

export function parseLimit(text: string | number): number {
  const n = typeof text === 'number' ? text : Number(text);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`--limit "${text}": expected a count >= 1 or a fraction in (0, 1)`);
  if (n >= 1 && !Number.isInteger(n)) throw new Error(`--limit "${text}": a count must be a whole number`);
  return n;
}

export async function resolveTasks(
  opts: Pick<RunOptions, 'tasks' | 'preset' | 'maxTiles' | 'configDir'>,
  deps: RunDeps,
): Promise<{ tasks: TaskConfig[]; preset: PresetSettings | undefined; sampleCounts: Map<string, number> }> {
  const preset = opts.preset ? await deps.loadPreset(opts.preset, { configDir: opts.configDir }) : undefined;
  const names = opts.tasks?.length ? [...opts.tasks] : (preset?.tasks ?? []);
  if (names.length === 0) throw new Error('no tasks: give --tasks a,b or a --preset that lists tasks');
  const dupe = names.find((n, i) => names.indexOf(n) !== i);
  if (dupe) throw new Error(`--tasks names "${dupe}" twice`);
  const tasks: TaskConfig[] = [];
  const sampleCounts = new Map<string, number>();
  for (const name of names) {
    const loaded = (await deps.loadTask(name, { configDir: opts.configDir })) as TaskConfig & {
      samples?: number;
    };
    if (typeof loaded.samples === 'number') sampleCounts.set(name, loaded.samples);
    const t = taskConfigOf(loaded);
    if (preset) {
      // InternVL without --dynamic: one 448x448 resize, no tiling, no thumbnail.
      t.maxTiles = preset.dynamic ? preset.maxTilesFor(name) : 1;
      t.useThumbnail = preset.useThumbnail;
    }
    if (opts.maxTiles !== undefined) {
      if (!Number.isInteger(opts.maxTiles) || opts.maxTiles < 1) throw new Error('--max-tiles must be >= 1');
      t.maxTiles = opts.maxTiles;
    }
    tasks.push(t);
  }
  return { tasks, preset, sampleCounts };
}

function defaultRunName(opts: RunOptions, backend: string): string {
  const base = path.basename(opts.model.replace(/\/+$/, '')).replace(/[^\w.-]+/g, '_') || 'model';
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `${base}${opts.engine?.variant ? `-${opts.engine.variant}` : ''}-${backend}-${stamp}`;
}

function estimateTotal(
  count: number | undefined,
  limit: number | undefined,
  shard: ShardSpec | undefined,
): number | null {
  let total: number | null = count ?? null;
  if (limit !== undefined) total = limit >= 1 ? (total === null ? limit : Math.min(total, limit)) : null;
  if (total !== null && limit !== undefined && limit < 1 && count !== undefined)
    total = Math.ceil(count * limit);
  if (total !== null && shard) total = Math.round(total / shard.count);
  return total;
}

export async function runEvaluation(options: RunOptions): Promise<RunSummary> {
  // Lazily: a runner test that injects its own stages never loads the engine or ffmpeg.
  const deps = options.deps ?? (await import('./real-stages.ts')).realDeps;
  const backendName: BackendName = options.backend ?? 'onnx';
  const shard = typeof options.shard === 'string' ? parseShard(options.shard) : options.shard;
  const limit = options.limit === undefined ? undefined : parseLimit(options.limit);
  const progressMode = options.progress ?? 'auto';
  const say = options.log ?? ((line: string) => progressMode !== 'none' && process.stderr.write(`${line}\n`));
  const notes: string[] = [];

  const { tasks, preset, sampleCounts } = await resolveTasks(options, deps);
  const runDir = path.resolve(options.out ?? path.join('results', defaultRunName(options, backendName)));
  const name = path.basename(runDir);

  // Model identity before anything slow: resume must refuse a changed model before loading it.
  const isLocalModel = backendName === 'onnx' && existsSync(options.model);
  const modelFiles = isLocalModel ? await hashModelFiles(options.model) : { files: [], digest: null };
  // OnnxBackend's default variant is fp32; recorded explicitly so `--variant fp32` and no flag resume alike.
  const variant = options.engine?.variant ?? (backendName === 'onnx' ? 'fp32' : null);
  const config: RunConfig = {
    model: modelFiles.digest ? `sha256:${modelFiles.digest}` : options.model,
    variant,
    backend: backendName,
    serverKind: backendName === 'openai' ? (options.serverKind ?? 'generic') : null,
    preset: preset?.name ?? null,
    maxTiles: options.maxTiles ?? null,
    limit: limit ?? null,
    shard: shard ?? null,
    tasks: Object.fromEntries(tasks.map((t) => [t.name, t])),
  };

  let previous: RunManifest | undefined;
  if (existsSync(path.join(runDir, 'manifest.json'))) {
    if (!options.resume) {
      throw new Error(`${runDir} already holds a run; pass --resume to continue it or choose another --out`);
    }
    previous = readManifest(runDir);
    // Tasks may be added on resume; every other key must match.
    const prevCfg = { ...previous.config, tasks: pickTasks(previous.config.tasks, tasks) };
    const diff = diffConfigKeys(prevCfg, config);
    if (diff.length) {
      throw new Error(
        `${runDir}: cannot resume, the config differs from the manifest at: ${diff.join(', ')}`,
      );
    }
    for (const [k, v] of Object.entries(previous.config.tasks)) config.tasks[k] ??= v;
  } else if (existsSync(path.join(runDir, 'predictions')) && !options.resume) {
    throw new Error(`${runDir}: has predictions but no manifest; choose another --out`);
  }

  const concurrency = options.concurrency ?? (backendName === 'openai' ? 8 : 1);
  const batchSize = options.batchSize ?? 1;
  const apiKey = options.apiKeyEnv ? process.env[options.apiKeyEnv] : undefined;
  if (options.apiKeyEnv && !apiKey)
    throw new Error(`--api-key-env ${options.apiKeyEnv}: that variable is not set`);

  const judge = judgeClientOf(options);

  const startedAt = new Date().toISOString();
  const commandLine = [...(options.commandLine ?? process.argv)];
  const session: RunSession = {
    startedAt,
    commandLine,
    host: os.hostname(),
    resumed: previous !== undefined,
  };
  const runtime = (info: BackendInfo): RunManifest['runtime'] => ({
    concurrency,
    batchSize,
    endpoints: [...(options.endpoints ?? [])],
    dataRoot: options.dataRoot ? path.resolve(options.dataRoot) : null,
    configDir: options.configDir ? path.resolve(options.configDir) : null,
    device: options.engine?.device ?? info.device ?? null,
    executionProvider: executionProvider(backendName, info.device ?? options.engine?.device),
  });
  const pendingInfo: BackendInfo = { name: backendName, model: options.model };
  const buildInfo = isLocalModel ? readBuildInfo(options.model) : undefined;
  const manifest: RunManifest = {
    schema: 1,
    name,
    status: 'running',
    startedAt: previous?.startedAt ?? startedAt,
    config,
    model: {
      ref: options.model,
      variant,
      files: modelFiles.files,
      digest: modelFiles.digest,
      ...(buildInfo !== undefined ? { build: buildInfo } : {}),
    },
    backend: pendingInfo,
    runtime: runtime(pendingInfo),
    environment: await collectEnvironment(),
    commandLine,
    sessions: [...(previous?.sessions ?? []), session],
  };
  // Written before the model loads, so even a run that dies loading it says what it was.
  mkdirSync(path.join(runDir, 'predictions'), { recursive: true });
  writeManifest(runDir, manifest);

  let backend: Backend;
  try {
    backend =
      options.backendInstance ??
      (await createBackend({
        backend: backendName,
        model: options.model,
        ...(options.engine ? { engine: options.engine } : {}),
        batchSize,
        endpoints: options.endpoints,
        apiKey,
        serverKind: options.serverKind,
        balance: options.balance,
        timeoutMs: options.requestTimeoutMs,
        retries: options.retries,
        backoffMs: options.retryBackoffMs,
        echoDelayMs: options.echoDelayMs,
        preprocessWorkers: options.preprocessWorkers,
      }));
  } catch (err) {
    manifest.status = 'failed';
    manifest.error = `loading the backend: ${(err as Error).message}`;
    finishManifest(runDir, manifest);
    throw err;
  }
  manifest.backend = backend.info;
  manifest.runtime = runtime(backend.info);
  writeManifest(runDir, manifest);

  const progress = createProgress(progressMode);
  const summaries: TaskRunSummary[] = [];
  try {
    for (const task of tasks) {
      if (options.signal?.aborted) throw new RunInterruptedError(runDir);
      summaries.push(
        await runOneTask({
          task,
          runDir,
          deps,
          backend,
          concurrency,
          limit,
          shard,
          options,
          progress,
          sampleCounts,
          notes,
          judge,
        }),
      );
      recordEndpointStats(manifest, backend);
      writeManifest(runDir, manifest);
    }
  } catch (err) {
    progress.close();
    manifest.status = err instanceof RunInterruptedError ? 'interrupted' : 'failed';
    manifest.error = (err as Error).message;
    recordEndpointStats(manifest, backend);
    finishManifest(runDir, manifest);
    if (!options.backendInstance) await backend.close();
    throw err;
  }
  progress.close();
  if (!options.backendInstance) await backend.close();
  manifest.status = 'complete';
  finishManifest(runDir, manifest);

  const summary: RunSummary = { runDir, name, status: 'complete', tasks: summaries, notes };
  const endpoints = backend.endpointStats?.();
  if (endpoints) summary.endpoints = endpoints;
  for (const n of notes) say(n);
  return summary;
}

/** The onnxruntime execution provider a device name stands for (engine: src/model/engine/sessions.ts). */
function executionProvider(backend: BackendName, device: string | undefined): string | null {
  if (backend !== 'onnx') return null;
  const eps: Record<string, string> = {
    cpu: 'CPUExecutionProvider',
    cuda: 'CUDAExecutionProvider',
    webgpu: 'WebGpuExecutionProvider',
  };
  return eps[device ?? 'cpu'] ?? device ?? null;
}

function pickTasks(prev: Record<string, TaskConfig>, now: readonly TaskConfig[]): Record<string, TaskConfig> {
  const out: Record<string, TaskConfig> = {};
  for (const t of now) if (prev[t.name]) out[t.name] = prev[t.name];
  for (const t of now) if (!prev[t.name]) out[t.name] = t; // a task new to this run folder
  return out;
}

/** The backend's per-endpoint counts (openai), on this session's manifest entry. */
function recordEndpointStats(manifest: RunManifest, backend: Backend): void {
  const stats = backend.endpointStats?.();
  const s = manifest.sessions.at(-1);
  if (stats && s) s.endpoints = stats;
}

function finishManifest(runDir: string, manifest: RunManifest): void {
  const endedAt = new Date().toISOString();
  manifest.endedAt = endedAt;
  const s = manifest.sessions.at(-1);
  if (s) {
    s.endedAt = endedAt;
    s.status = manifest.status;
  }
  writeManifest(runDir, manifest);
}

async function runOneTask(a: {
  task: TaskConfig;
  runDir: string;
  deps: RunDeps;
  backend: Backend;
  concurrency: number;
  limit: number | undefined;
  shard: ShardSpec | undefined;
  options: RunOptions;
  progress: ReturnType<typeof createProgress>;
  sampleCounts: Map<string, number>;
  notes: string[];
  judge?: JudgeClient;
}): Promise<TaskRunSummary> {
  const { task, runDir, deps, options } = a;
  const logPath = path.join(runDir, 'predictions', `${task.name}.jsonl`);
  const scorer = resolveScorer(task, deps);

  // Resume: cut a torn last line, optionally drop failed records so they run again.
  let existing = readPredictionLog(logPath, { repair: true }).records;
  if (existing.length > 0 && !options.resume) {
    throw new Error(`${logPath} already has ${existing.length} records; pass --resume`);
  }
  if (options.retryErrors && existing.some((r) => r.error !== undefined)) {
    existing = existing.filter((r) => r.error === undefined);
    rewritePredictionLog(logPath, existing);
  }
  const writer = new PredictionLogWriter(
    logPath,
    existing.map((r) => r.id),
  );
  // A fractional --limit needs the task's size: count the items once (rows only, no image is read).
  // ceil as lm-evaluation-harness does for a fractional --limit (`math.ceil(len(docs) * limit)`).
  let countLimit = a.limit;
  let known = a.sampleCounts.get(task.name);
  if (a.limit !== undefined && a.limit < 1) {
    let total = 0;
    for await (const _item of deps.openTask(task, { root: options.dataRoot })) total++;
    countLimit = Math.ceil(total * a.limit);
    known = total;
  }
  const handle = a.progress.startTask(task.name, estimateTotal(known, a.limit, a.shard), existing.length);
  let stats: TaskPipelineStats;
  try {
    stats = await runTaskPipeline({
      task,
      source: deps.openTask(task, { root: options.dataRoot, limit: countLimit }),
      backend: a.backend,
      deps,
      scorer,
      log: writer,
      shard: a.shard,
      concurrency: a.concurrency,
      progress: handle,
      signal: options.signal,
      thumbnailRunDir: runDir,
    });
  } finally {
    writer.close();
    handle.end();
  }

  if (stats.duplicates > 0) {
    a.notes.push(
      `${task.name}: ${stats.duplicates} item(s) repeat an earlier sample id and were not run: ${stats.duplicateIds.join(', ')}`,
    );
  }
  if (stats.interrupted) throw new RunInterruptedError(runDir);
  // Finalise: deterministic order, then score from the log itself.
  const records = sortRecords(readPredictionLog(logPath).records);
  rewritePredictionLog(logPath, records);
  const scoresFile = path.join(runDir, 'scores', `${task.name}.json`);
  let timing = { samplesTimed: stats.processed, wallSeconds: stats.wallMs / 1000 };
  if (stats.processed === 0 && existsSync(scoresFile) && statSync(scoresFile).size > 0) {
    // Nothing left to run on resume: keep the throughput measured when the samples actually ran.
    const prev = JSON.parse(readFileSync(scoresFile, 'utf8')) as TaskScore;
    timing = { samplesTimed: prev.samplesPerSec * prev.wallSeconds, wallSeconds: prev.wallSeconds };
  }
  const score = scoreTask(task, scorer, records, timing);
  writeTaskScore(runDir, score);
  const summary: TaskRunSummary = { task: task.name, score, stats, predictionsFile: logPath, scoresFile };
  if (task.external) {
    // Server/judge-scored task: the predictions in the format the server takes, and a note that says so.
    const sub = await submitExternalTask(runDir, task, records, { dataRoot: options.dataRoot });
    a.notes.push(sub.note);
    if (sub.file) summary.submissionFile = sub.file;
    if (a.judge) await judgeTask(a.judge, task, records, logPath, runDir, summary, a.notes, options);
  }
  return summary;
}

/** The judge client from `--judge-*`, or undefined; checked before anything runs. */
function judgeClientOf(options: RunOptions): JudgeClient | undefined {
  if (options.judgeEndpoint === undefined && options.judgeModel === undefined) {
    if (options.judgeApiKeyEnv)
      throw new Error('--judge-api-key-env needs --judge-endpoint and --judge-model');
    return undefined;
  }
  if (!options.judgeEndpoint || !options.judgeModel)
    throw new Error('--judge-endpoint and --judge-model go together');
  const apiKey = options.judgeApiKeyEnv ? process.env[options.judgeApiKeyEnv] : undefined;
  if (options.judgeApiKeyEnv && !apiKey)
    throw new Error(`--judge-api-key-env ${options.judgeApiKeyEnv}: that variable is not set`);
  return createJudgeClient({
    endpoint: options.judgeEndpoint,
    model: options.judgeModel,
    apiKey,
    concurrency: options.judgeConcurrency,
    timeoutMs: options.judgeTimeoutMs,
    retries: options.judgeRetries,
  });
}

/**
 * Judged external task: records get their judged score (log rewritten), scores/TASK.json gets the judge's
 * aggregate and `judge: {model, endpoint}`. A failure here is a note, never a failed run.
 */
async function judgeTask(
  judge: JudgeClient,
  task: TaskConfig,
  records: PredictionRecord[],
  logPath: string,
  runDir: string,
  summary: TaskRunSummary,
  notes: string[],
  options: RunOptions,
): Promise<void> {
  if (judgeKindOf(task) === null) {
    notes.push(`${task.name}: scored by a submission server; the judge does not score it`);
    return;
  }
  try {
    const judged = await judgeExternalTask(task, records, judge, { dataRoot: options.dataRoot });
    if (!judged) return;
    rewritePredictionLog(logPath, judged.records);
    summary.score = judgedTaskScore(summary.score, judged);
    writeTaskScore(runDir, summary.score);
    notes.push(judged.note);
  } catch (err) {
    notes.push(`${task.name}: the judge failed, no local score: ${(err as Error).message}`);
  }
}

/**
 * The task's scorer, or null for tasks scored outside (judge/server, `external:` in the YAML): their records keep
 * `score: null` (hidden answers would make every local score meaningless) and their aggregate is null.
 */
export function resolveScorer(task: TaskConfig, deps: Pick<RunDeps, 'getScorer'>): Scorer | null {
  if (task.external || task.scorer.name === 'external') return null;
  return deps.getScorer(task.scorer.name);
}
