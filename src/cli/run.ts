/**
 * `internvl-eval run --model M --tasks a,b [...]`: evaluate a model on tasks into a run folder
 * (`results/NAME/manifest.json`, `predictions/TASK.jsonl`, `scores/TASK.json`). Library: runEvaluation().
 * `--backend echo` is the offline smoke/test backend (answers with the question; see src/runner/backends/echo.ts).
 */
import type { Argv, CommandModule } from 'yargs';
import { BACKEND_NAMES, type BackendName } from '../runner/backends/create.ts';
import type { Balance, ServerKind } from '../runner/backends/openai.ts';
import { runWithReport } from '../report/run-with-report.ts';
import { parseLimit, type RunOptions } from '../runner/run-evaluation.ts';
import { engineFlags, engineOptionsFromArgs, type EngineArgs } from './engine-flags.ts';

export interface RunArgs extends EngineArgs {
  model: string;
  tasks?: string;
  preset?: string;
  'max-tiles'?: number;
  backend: string;
  endpoint?: string[];
  'api-key-env'?: string;
  'server-kind': string;
  balance: string;
  'request-timeout'?: number;
  retries?: number;
  'retry-backoff'?: number;
  concurrency?: number;
  'batch-size'?: number;
  'preprocess-workers'?: number;
  limit?: string;
  shard?: string;
  'data-root'?: string;
  'config-dir'?: string;
  out?: string;
  resume: boolean;
  'retry-errors': boolean;
  quiet: boolean;
  progress: string;
  report: boolean;
  'judge-endpoint'?: string;
  'judge-model'?: string;
  'judge-api-key-env'?: string;
  'judge-concurrency'?: number;
  'judge-timeout'?: number;
  'judge-retries'?: number;
}

/** The flags `run` and `sweep` share (sweep takes --variant as a list). */
export function runOptions<T>(y: Argv<T>, opts: { variantList?: boolean } = {}) {
  return engineFlags(y, opts)
    .option('model', {
      type: 'string',
      demandOption: true,
      describe: 'onnx: model folder (checkpoint or built); openai: model name on the server',
    })
    .option('tasks', {
      type: 'string',
      describe: "Comma-separated task names (default: the preset's tasks)",
    })
    .option('preset', {
      type: 'string',
      describe: 'Settings preset, e.g. internvl2-official (tile caps per task)',
    })
    .option('max-tiles', {
      type: 'number',
      describe: "Override every task's tile cap (InternVL --max-num)",
    })
    .option('backend', {
      type: 'string',
      default: 'onnx',
      choices: BACKEND_NAMES as string[],
      describe: 'onnx (in-process), openai (HTTP server), echo (offline smoke test: no model)',
    })
    .option('endpoint', {
      type: 'string',
      array: true,
      describe: 'openai: server URL (repeat for several servers)',
    })
    .option('api-key-env', { type: 'string', describe: 'openai: environment variable holding the API key' })
    .option('server-kind', {
      type: 'string',
      default: 'generic',
      choices: ['lmdeploy', 'vllm', 'generic'],
      describe: 'openai: how per-request tiling is sent',
    })
    .option('balance', {
      type: 'string',
      default: 'least-loaded',
      choices: ['least-loaded', 'round-robin'],
      describe: 'openai: endpoint choice',
    })
    .option('request-timeout', { type: 'number', describe: 'openai: seconds per attempt (default 300)' })
    .option('retries', { type: 'number', describe: 'openai: retries on 429/5xx/timeouts (default 4)' })
    .option('retry-backoff', {
      type: 'number',
      describe: 'openai: first retry wait, seconds (default 0.5; doubles with jitter; Retry-After wins)',
    })
    .option('preprocess-workers', {
      type: 'number',
      describe:
        'onnx: image preprocessing worker threads (default: a quarter of the cores, at least 1; 0 = main thread)',
    })
    .option('concurrency', { type: 'number', describe: 'Backend calls in flight (default 1; openai 8)' })
    .option('batch-size', {
      type: 'number',
      describe: 'Requests per backend call (onnx batched generation; default 1)',
    })
    .option('limit', {
      type: 'string',
      describe: 'First N samples per task, or a fraction in (0,1) (rounded up)',
    })
    .option('shard', {
      type: 'string',
      describe: 'I/N: run shard I of N (by hash of the sample id); combine with `merge`',
    })
    .option('data-root', {
      type: 'string',
      describe: "Dataset root (default: the task's cached hub snapshot)",
    })
    .option('config-dir', { type: 'string', describe: 'Folder of task YAMLs (default configs/tasks)' })
    .option('out', { type: 'string', describe: 'Run folder (default results/<model>-<backend>-<time>)' })
    .option('resume', {
      type: 'boolean',
      default: false,
      describe: 'Continue the run in --out (start it if there is none): skip logged samples',
    })
    .option('retry-errors', {
      type: 'boolean',
      default: false,
      describe: 'With --resume: run failed samples again',
    })
    .option('quiet', { type: 'boolean', default: false, describe: 'No progress output' })
    .option('progress', {
      type: 'string',
      default: 'auto',
      choices: ['auto', 'bar', 'lines', 'none'],
      describe: 'Progress display (auto: bar on a TTY, lines otherwise)',
    })
    .option('report', {
      type: 'boolean',
      default: true,
      describe: 'Write the report after scoring (--no-report to skip)',
    })
    .option('judge-endpoint', {
      type: 'string',
      describe:
        'Optional local GPT judge (OpenAI-compatible URL) for MM-Vet / MathVista; labelled, never the official score',
    })
    .option('judge-model', { type: 'string', describe: 'Judge model name (with --judge-endpoint)' })
    .option('judge-api-key-env', {
      type: 'string',
      describe: "Environment variable holding the judge's API key (the key is never written)",
    })
    .option('judge-concurrency', { type: 'number', describe: 'Judge requests in flight (default 4)' })
    .option('judge-timeout', { type: 'number', describe: 'Judge: seconds per attempt (default 60)' })
    .option('judge-retries', {
      type: 'number',
      describe: 'Judge: HTTP retries per try on 429/5xx/timeouts (default 2)',
    });
}

