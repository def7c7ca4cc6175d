/**
 * Task data from the Hugging Face hub: the files a task YAML's `source.hub` names (globs expanded against the
 * repo), downloaded through the HF cache client (../common/hf-cache.ts), laid out (`place`) and unpacked
 * (`extract`, archive.ts) under the dataset root, and checked afterwards (`verifyTask`). Tasks sourced by URL
 * (VLMEvalKit TSVs) go through url-source.ts.
 */
import { copyFile, link, mkdir, realpath, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  cachedCommit,
  downloadHubFile,
  fail,
  HubError,
  hubEnv,
  listLocalFiles,
  listRepoFiles,
  LOCAL_STATE_DIR,
  repoCacheDir,
  snapshotDir,
  type DownloadedFile,
  type FetchOptions,
  type HubEnv,
  type HubRepo,
} from '../common/hf-cache.ts';
import { md5File, pathExists, sha256File } from '../common/files.ts';
import {
  extractionStatus,
  extractZip,
  type ExtractLimits,
  type ExtractProgress,
  type ExtractResult,
} from './archive.ts';
import { expandGlob, globToRegExp, isGlob } from './glob.ts';
import { resolveInside } from './safe-path.ts';
import type { TaskConfig } from './task.ts';
import {
  fetchUrlSource,
  isUrlSourced,
  lmuDataDir,
  urlSourceRoot,
  verifyUrlSource,
  type UrlFetchResult,
} from './url-source.ts';

/** Expands globs in `files` against a file list; a pattern matching nothing is an error. */
export function matchFiles(
  env: HubEnv,
  patterns: readonly string[],
  all: readonly string[],
  what: string,
): string[] {
  const out = new Set<string>();
  for (const p of patterns) {
    if (!isGlob(p)) {
      out.add(p);
      continue;
    }
    const re = globToRegExp(p);
    const hits = all.filter((f) => re.test(f));
    if (!hits.length) fail(env, `${what}: no file matches "${p}"`);
    hits.forEach((h) => out.add(h));
  }
  return [...out].sort();
}

export interface FetchedTask {
  /** The dataset root for `openTask`: `--root DIR` when given, else the snapshot folder. */
  root: string;
  /** The HF cache snapshot folder the downloaded files live in. */
  snapshot: string;
  commit: string;
  files: DownloadedFile[];
  /** Archives the task lists under `source.hub.extract`, extracted (or found extracted) under `root`. */
  extracted: ExtractResult[];
  /** Set for a task fetched by `source.options.url` (url-source.ts); `snapshot` is then its folder, `commit` ''. */
  url?: UrlFetchResult;
}

/** `source.hub.extract[]`: a zip (or glob of zips) of the repo, unpacked to `to` under the dataset root. */
export interface HubArchiveSpec {
  file: string;
  /** Folder under the dataset root; `{stem}` is the archive's base name without `.zip`. Default `.`. */
  to?: string;
  limits?: Partial<ExtractLimits>;
}

/** `source.hub.place[]`: a repo file that must also appear at another path under the dataset root. */
export interface HubPlacement {
  file: string;
  to: string;
}

/** The hub block as the task-config schema outputs it (TaskSource.hub with typed extraction limits). */
export type HubSourceConfig = HubRepo & {
  files: string[];
  extract?: HubArchiveSpec[];
  place?: HubPlacement[];
};

/** Folder (under a dataset root) that holds extraction markers and temp folders. */
export const EXTRACT_STATE = LOCAL_STATE_DIR;

function hubOf(task: TaskConfig): HubSourceConfig {
  const hub = task.source.hub as HubSourceConfig | undefined;
  if (!hub) {
    throw new HubError(
      `task ${task.name} has no hub source; get its data as its YAML comment says and pass --root DIR` +
        (task.source.options?.url ? ` (download: ${String(task.source.options.url)})` : ''),
    );
  }
  return hub;
}

/** Where `extract[].to` puts `archive` (relative to the dataset root). */
export function archiveTarget(spec: HubArchiveSpec, archive: string): string {
  const stem = path.posix.basename(archive).replace(/\.zip$/i, '');
  return (spec.to ?? '.').split('{stem}').join(stem);
}

/** The repo files an extract spec names, from a list of known repo files. */
function archivesOf(spec: HubArchiveSpec, names: readonly string[]): string[] {
  if (!isGlob(spec.file)) return names.includes(spec.file) ? [spec.file] : [];
  const re = globToRegExp(spec.file);
  return names.filter((n) => re.test(n));
}

