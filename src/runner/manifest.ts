/**
 * The run manifest (`results/NAME/manifest.json`), written before the first sample so that even a run that dies
 * says what it was: the full resolved config (every task config, tile caps, limit, shard), the model files'
 * hashes and variant, package versions, ORT EP, CPU/GPU, git commit, command line and times. `config` is the part
 * that decides results: resume and merge refuse folders whose `config` differs, naming the keys.
 */
import type { EndpointStats } from './backend.ts';
import {
  hasBuildInfo,
  readBuildInfo as readGraphBuildInfo,
  type BuildInfo,
} from '../model/graph/build-info.ts';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeFileAtomicSync } from '../common/atomic-write.ts';
import { sha256File } from '../common/files.ts';
import type { TaskConfig } from '../datasets/task.ts';
import type { BackendInfo } from './backend.ts';
import type { ShardSpec } from './shard.ts';

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Everything that decides the results of a run. Two folders with equal `config` hold comparable predictions. */
export interface RunConfig {
  /** Model identity: the digest of its files when it is a local folder, else the reference as given. */
  model: string;
  variant: string | null;
  backend: string;
  /** openai backend: how per-request tiling is sent (lmdeploy / vllm / generic). */
  serverKind: string | null;
  preset: string | null;
  /** --max-tiles override (null: each task's own cap). */
  maxTiles: number | null;
  /** --limit as given (count or fraction), null for all. */
  limit: number | null;
  shard: ShardSpec | null;
  /** Every task's resolved config (after preset and overrides). */
  tasks: Record<string, TaskConfig>;
}

export interface ModelFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface RunSession {
  startedAt: string;
  endedAt?: string;
  status?: RunStatus;
  commandLine: string[];
  host: string;
  resumed: boolean;
  /** openai backend: per-endpoint attempts, retries and failures by kind in this session. */
  endpoints?: EndpointStats[];
}

export type RunStatus = 'running' | 'complete' | 'failed' | 'interrupted';

export interface RunManifest {
  schema: 1;
  name: string;
  status: RunStatus;
  startedAt: string;
  endedAt?: string;
  config: RunConfig;
  model: { ref: string; variant: string | null; files: ModelFile[]; digest: string | null; build?: unknown };
  backend: BackendInfo;
  /** Settings that change speed, not results. */
  runtime: {
    concurrency: number;
    batchSize: number;
    endpoints: string[];
    dataRoot: string | null;
    configDir: string | null;
    device: string | null;
    /** onnxruntime execution provider (onnx backend only). */
    executionProvider: string | null;
  };
  environment: EnvironmentInfo;
  commandLine: string[];
  sessions: RunSession[];
  /** Set by `merge`: the shard folders this run was combined from. */
  mergedFrom?: {
    dir: string;
    shard: ShardSpec | null;
    startedAt: string;
    endedAt?: string;
    host: string;
    gpus: string[];
  }[];
  error?: string;
}

export interface EnvironmentInfo {
  packageVersion: string | null;
  onnxruntimeNodeVersion: string | null;
  node: string;
  platform: string;
  arch: string;
  cpu: string;
  cpuCount: number;
  memoryBytes: number;
  gpus: string[];
  gitCommit: string | null;
  gitDirty: boolean | null;
  hostname: string;
}

export const MANIFEST_FILE = 'manifest.json';

export function manifestPath(runDir: string): string {
  return path.join(runDir, MANIFEST_FILE);
}

export function readManifest(runDir: string): RunManifest {
  const p = manifestPath(runDir);
  if (!existsSync(p)) throw new Error(`${p}: no run manifest (is this a run folder?)`);
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as RunManifest;
  } catch (err) {
    throw new Error(`${p}: not valid JSON (${(err as Error).message})`);
  }
}

/** Writes the manifest atomically (temp + rename): a kill never leaves it half-written. */
export function writeManifest(runDir: string, manifest: RunManifest): void {
  const p = manifestPath(runDir);
  writeFileAtomicSync(p, JSON.stringify(manifest, null, 2) + '\n');
}

function readPackageVersion(pkgJson: string): string | null {
  try {
    return (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

async function tryExec(cmd: string, args: string[], cwd?: string): Promise<string | null> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { cwd, timeout: 5000, encoding: 'utf8' });
    return stdout.trim();
  } catch {
    return null;
  }
}

export async function collectEnvironment(): Promise<EnvironmentInfo> {
  const [commit, status, gpuList] = await Promise.all([
    tryExec('git', ['rev-parse', 'HEAD'], repoRoot),
    tryExec('git', ['status', '--porcelain', '--untracked-files=no'], repoRoot),
    tryExec('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader']),
  ]);
  const cpus = os.cpus();
  return {
    packageVersion: readPackageVersion(path.join(repoRoot, 'package.json')),
    onnxruntimeNodeVersion: readPackageVersion(
      path.join(repoRoot, 'node_modules/onnxruntime-node/package.json'),
    ),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpu: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    memoryBytes: os.totalmem(),
    gpus: gpuList ? gpuList.split('\n').filter((l) => l.trim() !== '') : [],
    gitCommit: commit,
    gitDirty: status === null ? null : status !== '',
    hostname: os.hostname(),
  };
}

/**
 * Hashes the files of a local model folder (or a single model file), recursively, in name order. A reference
 * that is not a local path (a Hugging Face repo id, an endpoint's model name) yields no files and no digest.
 */
export async function hashModelFiles(ref: string): Promise<{ files: ModelFile[]; digest: string | null }> {
  if (!existsSync(ref)) return { files: [], digest: null };
  const root = path.resolve(ref);
  const list: string[] = [];
  const walk = (p: string): void => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) if (!name.startsWith('.')) walk(path.join(p, name));
    } else if (st.isFile()) list.push(p);
  };
  walk(root);
  const files: ModelFile[] = [];
  for (const f of list) {
    files.push({
      path: statSync(root).isDirectory() ? path.relative(root, f) : path.basename(f),
      bytes: statSync(f).size,
      sha256: await sha256File(f),
    });
  }
  const digest = createHash('sha256');
  for (const f of files) digest.update(`${f.path}\0${f.sha256}\n`);
  return { files, digest: digest.digest('hex') };
}

/** A built model folder's `build.json` (the graph builder's one reader) when it has a valid one. */
export function readBuildInfo(ref: string): BuildInfo | undefined {
  if (!hasBuildInfo(ref)) return undefined;
  try {
    return readGraphBuildInfo(ref);
  } catch {
    return undefined;
  }
}
