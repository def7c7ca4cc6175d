/**
 * URL-sourced tasks (src/datasets/url-source.ts and its dispatch from hub.ts): VLMEvalKit TSVs downloaded from
 * `source.options.url` into the LMUData folder, against a local HTTP server on 127.0.0.1 (no real network).
 * Tasks are written as YAML into a temp config dir and loaded through the real schema.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { HubEnv } from '../../src/common/hf-cache.ts';
import { fetchTask, resolveTaskRoot, verifyTask } from '../../src/datasets/task-fetch.ts';
import { openTask } from '../../src/datasets/open-task.ts';
import { isSampleError, type Sample } from '../../src/datasets/sample.ts';
import { loadTask } from '../../src/datasets/task-config.ts';
import type { TaskConfig } from '../../src/datasets/task.ts';
import { fetchUrlSource, isUrlSourced, lmuDataDir, urlSourceOf } from '../../src/datasets/url-source.ts';
import { png, put, task, tempDir } from './helpers.ts';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

/** Deterministic pseudo-random bytes (xorshift), so a resumed file is only right if the bytes line up. */
function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

interface Seen {
  url: string;
  range?: string;
}

/**
 * `/files/NAME` (Range aware; `cutNextAfter(n)` cuts the next body after n bytes, once; `ignoreRange` answers 200),
 * `/hop/K/NAME` (302 to `/hop/K-1/NAME`, `/hop/0/NAME` -> `/files/NAME`), `/to-ftp` (302 to an ftp URL).
 */