/** The sha256 an LFS blob is named by (huggingface_hub names LFS blobs by their sha256), if `file` is one. */
async function blobSha256(file: string): Promise<string | undefined> {
  const name = path.basename(await realpath(file));
  return /^[0-9a-f]{64}$/.test(name) ? name : undefined;
}

/** Hard link (the same blob, no extra space) or, across file systems, a copy. */
async function placeFile(src: string, dest: string): Promise<void> {
  const real = await realpath(src);
  await mkdir(path.dirname(dest), { recursive: true });
  await rm(dest, { force: true });
  await link(real, dest).catch(() => copyFile(real, dest));
}

export interface FetchTaskOptions extends FetchOptions {
  env?: HubEnv;
  /** Also lay the files out under DIR (hard links or copies) and extract archives there, not in the snapshot. */
  root?: string;
  /** Overrides the limits of every archive (CLI flags). */
  extractLimits?: Partial<ExtractLimits>;
  onExtract?: (p: ExtractProgress) => void;
  /** Folder of URL-sourced (VLMEvalKit TSV) tasks when no `root` is given; default `lmuDataDir()`. */
  lmuData?: string;
}

/**
 * Downloads (or, offline, finds) every hub file of a task, places the `place` copies and extracts the `extract`
 * archives; returns the dataset root (the snapshot, or `opts.root`).
 */
export async function fetchTask(task: TaskConfig, opts: FetchTaskOptions = {}): Promise<FetchedTask> {
  const env = opts.env ?? hubEnv();
  if (isUrlSourced(task)) {
    const dir = opts.root ? path.resolve(opts.root) : (opts.lmuData ?? lmuDataDir());
    const url = await fetchUrlSource(task, { ...opts, dir, offline: env.offline });
    const file: DownloadedFile = { path: url.path, commit: '', size: url.size };
    return { root: url.dir, snapshot: url.dir, commit: '', files: [file], extracted: [], url };
  }
  const hub = hubOf(task);
  const names = hub.files.some(isGlob)
    ? matchFiles(env, hub.files, await listRepoFiles(env, hub, opts), `task ${task.name}`)
    : hub.files;
  const files: DownloadedFile[] = [];
  for (const n of names) files.push(await downloadHubFile(env, hub, n, opts));
  const commit = files[0]?.commit ?? (await cachedCommit(env, hub)) ?? '';
  const snapshot = snapshotDir(env, hub, commit);
  const root = opts.root ? path.resolve(opts.root) : snapshot;
  const byName = new Map(names.map((n, k) => [n, files[k]]));
  if (opts.root) {
    for (const f of files) await placeFile(f.path, path.join(root, path.relative(snapshot, f.path)));
  }
  for (const p of hub.place ?? []) {
    const f = byName.get(p.file);
    if (!f)
      throw new HubError(`task ${task.name}: source.hub.place names "${p.file}", which is not in files`);
    await placeFile(f.path, resolveInside(root, p.to));
  }
  const extracted: ExtractResult[] = [];
  for (const spec of hub.extract ?? []) {
    const archives = archivesOf(spec, names);
    if (!archives.length) {
      throw new HubError(`task ${task.name}: source.hub.extract: no downloaded file matches "${spec.file}"`);
    }
    for (const a of archives) {
      const f = byName.get(a)!;
      extracted.push(
        await extractZip(f.path, resolveInside(root, archiveTarget(spec, a)), {
          key: a,
          // Offline the hub gives no sha256, but an LFS blob is named by it: no need to hash GBs again.
          sha256: f.sha256 ?? (await blobSha256(f.path)),
          stateDir: path.join(root, EXTRACT_STATE),
          limits: { ...spec.limits, ...opts.extractLimits },
          onProgress: opts.onExtract,
        }),
      );
    }
  }
  return { root, snapshot, commit, files, extracted };
}

/**
 * The dataset root of a task: `root` if given; else, for a hub task, its cached snapshot, and for a URL-sourced
 * task, the LMUData folder when its file is there (no network: fetch first).
 */