/** The items of a comma-separated flag value, trimmed, empty ones dropped (undefined stays undefined). */
export function commaList(text: string | undefined): string[] | undefined {
  return text
    ?.split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

/** RunOptions from the shared flags (everything but the abort signal). */
export function runOptionsFromArgs(argv: RunArgs): RunOptions {
  const concurrency = argv.concurrency;
  return {
    model: argv.model,
    tasks: argv.tasks ? commaList(argv.tasks) : undefined,
    preset: argv.preset,
    maxTiles: argv['max-tiles'],
    engine: engineOptionsFromArgs(argv),
    backend: argv.backend as BackendName,
    endpoints: argv.endpoint,
    apiKeyEnv: argv['api-key-env'],
    serverKind: argv['server-kind'] as ServerKind,
    balance: argv.balance as Balance,
    requestTimeoutMs: argv['request-timeout'] !== undefined ? argv['request-timeout'] * 1000 : undefined,
    retries: argv.retries,
    retryBackoffMs: argv['retry-backoff'] !== undefined ? argv['retry-backoff'] * 1000 : undefined,
    concurrency,
    batchSize: argv['batch-size'],
    preprocessWorkers: argv['preprocess-workers'],
    limit: argv.limit !== undefined ? parseLimit(argv.limit) : undefined,
    shard: argv.shard,
    dataRoot: argv['data-root'],
    configDir: argv['config-dir'],
    out: argv.out,
    resume: argv.resume,
    retryErrors: argv['retry-errors'],
    progress: argv.quiet ? 'none' : (argv.progress as 'auto'),
    judgeEndpoint: argv['judge-endpoint'],
    judgeModel: argv['judge-model'],
    judgeApiKeyEnv: argv['judge-api-key-env'],
    judgeConcurrency: argv['judge-concurrency'],
    judgeTimeoutMs: argv['judge-timeout'] !== undefined ? argv['judge-timeout'] * 1000 : undefined,
    judgeRetries: argv['judge-retries'],
    commandLine: process.argv.slice(1),
  };
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe:
    'Evaluate a model on tasks (ONNX engine or an OpenAI-compatible server): predictions, scores, manifest',
  builder: (y) => runOptions(y),
  handler: async (argv) => {
    // First SIGINT/SIGTERM: stop reading, log what is in flight, mark the manifest interrupted. Second: exit now.
    const stop = new AbortController();
    const onSignal = (sig: NodeJS.Signals) => {
      if (stop.signal.aborted) process.exit(130);
      process.stderr.write(`\n${sig}: finishing the samples in flight (again to quit at once)\n`);
      stop.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const summary = await runWithReport({ ...runOptionsFromArgs(argv), signal: stop.signal }, argv.report);
    if (!argv.quiet) {
      for (const t of summary.tasks) {
        const a = t.score.aggregate;
        const judged = t.score.judge ? ` (judge: ${t.score.judge.model}; official score is external)` : '';
        const value = a
          ? `${a.metric} ${a.score.toFixed(2)} ${a.unit} (n=${a.n})${judged}`
          : `${t.score.metric}: scored externally`;
        process.stdout.write(
          `${t.task}: ${value}, errors ${t.score.errors}, ${t.score.samplesPerSec.toFixed(2)} samples/s\n`,
        );
      }
      for (const e of summary.endpoints ?? []) {
        const errors = Object.entries(e.errors)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ');
        process.stdout.write(
          `endpoint ${e.url}: ${e.requests} requests, ${e.ok} ok, ${e.retries} retries` +
            `${errors ? `, errors: ${errors}` : ''}${e.markedDown ? `, marked down ${e.markedDown}×` : ''}\n`,
        );
      }
      process.stdout.write(`run folder: ${summary.runDir}\n`);
      if (summary.report) process.stdout.write(`report: ${summary.report}\n`);
    }
  },
};
