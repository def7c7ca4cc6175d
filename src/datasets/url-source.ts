/**
 * VLMEvalKit TSV tasks name their file by a plain URL (`source.options.url`, e.g.
 * `https://opencompass.openxlab.space/utils/VLMEval/OCRBench.tsv`) and usually its md5 (`source.options.md5`), not
 * a hub repo. VLMEvalKit keeps such files in the folder named by `$LMUData` (default `~/LMUData`) and re-downloads
 * one whose md5 differs (VLMEvalKit vlmeval/dataset/image_base.py `ImageBaseDataset.prepare_tsv`,
 * vlmeval/smp/file.py `LMUDataRoot`). This module does the same, so a folder filled by VLMEvalKit is reused as is:
 * the file goes to `<dir>/<source.path>`, where `dir` is `--root DIR`, else the LMUData folder.
 *
 * Downloads go to `<file>.incomplete` and resume with an HTTP Range request (as common/hf-cache.ts does for hub blobs);
 * redirects are followed by hand (at most 5, http(s) only); the finished file is checked against the total size
 * the server announced and against the md5, and a mismatch removes it. `HF_HUB_OFFLINE=1` (the project's one
 * offline switch, see common/hf-cache.ts `hubEnv`) means no network: a missing file is a clear error.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isGlob } from './glob.ts';
import { resolveInside } from './safe-path.ts';
import type { TaskConfig } from './task.ts';
import { md5File } from '../common/files.ts';

export class UrlSourceError extends Error {}

const fail = (message: string): never => {
  throw new UrlSourceError(message);
};

/**
 * The LMUData folder: `$LMUData` if set, else `~/LMUData`.
 * Quirk not copied: VLMEvalKit's `LMUDataRoot` silently falls back to `~/LMUData` when `$LMUData` names a folder
 * that does not exist yet; we use (and create, on fetch) the folder the user named, so a typo cannot scatter GBs
 * of data into the home folder.
 */
export function lmuDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LMUData ? path.resolve(env.LMUData) : path.join(os.homedir(), 'LMUData');
}

/**
 * Formats whose file is the whole dataset (VLMEvalKit TSVs carry their images as base64), so a downloaded file
 * is a usable dataset root. Other tasks with a `url` (the RefCOCO JSONLs) also need images from elsewhere (COCO):
 * they keep asking for a local copy.
 */
const SELF_CONTAINED = new Set<TaskConfig['source']['format']>(['vlmevalkit-tsv']);

/** True for tasks fetched by URL: no hub source, a `source.options.url`, a self-contained format. */
export function isUrlSourced(task: TaskConfig): boolean {
  return (
    !task.source.hub && typeof task.source.options?.url === 'string' && SELF_CONTAINED.has(task.source.format)
  );
}

export interface UrlSource {
  url: string;
  /** Lower-case hex md5 from the YAML, when it gives one. */
  md5?: string;
  /** `source.path`: where the file goes under the data folder. */
  file: string;
}

/** The URL, md5 and file of a URL-sourced task, validated (bad config: an error naming the task and field). */
export function urlSourceOf(task: TaskConfig): UrlSource {
  const where = `task ${task.name}`;
  const { url, md5 } = task.source.options ?? {};
  if (typeof url !== 'string') fail(`${where}: source.options.url is missing or not a string`);
  const u = url as string;
  let parsed: URL | undefined;
  try {
    parsed = new URL(u);
  } catch {
    fail(`${where}: source.options.url ${JSON.stringify(u)} is not a URL`);
  }
  if (parsed!.protocol !== 'http:' && parsed!.protocol !== 'https:') {
    fail(`${where}: source.options.url ${JSON.stringify(u)} is refused: only http(s) URLs are downloaded`);
  }
  if (md5 !== undefined && (typeof md5 !== 'string' || !/^[0-9a-f]{32}$/i.test(md5))) {
    fail(`${where}: source.options.md5 ${JSON.stringify(md5)} is not 32 hex digits`);
  }
  const file = task.source.path;
  if (!file || isGlob(file)) {
    fail(`${where}: source.path must name the one file the URL downloads to (got ${JSON.stringify(file)})`);
  }
  return { url: u, file: file!, ...(typeof md5 === 'string' ? { md5: md5.toLowerCase() } : {}) };
}

async function sizeOf(p: string): Promise<number | undefined> {
  return stat(p).then(
    (s) => (s.isFile() ? s.size : undefined),
    () => undefined,
  );
}

export interface UrlProgress {
  file: string;
  received: number;
  total?: number;
}