export async function resolveTaskRoot(
  task: TaskConfig,
  opts: { root?: string; env?: HubEnv; lmuData?: string } = {},
): Promise<string> {
  if (opts.root) return path.resolve(opts.root);
  if (isUrlSourced(task)) return urlSourceRoot(task, opts.lmuData ?? lmuDataDir());
  const env = opts.env ?? hubEnv();
  const hub = task.source.hub;
  if (!hub) {
    throw new Error(
      `task ${task.name}: its data is not on the hub; give the folder that holds ${task.source.path}: ` +
        '--data-root DIR for run, --root DIR for datasets',
    );
  }
  const commit = await cachedCommit(env, hub);
  const dir = commit ? snapshotDir(env, hub, commit) : undefined;
  if (!dir || !(await pathExists(dir))) {
    throw new Error(
      `task ${task.name}: ${hub.repo} is not in the cache ${repoCacheDir(env, hub)}; ` +
        `run \`internvl-eval datasets fetch ${task.name}\` (or give a local copy: --data-root DIR for run, --root DIR for datasets)`,
    );
  }
  return dir;
}

export interface VerifyLine {
  file: string;
  ok: boolean;
  detail: string;
}

/**
 * Checks a task's data without network: cached hub blobs against their sha256 names (LFS etags), the source file
 * against `source.options.md5` (VLMEvalKit's published md5 of its TSVs), and that the source path exists.
 */
export async function verifyTask(
  task: TaskConfig,
  opts: { root?: string; env?: HubEnv; lmuData?: string } = {},
): Promise<VerifyLine[]> {
  if (isUrlSourced(task)) {
    return verifyUrlSource(task, opts.root ? path.resolve(opts.root) : (opts.lmuData ?? lmuDataDir()));
  }
  const env = opts.env ?? hubEnv();
  const lines: VerifyLine[] = [];
  const root = await resolveTaskRoot(task, { ...opts, env });
  const hub = task.source.hub;
  if (hub && !opts.root) {
    const files = matchFiles(env, hub.files, await listLocalFiles(root), `task ${task.name}`);
    for (const rel of files) {
      const p = path.join(root, rel);
      if (!(await pathExists(p))) {
        lines.push({ file: rel, ok: false, detail: 'missing from the snapshot' });
        continue;
      }
      const blobName = path.basename(await realpath(p));
      if (/^[0-9a-f]{64}$/.test(blobName)) {
        const actual = await sha256File(p);
        lines.push({
          file: rel,
          ok: actual === blobName,
          detail:
            actual === blobName ? `sha256 ${actual}` : `sha256 mismatch: expected ${blobName}, got ${actual}`,
        });
      } else
        lines.push({
          file: rel,
          ok: true,
          detail: `present (${(await stat(p)).size} bytes; no sha256 on the hub)`,
        });
    }
  }
  if (hub) lines.push(...(await verifyExtraction(hub as HubSourceConfig, root)));
  const md5 = task.source.options?.md5;
  const src = task.source.path;
  if (src && (!hub || opts.root)) {
    if (isGlob(src)) {
      const hits = await expandGlob(root, src);
      lines.push({
        file: src,
        ok: hits.length > 0,
        detail: hits.length ? `${hits.length} file(s) match` : `no file matches under ${root}`,
      });
    } else {
      const p = path.resolve(root, src);
      if (!(await pathExists(p))) lines.push({ file: src, ok: false, detail: `not found under ${root}` });
      else if (typeof md5 === 'string' && !(await stat(p)).isDirectory()) {
        const actual = await md5File(p);
        lines.push({
          file: src,
          ok: actual === md5,
          detail:
            actual === md5 ? `md5 ${actual}` : `md5 mismatch: expected ${md5} (VLMEvalKit), got ${actual}`,
        });
      } else lines.push({ file: src, ok: true, detail: 'present (no checksum known)' });
    }
  }
  return lines;
}

/** One line per archive of `source.hub.extract` found under `root`: extracted completely, interrupted, or not. */
async function verifyExtraction(hub: HubSourceConfig, root: string): Promise<VerifyLine[]> {
  if (!hub.extract?.length) return [];
  const lines: VerifyLine[] = [];
  const present = await listLocalFiles(root);
  for (const spec of hub.extract) {
    const archives = archivesOf(spec, present);
    if (!archives.length) {
      lines.push({ file: spec.file, ok: false, detail: `archive not found under ${root} (run fetch)` });
      continue;
    }
    for (const a of archives) {
      const to = archiveTarget(spec, a);
      const st = await extractionStatus(resolveInside(root, to), {
        key: a,
        stateDir: path.join(root, EXTRACT_STATE),
        sha256: await blobSha256(path.join(root, a)),
      });
      lines.push({
        file: `${a} -> ${to}`,
        ok: st.done,
        detail: st.done ? `extracted (${st.marker.entries} entries, ${st.marker.bytes} bytes)` : st.reason,
      });
    }
  }
  return lines;
}