async function startServer(files: Record<string, Buffer>) {
  const seen: Seen[] = [];
  let cutAfter: number | undefined;
  let ignoreRange = false;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    seen.push({ url, ...(req.headers.range ? { range: req.headers.range } : {}) });
    const hop = /^\/hop\/(\d+)\/(.+)$/.exec(url);
    if (hop) {
      const k = Number(hop[1]);
      const to = k === 0 ? `/files/${hop[2]}` : `/hop/${k - 1}/${hop[2]}`;
      res.writeHead(302, { location: to }).end();
      return;
    }
    if (url === '/to-ftp') return void res.writeHead(302, { location: 'ftp://127.0.0.1/X.tsv' }).end();
    const content = url.startsWith('/files/') ? files[url.slice('/files/'.length)] : undefined;
    if (!content) return void res.writeHead(404).end();
    const m = ignoreRange ? null : /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (m && start >= content.length) {
      res.writeHead(416, { 'content-range': `bytes */${content.length}` }).end();
      return;
    }
    const body = content.subarray(start);
    res.writeHead(m ? 206 : 200, {
      'content-length': String(body.length),
      ...(m ? { 'content-range': `bytes ${start}-${content.length - 1}/${content.length}` } : {}),
    });
    if (cutAfter !== undefined) {
      const n = cutAfter;
      cutAfter = undefined;
      res.write(body.subarray(0, n), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(body);
  };
  const server = createServer(handle);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    seen,
    cutNextAfter: (n: number) => void (cutAfter = n),
    setIgnoreRange: (v: boolean) => void (ignoreRange = v),
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

let server: Awaited<ReturnType<typeof startServer>> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Writes `NAME.yaml` (a VLMEvalKit TSV task with the given url/md5) into a fresh config dir and loads it. */
async function urlTask(
  name: string,
  opts: { url: string; md5?: string; path?: string; format?: string },
): Promise<{ task: TaskConfig; configDir: string }> {
  const configDir = await tempDir('cfg-');
  const yaml = [
    `name: ${name}`,
    `title: ${name}`,
    'group: image',
    'source:',
    `  format: ${opts.format ?? 'vlmevalkit-tsv'}`,
    `  path: ${opts.path ?? 'X.tsv'}`,
    '  options:',
    `    url: ${JSON.stringify(opts.url)}`,
    ...(opts.md5 ? [`    md5: ${opts.md5}`] : []),
    'prompt: { kind: suffix, joiner: " ", suffix: "" }',
    'maxTiles: 6',
    'useThumbnail: true',
    'maxNewTokens: 10',
    'minNewTokens: 1',
    'scorer: { name: exact_match }',
    'report: {}',
    '',
  ].join('\n');
  await put(configDir, `${name}.yaml`, yaml);
  return { task: await loadTask(name, { configDir }), configDir };
}

/** A one-row VLMEvalKit TSV with a base64 image. */
async function oneRowTsv(): Promise<Buffer> {
  const img = (await png(3, 3, [10, 20, 30])).toString('base64');
  return Buffer.from(`index\tquestion\tanswer\timage\n7\tWhat colour?\tblue\t${img}\n`);
}

const online = (): HubEnv => ({
  endpoint: 'http://127.0.0.1:9',
  offline: false,
  cacheDir: '/nonexistent-hf',
});
const offline = (): HubEnv => ({ ...online(), offline: true });

describe('URL-sourced tasks: fetch into LMUData', () => {
  it('downloads the TSV, checks its md5, and the LMUData folder becomes the dataset root', async () => {
    const tsv = await oneRowTsv();
    server = await startServer({ 'X.tsv': tsv });
    const { task: t } = await urlTask('url_tsv', { url: `${server.base}/files/X.tsv`, md5: md5(tsv) });
    expect(isUrlSourced(t)).toBe(true);
    const lmu = await tempDir('lmu-');
    const progress: number[] = [];
    const fetched = await fetchTask(t, {
      env: online(),
      lmuData: lmu,
      onProgress: (p) => progress.push(p.received),
    });
    expect(fetched.root).toBe(lmu);
    expect(fetched.url).toMatchObject({ downloaded: true, md5: md5(tsv), size: tsv.length, resumedFrom: 0 });
    expect(await readFile(path.join(lmu, 'X.tsv'))).toEqual(tsv);
    expect(progress.at(-1)).toBe(tsv.length);
    await expect(stat(path.join(lmu, 'X.tsv.incomplete'))).rejects.toThrow();
    // Run side: no --data-root, the file is in LMUData -> that folder; it opens as a dataset.
    const root = await resolveTaskRoot(t, { lmuData: lmu });
    expect(root).toBe(lmu);
    const items = [];
    for await (const s of openTask(t, { root })) items.push(s);
    expect(items.some(isSampleError)).toBe(false);
    expect((items[0] as Sample).question).toBe('What colour?');
    expect(await verifyTask(t, { lmuData: lmu })).toEqual([
      { file: 'X.tsv', ok: true, detail: `md5 ${md5(tsv)}` },
    ]);
    // verify catches a corrupted copy
    await writeFile(path.join(lmu, 'X.tsv'), 'garbage');
    expect((await verifyTask(t, { lmuData: lmu }))[0]).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^md5 mismatch: expected [0-9a-f]{32} \(VLMEvalKit\), got [0-9a-f]{32}/),
    });
  });

  it('an interrupted download resumes from the .incomplete file with a Range request', async () => {
    const content = bytes(60_000, 7);
    server = await startServer({ 'big.tsv': content });
    const { task: t } = await urlTask('url_big', {
      url: `${server.base}/files/big.tsv`,
      md5: md5(content),
      path: 'sub/big.tsv',
    });
    const lmu = await tempDir('lmu-');
    server.cutNextAfter(20_000);
    await expect(fetchUrlSource(t, { dir: lmu, offline: false })).rejects.toThrow(
      /download interrupted after \d+ bytes.*run fetch again to resume from .*sub\/big\.tsv\.incomplete/,
    );
    const partial = (await stat(path.join(lmu, 'sub/big.tsv.incomplete'))).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(content.length);
    const r = await fetchUrlSource(t, { dir: lmu, offline: false });
    expect(server.seen.at(-1)).toEqual({ url: '/files/big.tsv', range: `bytes=${partial}-` });
    expect(r).toMatchObject({ downloaded: true, resumedFrom: partial, md5: md5(content) });
    expect(await readFile(path.join(lmu, 'sub/big.tsv'))).toEqual(content);
  });

  it('a partial file that already holds every byte is finished from the 416 answer', async () => {
    const content = bytes(5_000, 3);
    server = await startServer({ 'X.tsv': content });
    const { task: t } = await urlTask('url_416', { url: `${server.base}/files/X.tsv`, md5: md5(content) });
    const lmu = await tempDir('lmu-');
    await put(lmu, 'X.tsv.incomplete', content);
    const r = await fetchUrlSource(t, { dir: lmu, offline: false });
    expect(server.seen).toEqual([{ url: '/files/X.tsv', range: `bytes=${content.length}-` }]);
    expect(r).toMatchObject({ downloaded: true, md5: md5(content) });
    expect(await readFile(path.join(lmu, 'X.tsv'))).toEqual(content);
  });

  it('a server that ignores the Range (200) gets the whole file written from the start', async () => {
    const content = bytes(8_000, 5);
    server = await startServer({ 'X.tsv': content });
    server.setIgnoreRange(true);
    const { task: t } = await urlTask('url_norange', {
      url: `${server.base}/files/X.tsv`,
      md5: md5(content),
    });
    const lmu = await tempDir('lmu-');
    await put(lmu, 'X.tsv.incomplete', bytes(3_000, 99)); // stale bytes that must not survive
    const r = await fetchUrlSource(t, { dir: lmu, offline: false });
    expect(r.resumedFrom).toBe(0);
    expect(await readFile(path.join(lmu, 'X.tsv'))).toEqual(content);
  });

  it('an md5 mismatch is refused, names the file and both md5s, and removes the download', async () => {
    const tsv = await oneRowTsv();
    server = await startServer({ 'X.tsv': tsv });
    const wrong = '0123456789abcdef0123456789abcdef';
    const { task: t } = await urlTask('url_bad', { url: `${server.base}/files/X.tsv`, md5: wrong });
    const lmu = await tempDir('lmu-');
    const err = await fetchTask(t, { env: online(), lmuData: lmu }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toContain(`md5 mismatch for ${path.join(lmu, 'X.tsv')}`);
    expect(msg).toContain(`expected ${wrong}`);
    expect(msg).toContain(`hashes to ${md5(tsv)}`);
    await expect(stat(path.join(lmu, 'X.tsv'))).rejects.toThrow();
    await expect(stat(path.join(lmu, 'X.tsv.incomplete'))).rejects.toThrow();
  });

  it('a second fetch makes no request; a present file with the wrong md5 is downloaded again', async () => {
    const tsv = await oneRowTsv();
    server = await startServer({ 'X.tsv': tsv });
    const lmu = await tempDir('lmu-');
    for (const withMd5 of [true, false]) {
      const { task: t } = await urlTask(withMd5 ? 'url_again' : 'url_again_nomd5', {
        url: `${server.base}/files/X.tsv`,
        path: withMd5 ? 'a/X.tsv' : 'b/X.tsv',
        ...(withMd5 ? { md5: md5(tsv) } : {}),
      });
      await fetchUrlSource(t, { dir: lmu, offline: false });
      const requests = server.seen.length;
      const again = await fetchUrlSource(t, { dir: lmu, offline: false });
      expect(again).toMatchObject({ downloaded: false, size: tsv.length });
      expect(server.seen.length).toBe(requests);
    }
    // VLMEvalKit prepare_tsv: a file whose md5 differs is fetched again.
    const { task: t } = await urlTask('url_stale', { url: `${server.base}/files/X.tsv`, md5: md5(tsv) });
    await put(lmu, 'X.tsv', 'an older version');
    const r = await fetchUrlSource(t, { dir: lmu, offline: false });
    expect(r.downloaded).toBe(true);
    expect(await readFile(path.join(lmu, 'X.tsv'))).toEqual(tsv);
  });

  it('HF_HUB_OFFLINE=1: no request; a missing or stale file is a clear error, a good one is used', async () => {
    const tsv = await oneRowTsv();
    server = await startServer({ 'X.tsv': tsv });
    const { task: t } = await urlTask('url_off', { url: `${server.base}/files/X.tsv`, md5: md5(tsv) });
    const lmu = await tempDir('lmu-');
    await expect(fetchTask(t, { env: offline(), lmuData: lmu })).rejects.toThrow(
      /task url_off: .*X\.tsv is missing and HF_HUB_OFFLINE=1 forbids downloading it from http:\/\/127\.0\.0\.1:\d+\/files\/X\.tsv/,
    );
    await put(lmu, 'X.tsv', 'stale');
    await expect(fetchTask(t, { env: offline(), lmuData: lmu })).rejects.toThrow(
      new RegExp(`has md5 ${md5('stale')}, expected ${md5(tsv)}.*HF_HUB_OFFLINE=1`),
    );
    await put(lmu, 'X.tsv', tsv);
    expect((await fetchTask(t, { env: offline(), lmuData: lmu })).url?.downloaded).toBe(false);
    expect(server.seen).toEqual([]);
  });

  it('follows up to 5 redirects, no more, and only to http(s)', async () => {
    const tsv = await oneRowTsv();
    server = await startServer({ 'X.tsv': tsv });
    const lmu = await tempDir('lmu-');
    const { task: five } = await urlTask('url_hop5', { url: `${server.base}/hop/4/X.tsv`, md5: md5(tsv) });
    expect((await fetchUrlSource(five, { dir: lmu, offline: false })).md5).toBe(md5(tsv));
    expect(server.seen.map((s) => s.url)).toEqual([
      '/hop/4/X.tsv',
      '/hop/3/X.tsv',
      '/hop/2/X.tsv',
      '/hop/1/X.tsv',
      '/hop/0/X.tsv',
      '/files/X.tsv',
    ]);
    const { task: six } = await urlTask('url_hop6', { url: `${server.base}/hop/5/X.tsv`, path: 'Y.tsv' });
    await expect(fetchUrlSource(six, { dir: lmu, offline: false })).rejects.toThrow(/more than 5 redirects/);
    const { task: ftp } = await urlTask('url_ftp', { url: `${server.base}/to-ftp`, path: 'Z.tsv' });
    await expect(fetchUrlSource(ftp, { dir: lmu, offline: false })).rejects.toThrow(
      /redirect to ftp:\/\/127\.0\.0\.1\/X\.tsv refused: only http\(s\)/,
    );
    await expect(stat(path.join(lmu, 'Y.tsv.incomplete'))).rejects.toThrow();
  });

  it.each([
    ['file:///etc/passwd', /is refused: only http\(s\) URLs are downloaded/],
    ['ftp://example.org/X.tsv', /is refused: only http\(s\) URLs are downloaded/],
    ['not a url', /is not a URL/],
  ])('refuses the url %s before any I/O', async (url, re) => {
    const { task: t } = await urlTask('url_refused', { url });
    const lmu = await tempDir('lmu-');
    await expect(fetchTask(t, { env: online(), lmuData: lmu })).rejects.toThrow(re);
    expect(() => urlSourceOf(t)).toThrow(/task url_refused: source\.options\.url/);
  });

  it('rejects a malformed md5 and a source.path that climbs out of the folder', async () => {
    const { task: badMd5 } = await urlTask('url_md5', { url: 'http://127.0.0.1:9/X.tsv', md5: 'abc' });
    expect(() => urlSourceOf(badMd5)).toThrow(
      /task url_md5: source\.options\.md5 "abc" is not 32 hex digits/,
    );
    const { task: escape } = await urlTask('url_esc', { url: 'http://127.0.0.1:9/X.tsv', path: '../X.tsv' });
    await expect(fetchUrlSource(escape, { dir: await tempDir(), offline: true })).rejects.toThrow(
      /escapes the dataset root/,
    );
  });

  it('--root puts the file there instead of LMUData; run-side roots follow --data-root, then LMUData', async () => {
    const tsv = await oneRowTsv();
    server = await startServer({ 'X.tsv': tsv });
    const { task: t } = await urlTask('url_root', { url: `${server.base}/files/X.tsv` });
    const lmu = await tempDir('lmu-');
    const mine = await tempDir('mine-');
    const fetched = await fetchTask(t, { env: online(), root: mine, lmuData: lmu });
    expect(fetched.root).toBe(mine);
    expect(await readFile(path.join(mine, 'X.tsv'))).toEqual(tsv);
    // Not in LMUData yet: the error says how to get it, for both commands.
    const err = await resolveTaskRoot(t, { lmuData: lmu }).catch((e: Error) => e.message);
    expect(err).toContain('run `internvl-eval datasets fetch url_root`');
    expect(err).toContain('--data-root DIR for run, --root DIR for datasets');
    expect(err).toContain(lmu);
    expect(await verifyTask(t, { lmuData: lmu })).toEqual([
      {
        file: 'X.tsv',
        ok: false,
        detail: expect.stringMatching(/^not found under .*datasets fetch url_root/),
      },
    ]);
    expect(await resolveTaskRoot(t, { root: mine, lmuData: lmu })).toBe(mine);
    expect(await verifyTask(t, { root: mine })).toEqual([
      { file: 'X.tsv', ok: true, detail: 'present (no checksum known)' },
    ]);
    // The run side passes no lmuData: $LMUData decides.
    await put(lmu, 'X.tsv', tsv);
    const saved = process.env.LMUData;
    process.env.LMUData = lmu;
    try {
      expect(await resolveTaskRoot(t, {})).toBe(lmu);
    } finally {
      if (saved === undefined) delete process.env.LMUData;
      else process.env.LMUData = saved;
    }
  });

  it('lmuDataDir: $LMUData, else ~/LMUData; only self-contained formats without a hub source go by URL', () => {
    expect(lmuDataDir({ LMUData: '/data/lmu' })).toBe(path.resolve('/data/lmu'));
    expect(lmuDataDir({})).toBe(path.join(os.homedir(), 'LMUData'));
    const url = 'https://example.org/X.tsv';
    const tsv = task({ format: 'vlmevalkit-tsv', path: 'X.tsv', options: { url } });
    expect(isUrlSourced(tsv)).toBe(true);
    expect(isUrlSourced(task({ format: 'vlmevalkit-tsv', path: 'X.tsv' }))).toBe(false);
    // RefCOCO JSONLs have a url too, but their images come from COCO: still a local copy.
    expect(isUrlSourced(task({ format: 'refcoco-jsonl', path: 'r.jsonl', options: { url } }))).toBe(false);
    const hubbed = task({
      format: 'vlmevalkit-tsv',
      path: 'X.tsv',
      options: { url },
      hub: { repo: 'a/b', type: 'dataset', files: ['X.tsv'] },
    });
    expect(isUrlSourced(hubbed)).toBe(false);
  });

  it('the CLI fetches into $LMUData, then finds the file there, and verify passes', async () => {
    const tsv = await oneRowTsv();
    server = await startServer({ 'X.tsv': tsv });
    const { configDir } = await urlTask('url_cli', { url: `${server.base}/files/X.tsv`, md5: md5(tsv) });
    const lmu = await tempDir('lmu-');
    const run = promisify(execFile);
    const env = { ...process.env, LMUData: lmu, HF_HUB_OFFLINE: '0' };
    const cli = (...args: string[]) =>
      run(process.execPath, ['bin/internvl-eval.js', 'datasets', ...args, '--config-dir', configDir], {
        env,
      });
    const first = await cli('fetch', 'url_cli');
    expect(first.stdout).toContain(
      `url_cli: X.tsv ${tsv.length} bytes md5 ok (downloaded from ${server.base}`,
    );
    expect(first.stdout).toContain(`url_cli: root ${lmu}`);
    const second = await cli('fetch', 'url_cli');
    expect(second.stdout).toContain('md5 ok (already present');
    const verify = await cli('verify', 'url_cli', '--scan');
    expect(verify.stdout).toContain(`url_cli: ok   X.tsv: md5 ${md5(tsv)}`);
    expect(verify.stdout).toContain('url_cli: 1 samples, 0 sample errors');
    expect(server.seen.length).toBe(1);
  });
});
