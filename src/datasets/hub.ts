/**
 * Hugging Face hub files, cached the way huggingface_hub caches them, so a cache filled by Python tools is reused
 * and vice versa: `$HF_HUB_CACHE` (default `$HF_HOME/hub`, default `~/.cache/huggingface/hub`) /
 * `datasets--owner--name/` with `blobs/<etag>`, `snapshots/<commit>/<file>` -> symlink to the blob, and
 * `refs/<revision>` holding the commit (huggingface_hub file_download.py `hf_hub_download`).
 *
 * Downloads go to `blobs/<etag>.incomplete` and resume with an HTTP Range request. The hub's HEAD on
 * `{endpoint}/{datasets/}{repo}/resolve/{revision}/{file}` gives the commit (`X-Repo-Commit`), the etag
 * (`X-Linked-Etag` for LFS files = their sha256, else `ETag`) and the size (`X-Linked-Size`, else Content-Length);
 * a finished file is checked against both, and a mismatch stops with a message naming the file.
 *
 * Environment: `HF_ENDPOINT`, `HF_HUB_OFFLINE=1` (cache only), `HF_TOKEN` (sent as a Bearer token to the endpoint's
 * own origin only, never to a redirect target elsewhere, and never written into any message: every error passes
 * through `redact`).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import {
  copyFile,
  link,
  mkdir,
  readFile,
  readdir,
  realpath,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
  md5File,
  urlSourceRoot,
  verifyUrlSource,
  type UrlFetchResult,
} from './url-source.ts';

export interface HubEnv {
  endpoint: string;
  token?: string;
  offline: boolean;
  /** The `hub/` cache folder. */
  cacheDir: string;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);

/** Reads the HF_* environment variables (huggingface_hub constants.py names and defaults). */
export function hubEnv(env: NodeJS.ProcessEnv = process.env): HubEnv {
  const home =
    env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface');
  return {
    endpoint: (env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, ''),
    token: env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined,
    offline: TRUE.has((env.HF_HUB_OFFLINE ?? '').toLowerCase()),
    cacheDir: env.HF_HUB_CACHE ?? path.join(home, 'hub'),
  };
}