export interface UrlFetchOptions {
  /** The data folder (`--root DIR`, else `lmuDataDir()`); the file goes to `<dir>/<source.path>`. */
  dir: string;
  /** `HF_HUB_OFFLINE=1`: no network; a missing file is an error. */
  offline: boolean;
  onProgress?: (p: UrlProgress) => void;
  /** Injected for tests; defaults to global fetch. */
  fetch?: typeof fetch;
}

export interface UrlFetchResult {
  /** The data folder: the dataset root for `openTask`. */
  dir: string;
  /** `<dir>/<source.path>`. */
  path: string;
  url: string;
  size: number;
  /** Set when the YAML gives an md5 and the file matches it. */
  md5?: string;
  /** False when the file was already there (and matched the md5, if any): nothing was requested. */
  downloaded: boolean;
  /** Bytes of an earlier `.incomplete` file kept and resumed from (0 when none). */
  resumedFrom: number;
}

const MAX_REDIRECTS = 5;

/** GET that follows at most 5 redirects by hand, refusing any hop that is not http(s). */
async function getFollowing(
  label: string,
  url: string,
  headers: Record<string, string>,
  f: typeof fetch,
): Promise<Response> {
  let current = url;
  for (let hop = 0; ; hop++) {
    let res: Response;
    try {
      res = await f(current, {
        headers: { 'accept-encoding': 'identity', ...headers },
        redirect: 'manual',
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      return fail(
        `${label}: cannot reach ${current} (${cause?.code ?? cause?.message ?? (e as Error).message})`,
      );
    }
    const loc = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !loc) return res;
    await res.body?.cancel();
    if (hop >= MAX_REDIRECTS) fail(`${label}: more than ${MAX_REDIRECTS} redirects (last to ${loc})`);
    const next = new URL(loc, current);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      fail(`${label}: redirect to ${next.toString()} refused: only http(s) URLs are followed`);
    }
    current = next.toString();
  }
}

// `bytes 100-199/200` -> {start: 100, total: 200}; `bytes */200` -> {total: 200}; a `*` total is undefined.
function parseContentRange(h: string | null): { start?: number; total?: number } | undefined {
  const m = /^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/i.exec(h?.trim() ?? '');
  if (!m) return undefined;
  return {
    ...(m[1] !== undefined ? { start: Number(m[1]) } : {}),
    ...(m[2] !== '*' ? { total: Number(m[2]) } : {}),
  };
}

/** Fills `partial` (resuming what is there); returns the total size the server announced, if it did. */
async function download(
  label: string,
  src: UrlSource,
  partial: string,
  opts: UrlFetchOptions,
): Promise<{ total?: number; resumedFrom: number }> {
  const f = opts.fetch ?? fetch;
  let have = (await sizeOf(partial)) ?? 0;
  // Two tries: with a Range from the partial file, then (if the server's answer does not fit it) from zero.
  for (let attempt = 0; attempt < 2; attempt++) {
    const res = await getFollowing(label, src.url, have > 0 ? { range: `bytes=${have}-` } : {}, f);
    if (res.status === 416 && have > 0) {
      await res.body?.cancel();
      // Range past the end: complete if the partial file already has every byte, else start over.
      if (parseContentRange(res.headers.get('content-range'))?.total === have) {
        return { total: have, resumedFrom: have };
      }
      await rm(partial, { force: true });
      have = 0;
      continue;
    }
    if (!res.ok) fail(`${label}: HTTP ${res.status} ${res.statusText}`.trimEnd());
    let total: number | undefined;
    let append = false;
    if (res.status === 206) {
      const cr = parseContentRange(res.headers.get('content-range'));
      if (cr?.start !== have) {
        await res.body?.cancel();
        await rm(partial, { force: true });
        have = 0;
        continue;
      }
      append = have > 0;
      total = cr.total;
    } else {
      have = 0; // a 200 to a Range request: the server sends the whole file
      const len = res.headers.get('content-length');
      total = len !== null && /^\d+$/.test(len) ? Number(len) : undefined;
    }
    if (!res.body) fail(`${label}: empty response body`);
    await mkdir(path.dirname(partial), { recursive: true });
    let received = have;
    const counter = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        received += chunk.length;
        opts.onProgress?.({ file: src.file, received, total });
        ctl.enqueue(chunk);
      },
    });
    try {
      await pipeline(
        Readable.fromWeb(res.body!.pipeThrough(counter) as never),
        createWriteStream(partial, { flags: append ? 'a' : 'w' }),
      );
    } catch (e) {
      fail(
        `${label}: download interrupted after ${received} bytes (${(e as Error).message}); ` +
          `run fetch again to resume from ${partial}`,
      );
    }
    return { total, resumedFrom: append ? have : 0 };
  }
  return fail(
    `${label}: the server's answers to Range requests do not fit ${partial}; removed it, run fetch again`,
  );
}

