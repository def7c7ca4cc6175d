/**
 * The Hugging Face hub client (for model repos and dataset repos alike): files of a repo, cached the way
 * huggingface_hub caches them, so a cache filled by Python tools is reused
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
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathExists, sha256File } from './files.ts';

/** This harness's own state folder inside a snapshot or dataset root (extraction markers); never a repo file. */
export const LOCAL_STATE_DIR = '.internvl-eval';

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

/** Throws a token-free HubError. */
export function fail(env: HubEnv, message: string): never {
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

export interface FetchOptions {
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
    if (!commit || !pointer || !(await pathExists(pointer))) {
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
  if (await pathExists(blob)) {
    const st = await stat(blob);
    if (size === undefined || st.size === size) {
      if (!(await pathExists(pointer))) await linkIntoSnapshot(blob, pointer);
      return { path: pointer, commit, size: st.size, ...(sha ? { sha256: sha } : {}) };
    }
    await rm(blob, { force: true }); // a stale blob of the wrong size: fetch again
  }
  await mkdir(path.dirname(blob), { recursive: true });
  const partial = `${blob}.incomplete`;
  let have = (await pathExists(partial)) ? (await stat(partial)).size : 0;
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

/**
 * Files under a snapshot (or a dataset root laid out like one), sorted, as repo paths; our own state folder
 * (extraction markers, LOCAL_STATE_DIR) is not a repo file and is skipped.
 */
export async function listLocalFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    let entries;
    try {
      entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!rel && e.name === LOCAL_STATE_DIR) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else out.push(r);
    }
  };
  await walk('');
  return out.sort();
}