/** Removes the token (and any `Bearer …` value) from a message. */
export function redact(message: string, token?: string): string {
  let m = message;
  if (token) m = m.split(token).join('***');
  return m.replace(/Bearer\s+[^\s"',]+/gi, 'Bearer ***');
}

export interface HubRepo {
  repo: string;
  type: 'dataset' | 'model';
  revision?: string;
}

export function repoCacheDir(env: HubEnv, r: HubRepo): string {
  return path.join(env.cacheDir, `${r.type}s--${r.repo.split('/').join('--')}`);
}

function resolveUrl(env: HubEnv, r: HubRepo, revision: string, file: string): string {
  const prefix = r.type === 'dataset' ? 'datasets/' : '';
  const f = file.split('/').map(encodeURIComponent).join('/');
  return `${env.endpoint}/${prefix}${r.repo}/resolve/${encodeURIComponent(revision)}/${f}`;
}

const isCommit = (rev: string) => /^[0-9a-f]{40}$/.test(rev);

export class HubError extends Error {}

/** Token-free error. */
function fail(env: HubEnv, message: string): never {
  throw new HubError(redact(message, env.token));
}

export interface DownloadProgress {
  file: string;
  received: number;
  total?: number;
}

export interface DownloadedFile {
  /** Path in the snapshot folder (a symlink to the blob, or a copy where links are not allowed). */
  path: string;
  commit: string;
  size: number;
  /** sha256 when the hub gave one (LFS files) and it was checked. */
  sha256?: string;
}

interface FetchOptions {
  onProgress?: (p: DownloadProgress) => void;
  /** Injected for tests; defaults to global fetch. */
  fetch?: typeof fetch;
}

/** Sends the token only to the endpoint's own origin; follows redirects by hand so that holds. */
async function hubFetch(
  env: HubEnv,
  url: string,
  init: { method: 'HEAD' | 'GET'; headers?: Record<string, string>; follow: 'all' | 'relative' },
  f: typeof fetch,
): Promise<Response> {
  let current = url;
  for (let hop = 0; hop < 10; hop++) {
    const headers: Record<string, string> = { 'accept-encoding': 'identity', ...(init.headers ?? {}) };
    if (env.token && new URL(current).origin === new URL(env.endpoint).origin) {
      headers.authorization = `Bearer ${env.token}`;
    }
    let res: Response;
    try {
      res = await f(current, { method: init.method, headers, redirect: 'manual' });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      fail(env, `cannot reach ${current} (${cause?.code ?? cause?.message ?? (e as Error).message})`);
    }
    const loc = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && loc) {
      const next = new URL(loc, current);
      // HEAD (huggingface_hub `_httpx_follow_relative_redirects`): follow a renamed repo's relative redirect, but
      // stop at the absolute LFS/CDN redirect, whose response carries the X-Linked-* headers we need.
      if (init.follow === 'relative' && /^[a-z][a-z0-9+.-]*:/i.test(loc)) return res;
      await res.body?.cancel();
      current = next.toString();
      continue;
    }
    return res;
  }
  fail(env, `too many redirects from ${url}`);
}

function httpProblem(env: HubEnv, res: Response, what: string): never {
  if (res.status === 401 || res.status === 403) {
    fail(
      env,
      `${what}: access denied (HTTP ${res.status}); the repo may be gated or private: ` +
        (env.token ? 'the token in HF_TOKEN has no access to it' : 'set HF_TOKEN'),
    );
  }
  if (res.status === 404) fail(env, `${what}: not found (HTTP 404)`);
  fail(env, `${what}: HTTP ${res.status} ${res.statusText}`);
}

export function snapshotDir(env: HubEnv, r: HubRepo, commit: string): string {
  return path.join(repoCacheDir(env, r), 'snapshots', commit);
}

/** The commit a revision points to in the cache (offline), or undefined. */
export async function cachedCommit(env: HubEnv, r: HubRepo): Promise<string | undefined> {
  const rev = r.revision ?? 'main';
  if (isCommit(rev)) return rev;
  try {
    return (await readFile(path.join(repoCacheDir(env, r), 'refs', rev), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

/** Links `snapshots/<commit>/<file>` to the blob (relative symlink, as huggingface_hub does; copy if not allowed). */
async function linkIntoSnapshot(blob: string, pointer: string): Promise<void> {
  await mkdir(path.dirname(pointer), { recursive: true });
  await rm(pointer, { force: true });
  try {
    await symlink(path.relative(path.dirname(pointer), blob), pointer);
  } catch {
    await copyFile(blob, pointer);
  }
}

/**
 * One file of a hub repo into the cache; returns its snapshot path. Offline: from the cache or a clear error.
 */
export async function downloadHubFile(
  env: HubEnv,
  r: HubRepo,
  file: string,
  opts: FetchOptions = {},
): Promise<DownloadedFile> {
  const rev = r.revision ?? 'main';
  const label = `${r.type} ${r.repo}@${rev}: ${file}`;
  if (env.offline) {
    const commit = await cachedCommit(env, r);
    const pointer = commit ? path.join(snapshotDir(env, r, commit), file) : undefined;
    if (!commit || !pointer || !(await exists(pointer))) {
      fail(
        env,
        `${label}: not in the cache ${repoCacheDir(env, r)} and HF_HUB_OFFLINE=1 forbids downloading; ` +
          `run \`internvl-eval datasets fetch\` once with network access, or unset HF_HUB_OFFLINE`,
      );
    }
    const st = await stat(pointer);
    return { path: pointer, commit, size: st.size };
  }
  const f = opts.fetch ?? fetch;
  const url = resolveUrl(env, r, rev, file);
  const head = await hubFetch(env, url, { method: 'HEAD', follow: 'relative' }, f);
  await head.body?.cancel().catch(() => undefined);
  if (!(head.ok || (head.status >= 300 && head.status < 400))) httpProblem(env, head, label);
  const h = (k: string) => head.headers.get(k) ?? undefined;
  const commit = h('x-repo-commit') ?? (isCommit(rev) ? rev : undefined);
  if (!commit) fail(env, `${label}: the server sent no X-Repo-Commit header (is HF_ENDPOINT a hub?)`);
  const rawEtag = h('x-linked-etag') ?? h('etag');
  if (!rawEtag) fail(env, `${label}: the server sent no ETag`);
  const etag = rawEtag.replace(/^W\//, '').replace(/"/g, '');
  const sizeHeader = h('x-linked-size') ?? (head.ok ? h('content-length') : undefined);
  const size = sizeHeader !== undefined ? Number(sizeHeader) : undefined;
  const sha = /^[0-9a-f]{64}$/.test(etag) ? etag : undefined;
  const repoDir = repoCacheDir(env, r);
  const blob = path.join(repoDir, 'blobs', etag);
  const pointer = path.join(repoDir, 'snapshots', commit, file);
  if (!isCommit(rev)) {
    await mkdir(path.join(repoDir, 'refs', path.dirname(rev)), { recursive: true });
    await writeFile(path.join(repoDir, 'refs', rev), commit);
  }
  if (await exists(blob)) {
    const st = await stat(blob);
    if (size === undefined || st.size === size) {
      if (!(await exists(pointer))) await linkIntoSnapshot(blob, pointer);
      return { path: pointer, commit, size: st.size, ...(sha ? { sha256: sha } : {}) };
    }
    await rm(blob, { force: true }); // a stale blob of the wrong size: fetch again
  }
  await mkdir(path.dirname(blob), { recursive: true });
  const partial = `${blob}.incomplete`;
  let have = (await exists(partial)) ? (await stat(partial)).size : 0;
  if (size !== undefined && have > size) {
    await rm(partial, { force: true });
    have = 0;
  }
  if (size === undefined || have < size) {
    const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
    const res = await hubFetch(env, url, { method: 'GET', headers, follow: 'all' }, f);
    if (res.status === 416 && size !== undefined && have === size) {
      await res.body?.cancel();
    } else {
      if (!res.ok) httpProblem(env, res, label);
      const append = res.status === 206 && have > 0;
      if (!append) have = 0; // the server ignored the Range: start over
      if (!res.body) fail(env, `${label}: empty response body`);
      let received = have;
      const counter = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          received += chunk.length;
          opts.onProgress?.({ file, received, total: size });
          ctl.enqueue(chunk);
        },
      });
      try {
        await pipeline(
          Readable.fromWeb(res.body.pipeThrough(counter) as never),
          createWriteStream(partial, { flags: append ? 'a' : 'w' }),
        );
      } catch (e) {
        fail(
          env,
          `${label}: download interrupted after ${received} bytes (${(e as Error).message}); ` +
            `run fetch again to resume from ${partial}`,
        );
      }
    }
  }
  const got = (await stat(partial)).size;
  if (size !== undefined && got !== size) {
    if (got > size) await rm(partial, { force: true });
    fail(
      env,
      `${label}: size mismatch: expected ${size} bytes, have ${got}` +
        (got < size ? `; run fetch again to resume from ${partial}` : '; the partial file was removed'),
    );
  }
  if (sha) {
    const actual = await sha256File(partial);
    if (actual !== sha) {
      await rm(partial, { force: true });
      fail(
        env,
        `${label}: sha256 mismatch: the hub says ${sha}, the downloaded file hashes to ${actual}; ` +
          `the file was removed (run fetch again; if it repeats, the mirror at ${env.endpoint} serves bad data)`,
      );
    }
  }
  await rename(partial, blob);
  await linkIntoSnapshot(blob, pointer);
  return { path: pointer, commit, size: got, ...(sha ? { sha256: sha } : {}) };
}

interface TreeEntry {
  type: string;
  path: string;
  size?: number;
  lfs?: { oid: string; size: number };
}

/** All file paths of a repo revision (hub tree API, paged by the `Link: <…>; rel="next"` header). */
export async function listRepoFiles(env: HubEnv, r: HubRepo, opts: FetchOptions = {}): Promise<string[]> {
  const rev = r.revision ?? 'main';
  if (env.offline) {
    const commit = await cachedCommit(env, r);
    if (!commit) {
      fail(
        env,
        `${r.type} ${r.repo}@${rev}: not in the cache ${repoCacheDir(env, r)} and HF_HUB_OFFLINE=1 forbids ` +
          `downloading; run \`internvl-eval datasets fetch\` once with network access, or unset HF_HUB_OFFLINE`,
      );
    }
    return listLocalFiles(snapshotDir(env, r, commit));
  }
  const f = opts.fetch ?? fetch;
  let url: string | undefined =
    `${env.endpoint}/api/${r.type}s/${r.repo}/tree/${encodeURIComponent(rev)}?recursive=true&expand=false`;
  const out: string[] = [];
  while (url) {
    const res = await hubFetch(env, url, { method: 'GET', follow: 'all' }, f);
    if (!res.ok) httpProblem(env, res, `${r.type} ${r.repo}@${rev}: file list`);
    const entries = (await res.json()) as TreeEntry[];
    for (const e of entries) if (e.type === 'file') out.push(e.path);
    const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '');
    url = next ? new URL(next[1], url).toString() : undefined;
  }
  return out.sort();
}

async function listLocalFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    let entries;
    try {
      entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!rel && e.name === EXTRACT_STATE) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else out.push(r);
    }
  };
  await walk('');
  return out.sort();
}

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
export const EXTRACT_STATE = '.internvl-eval';

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
  if (!dir || !(await exists(dir))) {
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
      if (!(await exists(p))) {
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
      if (!(await exists(p))) lines.push({ file: src, ok: false, detail: `not found under ${root}` });
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
