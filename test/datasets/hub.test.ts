import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { lstat, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { downloadHubFile, hubEnv, redact, type HubEnv } from '../../src/common/hf-cache.ts';
import { fetchTask, resolveTaskRoot, verifyTask } from '../../src/datasets/task-fetch.ts';
import { openTask } from '../../src/datasets/open-task.ts';
import { isSampleError } from '../../src/datasets/sample.ts';
import { startFakeHub, type FakeHub } from './fake-hub.ts';
import { put, task, tempDir } from './helpers.ts';

const REPO = 'org-x/data.set';
const TOKEN = 'hf_TopSecretToken_9f8e7d6c5b4a';

/** Deterministic pseudo-random bytes (xorshift), so a cut download is not trivially resumable by luck. */
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
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let hub: FakeHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

async function env(over: Partial<HubEnv> = {}): Promise<HubEnv> {
  return {
    endpoint: hub!.endpoint,
    offline: false,
    cacheDir: path.join(await tempDir('hf-'), 'hub'),
    ...over,
  };
}
const repo = { repo: REPO, type: 'dataset' as const };

describe('hub downloads into the HF cache layout', () => {
  it('caches an LFS file (via the CDN redirect) and a regular file, with refs and relative symlinks', async () => {
    const big = bytes(50_000, 1);
    const small = Buffer.from('{"a": 1}\n');
    hub = await startFakeHub({
      repo: REPO,
      type: 'dataset',
      files: { 'data/x.parquet': { content: big, lfs: true }, 'meta.json': { content: small, lfs: false } },
    });
    const e = await env({ token: TOKEN });
    const a = await downloadHubFile(e, repo, 'data/x.parquet');
    const b = await downloadHubFile(e, repo, 'meta.json');
    const repoDir = path.join(e.cacheDir, 'datasets--org-x--data.set');
    expect(a.path).toBe(path.join(repoDir, 'snapshots', hub.commit, 'data/x.parquet'));
    expect(a.sha256).toBe(sha(big));
    expect(await readFile(a.path)).toEqual(big);
    expect((await lstat(a.path)).isSymbolicLink()).toBe(true);
    expect(await readlink(a.path)).toBe(`../../../blobs/${sha(big)}`);
    expect(await readFile(b.path)).toEqual(small);
    expect(b.sha256).toBeUndefined();
    expect(await readFile(path.join(repoDir, 'refs', 'main'), 'utf8')).toBe(hub.commit);
    // The token goes to the hub's origin, never to the CDN the hub redirects to.
    expect(
      hub.seen.filter((s) => s.server === 'hub').every((s) => s.authorization === `Bearer ${TOKEN}`),
    ).toBe(true);
    const cdn = hub.seen.filter((s) => s.server === 'cdn');
    expect(cdn.length).toBe(1);
    expect(cdn[0].authorization).toBeUndefined();
    // A second call is served from the cache: only the HEAD goes out.
    const before = hub.seen.length;
    await downloadHubFile(e, repo, 'data/x.parquet');
    expect(hub.seen.slice(before).map((s) => s.method)).toEqual(['HEAD']);
  });

  it('resumes an interrupted download with an HTTP Range request', async () => {
    const big = bytes(200_000, 2);
    hub = await startFakeHub({
      repo: REPO,
      type: 'dataset',
      files: { 'x.bin': { content: big, lfs: true } },
    });
    const e = await env();
    hub.cutNextAfter(70_000);
    await expect(downloadHubFile(e, repo, 'x.bin')).rejects.toThrow(
      /download interrupted after \d+ bytes .*run fetch again to resume/,
    );
    const partial = path.join(e.cacheDir, 'datasets--org-x--data.set', 'blobs', `${sha(big)}.incomplete`);
    const have = (await stat(partial)).size;
    expect(have).toBeGreaterThan(0);
    expect(have).toBeLessThan(big.length);
    const got = await downloadHubFile(e, repo, 'x.bin');
    expect(await readFile(got.path)).toEqual(big);
    const ranges = hub.seen.filter((s) => s.server === 'cdn').map((s) => s.range);
    expect(ranges).toEqual([undefined, `bytes=${have}-`]);
    await expect(stat(partial)).rejects.toThrow();
  });

  it('stops on a sha256 mismatch, removing the bad file, with a message naming it', async () => {
    const big = bytes(10_000, 3);
    hub = await startFakeHub({
      repo: REPO,
      type: 'dataset',
      files: { 'x.bin': { content: big, lfs: true, advertisedSha: 'ab'.repeat(32) } },
    });
    const e = await env({ token: TOKEN });
    const err = await downloadHubFile(e, repo, 'x.bin').catch((x: Error) => x);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(
      new RegExp(
        `dataset ${REPO}@main: x\\.bin: sha256 mismatch: the hub says ${'ab'.repeat(32)}, the downloaded file hashes to ${sha(big)}`,
      ),
    );
    expect((err as Error).message).not.toContain(TOKEN);
    const blobs = path.join(e.cacheDir, 'datasets--org-x--data.set', 'blobs');
    await expect(stat(path.join(blobs, 'ab'.repeat(32)))).rejects.toThrow();
    await expect(stat(path.join(blobs, `${'ab'.repeat(32)}.incomplete`))).rejects.toThrow();
  });

  it('HF_HUB_OFFLINE=1 serves the cache without any request, and says so when a file is missing', async () => {
    const big = bytes(1000, 4);
    hub = await startFakeHub({
      repo: REPO,
      type: 'dataset',
      files: { 'x.bin': { content: big, lfs: true } },
    });
    const online = await env();
    await downloadHubFile(online, repo, 'x.bin');
    const before = hub.seen.length;
    const offline = { ...online, offline: true };
    const got = await downloadHubFile(offline, repo, 'x.bin');
    expect(await readFile(got.path)).toEqual(big);
    await expect(downloadHubFile(offline, repo, 'y.bin')).rejects.toThrow(
      /y\.bin: not in the cache .* HF_HUB_OFFLINE=1 forbids downloading/,
    );
    await expect(downloadHubFile({ ...offline, cacheDir: await tempDir() }, repo, 'x.bin')).rejects.toThrow(
      /not in the cache/,
    );
    expect(hub.seen.length).toBe(before);
  });

  it('a gated repo without access gives a clear error that never shows the token', async () => {
    hub = await startFakeHub({
      repo: REPO,
      type: 'dataset',
      files: { 'x.bin': { content: bytes(10, 5), lfs: false } },
      requireToken: 'hf_the_right_one',
    });
    const withWrong = await env({ token: TOKEN });
    const err = (await downloadHubFile(withWrong, repo, 'x.bin').catch((x: Error) => x)) as Error;
    expect(err.message).toMatch(/access denied \(HTTP 401\).*the token in HF_TOKEN has no access/);
    expect(err.message).not.toContain(TOKEN);
    expect(err.stack ?? '').not.toContain(TOKEN);
    await expect(downloadHubFile(await env(), repo, 'x.bin')).rejects.toThrow(/set HF_TOKEN/);
    await expect(
      downloadHubFile(await env({ token: 'hf_the_right_one' }), repo, 'x.bin'),
    ).resolves.toMatchObject({ size: 10 });
    await expect(downloadHubFile(await env({ token: 'hf_the_right_one' }), repo, 'nope.bin')).rejects.toThrow(
      /nope\.bin: not found \(HTTP 404\)/,
    );
  });

  it('follows the relative redirect of a renamed repo, not the absolute CDN one, on HEAD', async () => {
    const big = bytes(3000, 6);
    hub = await startFakeHub({
      repo: REPO,
      type: 'dataset',
      oldRepo: 'old-org/old-name',
      files: { 'x.bin': { content: big, lfs: true } },
    });
    const e = await env();
    const got = await downloadHubFile(e, { repo: 'old-org/old-name', type: 'dataset' }, 'x.bin');
    expect(await readFile(got.path)).toEqual(big);
    expect(got.path).toContain('datasets--old-org--old-name');
    const heads = hub.seen.filter((s) => s.method === 'HEAD').map((s) => s.url);
    expect(heads).toEqual([
      '/datasets/old-org/old-name/resolve/main/x.bin',
      `/datasets/${REPO}/resolve/main/x.bin`,
    ]);
  });

  it('redact() removes the token and any Bearer value', () => {
    expect(redact(`GET failed: authorization: Bearer ${TOKEN} (token ${TOKEN})`, TOKEN)).toBe(
      'GET failed: authorization: Bearer *** (token ***)',
    );
    expect(redact('header Bearer abc.def', undefined)).toBe('header Bearer ***');
  });

  it('hubEnv reads HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE and HF_TOKEN', () => {
    expect(hubEnv({ HF_ENDPOINT: 'http://h:1/', HF_HOME: '/x', HF_HUB_OFFLINE: '1', HF_TOKEN: 't' })).toEqual(
      {
        endpoint: 'http://h:1',
        token: 't',
        offline: true,
        cacheDir: path.join('/x', 'hub'),
      },
    );
    expect(hubEnv({ HF_HUB_CACHE: '/c', HF_HUB_OFFLINE: '0' })).toMatchObject({
      cacheDir: '/c',
      offline: false,
      endpoint: 'https://huggingface.co',
    });
  });
});

describe('fetchTask / resolveTaskRoot / verifyTask', () => {
  const jsonlTask = task(
    {
      format: 'refcoco-jsonl',
      path: 'data/val.jsonl',
      hub: { repo: REPO, type: 'dataset', files: ['data/*.jsonl', 'img/*.png'] },
    },
    { name: 'hub_task' },
  );

  async function hubWithDataset() {
    const { png } = await import('./helpers.ts');
    const img = await png(4, 4, [1, 2, 3]);
    const line = JSON.stringify({
      image: 'img/a.png',
      sent: 'the thing',
      bbox: [0, 0, 2, 2],
      width: 4,
      height: 4,
    });
    hub = await startFakeHub({
      repo: REPO,
      type: 'dataset',
      pageSize: 1, // exercise the tree API's Link paging
      files: {
        'data/val.jsonl': { content: Buffer.from(line + '\n'), lfs: false },
        'img/a.png': { content: img, lfs: true },
        'README.md': { content: Buffer.from('# card'), lfs: false },
      },
    });
    return img;
  }

  it('expands globs through the paged tree API, downloads, and the snapshot opens as the dataset root', async () => {
    const img = await hubWithDataset();
    const e = await env();
    const fetched = await fetchTask(jsonlTask, { env: e });
    expect(fetched.files.map((f) => path.relative(fetched.root, f.path))).toEqual([
      'data/val.jsonl',
      'img/a.png',
    ]);
    const root = await resolveTaskRoot(jsonlTask, { env: { ...e, offline: true } });
    expect(root).toBe(fetched.root);
    const items = [];
    for await (const s of openTask(jsonlTask, { root })) items.push(s);
    expect(items.some(isSampleError)).toBe(false);
    expect(Buffer.from(await (items[0] as any).images[0].load())).toEqual(img);
    expect(await verifyTask(jsonlTask, { env: e })).toEqual([
      { file: 'data/val.jsonl', ok: true, detail: expect.stringMatching(/present/) },
      { file: 'img/a.png', ok: true, detail: `sha256 ${sha(img)}` },
    ]);
    // Corrupt the cached blob: verify catches it.
    await writeFile(path.join(fetched.root, 'img/a.png'), Buffer.from('garbage'));
    const lines = await verifyTask(jsonlTask, { env: e });
    expect(lines[1]).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^sha256 mismatch: expected/),
    });
  });

  it('a task not fetched yet, or without a hub source, says what to do', async () => {
    await expect(
      resolveTaskRoot(jsonlTask, {
        env: { endpoint: 'http://127.0.0.1:9', offline: true, cacheDir: await tempDir() },
      }),
    ).rejects.toThrow(/run `internvl-eval datasets fetch hub_task`/);
    // A url on a format that needs files from elsewhere (RefCOCO: COCO images) is shown, not downloaded;
    // VLMEvalKit TSVs with a url are fetched by url-source.ts (test/datasets/url-source.test.ts).
    const local = task({
      format: 'refcoco-jsonl',
      path: 'x.jsonl',
      options: { url: 'https://example/x.jsonl' },
    });
    await expect(fetchTask(local, { env: await env0() })).rejects.toThrow(
      /has no hub source.*--root DIR.*https:\/\/example\/x\.jsonl/,
    );
    await expect(resolveTaskRoot(local, {})).rejects.toThrow(
      /--data-root DIR for run, --root DIR for datasets/,
    );
  });

  it('verify checks a local TSV against its VLMEvalKit md5', async () => {
    const root = await tempDir();
    const body = 'index\tquestion\n0\tq\n';
    await put(root, 'X.tsv', body);
    const md5 = createHash('md5').update(body).digest('hex');
    const ok = task({ format: 'vlmevalkit-tsv', path: 'X.tsv', options: { md5 } });
    expect(await verifyTask(ok, { root })).toEqual([{ file: 'X.tsv', ok: true, detail: `md5 ${md5}` }]);
    const bad = task({ format: 'vlmevalkit-tsv', path: 'X.tsv', options: { md5: '0'.repeat(32) } });
    expect((await verifyTask(bad, { root }))[0]).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/md5 mismatch/),
    });
  });

  it('the CLI fetches with HF_ENDPOINT/HF_TOKEN and never prints the token', async () => {
    await hubWithDataset();
    const cfg = await tempDir();
    const yaml = `name: hub_task
title: Hub task
group: grounding
source:
  format: refcoco-jsonl
  path: data/val.jsonl
  hub: { repo: ${REPO}, type: dataset, files: ["data/*.jsonl", "img/*.png", "missing/*.bin"] }
prompt: { kind: grounding, template: "<ref>{}</ref>" }
maxTiles: 6
useThumbnail: true
maxNewTokens: 100
minNewTokens: 1
scorer: { name: refcoco_acc }
report: {}
`;
    await put(cfg, 'hub_task.yaml', yaml);
    const hfHome = await tempDir();
    const run = promisify(execFile);
    const envVars = { ...process.env, HF_ENDPOINT: hub!.endpoint, HF_HOME: hfHome, HF_TOKEN: TOKEN };
    const r = await run(
      process.execPath,
      ['bin/internvl-eval.js', 'datasets', 'fetch', 'hub_task', '--config-dir', cfg],
      { env: envVars },
    ).catch((x) => x);
    // "missing/*.bin" matches nothing: a clear failure, token-free.
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/task hub_task: no file matches "missing\/\*\.bin"/);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    await put(cfg, 'hub_task.yaml', yaml.replace(', "missing/*.bin"', ''));
    const ok = await run(
      process.execPath,
      ['bin/internvl-eval.js', 'datasets', 'fetch', 'hub_task', '--config-dir', cfg],
      { env: envVars },
    );
    expect(ok.stdout).toMatch(/hub_task: img\/a\.png \d+ bytes sha256 ok/);
    expect(ok.stdout + ok.stderr).not.toContain(TOKEN);
    expect(hub!.seen.some((s) => s.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });
});

async function env0(): Promise<HubEnv> {
  return { endpoint: 'http://127.0.0.1:9', offline: false, cacheDir: await tempDir() };
}