/**
 * Downloads a URL-sourced task's file to `<dir>/<source.path>` (see the module comment), or finds it there.
 * A file already present that matches the md5 (or any present file, when the YAML gives no md5) is kept without a
 * request; one whose md5 differs is downloaded again, as VLMEvalKit does.
 */
export async function fetchUrlSource(task: TaskConfig, opts: UrlFetchOptions): Promise<UrlFetchResult> {
  const src = urlSourceOf(task);
  const dir = path.resolve(opts.dir);
  const dest = resolveInside(dir, src.file);
  const label = `task ${task.name}: ${src.url} -> ${dest}`;
  const base = { dir, path: dest, url: src.url };
  const existing = await sizeOf(dest);
  let stale: string | undefined;
  if (existing !== undefined) {
    if (!src.md5) return { ...base, size: existing, downloaded: false, resumedFrom: 0 };
    const actual = await md5File(dest);
    if (actual === src.md5) {
      return { ...base, size: existing, md5: actual, downloaded: false, resumedFrom: 0 };
    }
    stale = actual;
  }
  if (opts.offline) {
    fail(
      stale
        ? `task ${task.name}: ${dest} has md5 ${stale}, expected ${src.md5} (source.options.md5), and ` +
            `HF_HUB_OFFLINE=1 forbids downloading it again from ${src.url}; unset HF_HUB_OFFLINE, or replace the file`
        : `task ${task.name}: ${dest} is missing and HF_HUB_OFFLINE=1 forbids downloading it from ${src.url}; ` +
            `run \`internvl-eval datasets fetch ${task.name}\` once with network access, or put the file there by hand`,
    );
  }
  const partial = `${dest}.incomplete`;
  const { total, resumedFrom } = await download(label, src, partial, opts);
  const got = (await sizeOf(partial)) ?? 0;
  if (total !== undefined && got !== total) {
    if (got > total) await rm(partial, { force: true });
    fail(
      `${label}: size mismatch: the server announced ${total} bytes, have ${got}` +
        (got < total ? `; run fetch again to resume from ${partial}` : '; the partial file was removed'),
    );
  }
  let md5: string | undefined;
  if (src.md5) {
    const actual = await md5File(partial);
    if (actual !== src.md5) {
      await rm(partial, { force: true });
      fail(
        `task ${task.name}: md5 mismatch for ${dest}: expected ${src.md5} (source.options.md5), the download ` +
          `from ${src.url} hashes to ${actual}; the file was removed (run fetch again; if it repeats, the server ` +
          'serves a different version of the file than the task config expects)',
      );
    }
    md5 = actual;
  }
  await rename(partial, dest);
  return { ...base, size: got, ...(md5 ? { md5 } : {}), downloaded: true, resumedFrom };
}

/**
 * The dataset root of a URL-sourced task when no root was given: the LMUData folder `dir` if the task's file is
 * there (no network, no md5: `verifyUrlSource` does that), else an error that says how to get it.
 */
export async function urlSourceRoot(task: TaskConfig, dir: string): Promise<string> {
  const src = urlSourceOf(task);
  const abs = path.resolve(dir);
  if ((await sizeOf(resolveInside(abs, src.file))) !== undefined) return abs;
  return fail(
    `task ${task.name}: ${src.file} is not in the LMUData folder ${abs} ($LMUData, default ~/LMUData); ` +
      `run \`internvl-eval datasets fetch ${task.name}\` to download it from ${src.url} ` +
      '(or give a local copy: --data-root DIR for run, --root DIR for datasets)',
  );
}

/** Presence and md5 of a URL-sourced task's file under `dir`; no network. */
export async function verifyUrlSource(
  task: TaskConfig,
  dir: string,
): Promise<{ file: string; ok: boolean; detail: string }[]> {
  const src = urlSourceOf(task);
  const abs = path.resolve(dir);
  const p = resolveInside(abs, src.file);
  if ((await sizeOf(p)) === undefined) {
    return [
      {
        file: src.file,
        ok: false,
        detail: `not found under ${abs}; run \`internvl-eval datasets fetch ${task.name}\` (downloads ${src.url})`,
      },
    ];
  }
  if (!src.md5) return [{ file: src.file, ok: true, detail: 'present (no checksum known)' }];
  const actual = await md5File(p);
  return [
    {
      file: src.file,
      ok: actual === src.md5,
      detail:
        actual === src.md5
          ? `md5 ${actual}`
          : `md5 mismatch: expected ${src.md5} (VLMEvalKit), got ${actual}; run fetch to download it again`,
    },
  ];
}
