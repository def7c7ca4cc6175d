/**
 * Zip extraction (src/datasets/archive.ts) and its use by `fetchTask`/`verifyTask` (hub.ts): archives are built here
 * byte by byte (a minimal PKZIP writer), so malicious ones (zip-slip names, symlink entries, bombs, lying sizes) are
 * as easy to make as good ones.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ArchiveError, extractionStatus, extractZip } from '../../src/datasets/archive.ts';
import type { HubEnv } from '../../src/common/hf-cache.ts';
import { fetchTask, verifyTask } from '../../src/datasets/task-fetch.ts';
import type { TaskConfig } from '../../src/datasets/task.ts';
import { loadTask, taskConfigSchema } from '../../src/datasets/task-config.ts';
import { startFakeHub, type FakeHub } from './fake-hub.ts';
import { collect, png, put, split, tempDir } from './helpers.ts';

interface ZipEntry {
  name: string;
  data?: Buffer;
  /** 0 stored, 8 deflated (default). */
  method?: 0 | 8;
  /** Unix mode (type bits included); default a regular file (or folder for names ending in "/"). */
  mode?: number;
  /** Lie about the uncompressed size in both headers. */
  declaredSize?: number;
  /** Replace the compressed bytes (to make a corrupt entry). */
  rawOverride?: Buffer;
}

/** A minimal PKZIP archive: local headers + data, central directory, end record (no zip64, UTF-8 names). */
function makeZip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const method = e.name.endsWith('/') ? 0 : (e.method ?? 8);
    const packed = e.rawOverride ?? (method === 8 ? deflateRawSync(data) : data);
    const name = Buffer.from(e.name, 'utf8');
    const size = e.declaredSize ?? data.length;
    const mode = e.mode ?? (e.name.endsWith('/') ? 0o040755 : 0o100644);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the mode in the external attributes counts
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc32(data), 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, packed);
    centrals.push(central, name);
    offset += local.length + name.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function listTree(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => [])) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(`${r}/`, ...(await listTree(dir, r)));
    else out.push(r);
  }
  return out.sort();
}

async function zipFile(entries: ZipEntry[], name = 'a.zip'): Promise<{ file: string; dir: string }> {
  const dir = await tempDir('zip-');
  const file = await put(dir, name, makeZip(entries));
  return { file, dir };
}

describe('extractZip', () => {
  it('extracts folders, stored and deflated files; records a marker; a second call is a no-op', async () => {
    const { file, dir } = await zipFile([
      { name: 'top/' },
      { name: 'top/a.txt', data: Buffer.from('alpha\n'), method: 0 },
      { name: 'top/sub/b.bin', data: Buffer.alloc(3000, 7) },
      { name: 'c.txt', data: Buffer.from('gamma') },
    ]);
    const dest = path.join(dir, 'out');
    const r = await extractZip(file, dest);
    expect(r).toMatchObject({ skipped: false, entries: 4, bytes: 6 + 3000 + 5, top: ['c.txt', 'top'] });
    expect(await listTree(dest)).toEqual([
      '.internvl-eval/',
      '.internvl-eval/extracted/',
      '.internvl-eval/extracted/a.zip.json',
      'c.txt',
      'top/',
      'top/a.txt',
      'top/sub/',
      'top/sub/b.bin',
    ]);
    expect(await readFile(path.join(dest, 'top/a.txt'), 'utf8')).toBe('alpha\n');
    expect(await readFile(path.join(dest, 'top/sub/b.bin'))).toEqual(Buffer.alloc(3000, 7));
    expect(r.sha256).toBe(sha(await readFile(file)));

    await writeFile(path.join(dest, 'c.txt'), 'edited'); // a real second extraction would undo this
    const again = await extractZip(file, dest);
    expect(again.skipped).toBe(true);
    expect(await readFile(path.join(dest, 'c.txt'), 'utf8')).toBe('edited');
  });

  it('re-extracts when the archive changed (another sha256) or an extracted top-level entry went missing', async () => {
    const { file, dir } = await zipFile([{ name: 'x/y.txt', data: Buffer.from('v1') }]);
    const dest = path.join(dir, 'out');
    await extractZip(file, dest);
    await writeFile(file, makeZip([{ name: 'x/y.txt', data: Buffer.from('v2') }]));
    expect((await extractZip(file, dest)).skipped).toBe(false);
    expect(await readFile(path.join(dest, 'x/y.txt'), 'utf8')).toBe('v2');
    await rm(path.join(dest, 'x'), { recursive: true });
    expect(await extractionStatus(dest, { key: 'a.zip' })).toMatchObject({ done: false });
    expect((await extractZip(file, dest)).skipped).toBe(false);
    expect(await readFile(path.join(dest, 'x/y.txt'), 'utf8')).toBe('v2');
  });

  it('merges several archives into one folder (MVBench sources, Video-MME chunks)', async () => {
    const dir = await tempDir('zip-');
    const a = await put(dir, 'chunk_01.zip', makeZip([{ name: 'data/v1.mp4', data: Buffer.from('one') }]));
    const b = await put(dir, 'chunk_02.zip', makeZip([{ name: 'data/v2.mp4', data: Buffer.from('two') }]));
    const dest = path.join(dir, 'root');
    await extractZip(a, dest);
    await extractZip(b, dest);
    expect((await listTree(dest)).filter((f) => f.startsWith('data'))).toEqual([
      'data/',
      'data/v1.mp4',
      'data/v2.mp4',
    ]);
    expect(await extractionStatus(dest, { key: 'chunk_01.zip' })).toMatchObject({ done: true });
    expect(await extractionStatus(dest, { key: 'chunk_02.zip' })).toMatchObject({ done: true });
  });

  const evil: [string, ZipEntry, RegExp][] = [
    ['parent climb', { name: '../evil.txt', data: Buffer.from('x') }, /\.\.\/evil\.txt/],
    [
      'nested parent climb',
      { name: 'ok/../../evil.txt', data: Buffer.from('x') },
      /ok\/\.\.\/\.\.\/evil\.txt/,
    ],
    ['absolute path', { name: '/tmp/evil.txt', data: Buffer.from('x') }, /\/tmp\/evil\.txt/],
    ['drive path', { name: 'C:/evil.txt', data: Buffer.from('x') }, /C:\/evil\.txt/],
    ['backslash climb', { name: '..\\evil.txt', data: Buffer.from('x') }, /evil\.txt/],
    [
      'symlink entry',
      { name: 'link', data: Buffer.from('/etc/passwd'), method: 0, mode: 0o120777 },
      /"link" refused: symbolic links/,
    ],
    [
      'reserved marker folder',
      { name: '.internvl-eval/extracted/a.zip.json', data: Buffer.from('{}') },
      /reserved/,
    ],
  ];
  it.each(evil)(
    'refuses a zip-slip entry (%s), naming archive and entry; nothing lands',
    async (_, entry, re) => {
      const { file, dir } = await zipFile(
        [{ name: 'good.txt', data: Buffer.from('fine') }, entry],
        'evil.zip',
      );
      const dest = path.join(dir, 'deep', 'out');
      const err = await extractZip(file, dest).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ArchiveError);
      expect((err as Error).message).toMatch(/^archive evil\.zip: /);
      expect((err as Error).message).toMatch(re);
      // atomic: not even the good entry before it reached the target, and no marker says done
      expect(await listTree(dest)).not.toContain('good.txt');
      expect(await listTree(path.join(dest, '.internvl-eval'))).toEqual(['extracting/']);
      expect(await listTree(path.join(dir, 'deep'))).not.toContain('evil.txt');
      expect(await listTree(dir)).not.toContain('evil.txt');
    },
  );

  it('refuses a zip bomb by compression ratio, naming the entry and the cap', async () => {
    const bomb = Buffer.alloc(8 * 2 ** 20); // 8 MiB of zeros deflate ~1000:1
    const { file, dir } = await zipFile([{ name: 'bomb.bin', data: bomb }], 'bomb.zip');
    await expect(extractZip(file, path.join(dir, 'out'))).rejects.toThrow(
      /archive bomb\.zip: entry "bomb\.bin": compression ratio \d+:1 .* exceeds the cap of 200:1 \(maxEntryRatio/,
    );
    expect(await listTree(path.join(dir, 'out'))).not.toContain('bomb.bin');
    // the same entry passes with a looser cap (configurable)
    const ok = await extractZip(file, path.join(dir, 'out'), { limits: { maxEntryRatio: 5000 } });
    expect((await stat(path.join(dir, 'out/bomb.bin'))).size).toBe(bomb.length);
    expect(ok.bytes).toBe(bomb.length);
  });

  it('refuses archives over the total-size and entry-count caps', async () => {
    const { file, dir } = await zipFile([
      { name: 'a.bin', data: Buffer.alloc(600, 1), method: 0 },
      { name: 'b.bin', data: Buffer.alloc(600, 2), method: 0 },
      { name: 'c.bin', data: Buffer.alloc(10, 3), method: 0 },
    ]);
    await expect(extractZip(file, path.join(dir, 'o1'), { limits: { maxTotalBytes: 1000 } })).rejects.toThrow(
      /archive a\.zip: entry "b\.bin": .*exceeds the cap of 1000 bytes \(maxTotalBytes/,
    );
    await expect(extractZip(file, path.join(dir, 'o2'), { limits: { maxEntries: 2 } })).rejects.toThrow(
      /archive a\.zip: 3 entries exceed the cap of 2 \(maxEntries/,
    );
  });

  it('refuses an entry that inflates past its declared size (a lying header)', async () => {
    const { file, dir } = await zipFile([
      { name: 'liar.bin', data: Buffer.alloc(50_000, 9), declaredSize: 100 },
    ]);
    await expect(extractZip(file, path.join(dir, 'out'))).rejects.toThrow(
      /archive a\.zip: entry "liar\.bin"/,
    );
    expect(await listTree(path.join(dir, 'out'))).not.toContain('liar.bin');
  });

  it('an interrupted extraction (temp folder left, no marker) restarts cleanly', async () => {
    const { file, dir } = await zipFile([
      { name: 'imgs/1.txt', data: Buffer.from('one') },
      { name: 'imgs/2.txt', data: Buffer.from('two') },
    ]);
    const dest = path.join(dir, 'out');
    // what a killed run leaves: half a temp folder, and one file already moved into place
    await put(dest, '.internvl-eval/extracting/a.zip/imgs/1.txt', 'on');
    await put(dest, 'imgs/1.txt', 'stale');
    expect(await extractionStatus(dest, { key: 'a.zip' })).toMatchObject({ done: false, interrupted: true });
    const r = await extractZip(file, dest);
    expect(r.skipped).toBe(false);
    expect(await readFile(path.join(dest, 'imgs/1.txt'), 'utf8')).toBe('one');
    expect(await readFile(path.join(dest, 'imgs/2.txt'), 'utf8')).toBe('two');
    expect(await listTree(path.join(dest, '.internvl-eval'))).toEqual(['extracted/', 'extracted/a.zip.json']);
  });

  it('a corrupt entry fails the archive without touching the target; the fixed archive then extracts', async () => {
    const dir = await tempDir('zip-');
    const good = { name: 'p/ok.txt', data: Buffer.from('ok') };
    const broken = {
      name: 'p/broken.txt',
      data: Buffer.from('hello hello hello'),
      rawOverride: Buffer.from([0xff, 0xff, 0xff, 0xff]),
    };
    const file = await put(dir, 'a.zip', makeZip([good, broken]));
    const dest = path.join(dir, 'out');
    await expect(extractZip(file, dest)).rejects.toThrow(/archive a\.zip: .*p\/broken\.txt/);
    expect(await listTree(dest)).toEqual(['.internvl-eval/', '.internvl-eval/extracting/']);
    await writeFile(file, makeZip([good, { ...broken, rawOverride: undefined }]));
    expect((await extractZip(file, dest)).skipped).toBe(false);
    expect(await readFile(path.join(dest, 'p/broken.txt'), 'utf8')).toBe('hello hello hello');
  });

  it('rejects a file that is not a zip', async () => {
    const dir = await tempDir('zip-');
    const file = await put(dir, 'not.zip', 'plain text, no central directory');
    await expect(extractZip(file, path.join(dir, 'o'))).rejects.toThrow(
      /archive not\.zip: not a readable zip/,
    );
  });
});

describe('task config: source.hub.extract / place', () => {
  const base = {
    name: 't',
    title: 'T',
    group: 'image',
    prompt: { kind: 'suffix', suffix: '', joiner: ' ' },
    maxTiles: 6,
    useThumbnail: true,
    maxNewTokens: 10,
    minNewTokens: 1,
    scorer: { name: 'exact_match' },
    report: {},
  };
  const withHub = (hub: Record<string, unknown>) => ({
    ...base,
    source: { format: 'internvl-jsonl', path: 'x.jsonl', hub: { repo: 'o/r', type: 'model', ...hub } },
  });
  const cases: [string, Record<string, unknown>, RegExp | null][] = [
    [
      'an archive and a placement',
      {
        files: ['a.jsonl', 'b.zip'],
        extract: [{ file: 'b.zip', to: 'd/{stem}' }],
        place: [{ file: 'a.jsonl', to: 'x.jsonl' }],
      },
      null,
    ],
    [
      'a glob of archives',
      { files: ['v/*.zip'], extract: [{ file: 'v/*.zip', limits: { maxEntryRatio: 50 } }] },
      null,
    ],
    [
      'an archive not among files',
      { files: ['a.zip'], extract: [{ file: 'b.zip' }] },
      /extract\.0\.file.*not among/,
    ],
    [
      'a target that climbs out',
      { files: ['a.zip'], extract: [{ file: 'a.zip', to: '../up' }] },
      /extract\.0\.to/,
    ],
    ['an absolute target', { files: ['a.zip'], extract: [{ file: 'a.zip', to: '/abs' }] }, /extract\.0\.to/],
    ['a non-zip archive', { files: ['a.tar'], extract: [{ file: 'a.tar' }] }, /only \.zip/],
    [
      'an unknown limit',
      { files: ['a.zip'], extract: [{ file: 'a.zip', limits: { maxFoo: 1 } }] },
      /unrecognized|maxFoo/i,
    ],
    [
      'a placement by glob',
      { files: ['*.jsonl'], place: [{ file: '*.jsonl', to: 'x.jsonl' }] },
      /place\.0\.file/,
    ],
  ];
  it.each(cases)('%s', (_, hub, err) => {
    const r = taskConfigSchema.safeParse(withHub(hub));
    if (err === null) expect(r.success).toBe(true);
    else {
      expect(r.success).toBe(false);
      expect(r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n')).toMatch(err);
    }
  });
});

describe('fetchTask extracts the archives a task lists; verifyTask reports them', () => {
  let hub: FakeHub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });
  async function env(): Promise<HubEnv> {
    return { endpoint: hub!.endpoint, offline: false, cacheDir: path.join(await tempDir('hf-'), 'hub') };
  }
  /** The real task config, with its hub block kept (the fake hub serves the same repo name). */
  async function real(name: string): Promise<TaskConfig> {
    return loadTask(name);
  }

  it('MME: zip from the model repo unpacked to data/mme under --root; openTask yields paired samples', async () => {
    const red = await png(8, 8, [200, 0, 0]);
    const blue = await png(8, 8, [0, 0, 200]);
    const zip = makeZip([
      { name: 'MME_Benchmark_release_version/' },
      { name: 'MME_Benchmark_release_version/existence/000000006040.jpg', data: red, method: 0 },
      { name: 'MME_Benchmark_release_version/artwork/images/10002.jpg', data: blue },
    ]);
    hub = await startFakeHub({
      repo: 'OpenGVLab/InternVL',
      type: 'model',
      files: { 'MME_Benchmark_release_version.zip': { content: zip, lfs: true } },
    });
    const mme = await real('mme');
    const root = await tempDir('internvl_chat-'); // an InternVL checkout: the question files are already there
    await put(
      root,
      'eval/mme/Your_Results/existence.txt',
      'a\tIs there a train? Please answer yes or no.\tYes\n'.replace('a', '000000006040.jpg') +
        '000000006040.jpg\tIs there a car? Please answer yes or no.\tNo\n',
    );
    await put(
      root,
      'eval/mme/Your_Results/artwork.txt',
      '10002.jpg\tIs this by Monet? Please answer yes or no.\tYes\n10002.jpg\tIs this by Dali? Please answer yes or no.\tNo\n',
    );
    const e = await env();
    const fetched = await fetchTask(mme, { env: e, root });
    expect(fetched.root).toBe(root);
    expect(fetched.extracted).toMatchObject([
      { archive: 'MME_Benchmark_release_version.zip', skipped: false, entries: 3, sha256: sha(zip) },
    ]);
    const { samples, errors } = split(await collect(mme, root));
    expect(errors).toEqual([]);
    expect(samples.map((s) => [s.id, s.answers[0]])).toEqual([
      ['artwork/10002.jpg#0', 'Yes'],
      ['artwork/10002.jpg#1', 'No'],
      ['existence/000000006040.jpg#0', 'Yes'],
      ['existence/000000006040.jpg#1', 'No'],
    ]);
    expect(Buffer.from(await samples[2].images![0].load())).toEqual(red);
    expect(await verifyTask(mme, { env: e, root })).toContainEqual({
      file: 'MME_Benchmark_release_version.zip -> data/mme',
      ok: true,
      detail: 'extracted (3 entries, ' + (red.length + blue.length) + ' bytes)',
    });

    // a second fetch downloads nothing and extracts nothing
    const gets = hub.seen.filter((s) => s.method === 'GET').length;
    const again = await fetchTask(mme, { env: e, root });
    expect(again.extracted[0].skipped).toBe(true);
    expect(hub.seen.filter((s) => s.method === 'GET').length).toBe(gets);
  });

  it('AI2D: the jsonl is placed and AI2D_TEST.zip unpacked inside the snapshot, in the InternVL layout', async () => {
    const img = await png(6, 6, [10, 200, 10]);
    const jsonl =
      JSON.stringify({
        image: 'data/ai2diagram/AI2D_TEST/7.png',
        question: 'Which? A. x B. y',
        question_id: 7,
        answer: 'A',
      }) + '\n';
    hub = await startFakeHub({
      repo: 'OpenGVLab/InternVL',
      type: 'model',
      files: {
        'ai2d_test_vlmevalkit.jsonl': { content: Buffer.from(jsonl), lfs: false },
        'AI2D_TEST.zip': { content: makeZip([{ name: 'AI2D_TEST/7.png', data: img }]), lfs: true },
      },
    });
    const ai2d = await real('ai2d_test');
    const e = await env();
    const fetched = await fetchTask(ai2d, { env: e });
    expect(fetched.root).toBe(fetched.snapshot);
    const { samples, errors } = split(await collect(ai2d, fetched.root));
    expect(errors).toEqual([]);
    expect(samples.map((s) => [s.id, s.question, s.answers])).toEqual([['7', 'Which? A. x B. y', ['A']]]);
    expect(Buffer.from(await samples[0].images![0].load())).toEqual(img);
    // offline (HF_HUB_OFFLINE=1): served from the cache, and the extraction is recognised by the blob's sha256 name
    const offline = await fetchTask(ai2d, { env: { ...e, offline: true } });
    expect(offline.extracted.map((x) => x.skipped)).toEqual([true]);
    const lines = await verifyTask(ai2d, { env: e });
    expect(lines.every((l) => l.ok)).toBe(true);
    expect(lines.map((l) => l.file)).toContain('AI2D_TEST.zip -> data/ai2diagram');

    // an interrupted re-extraction shows in verify, and the next fetch repairs it
    await rm(path.join(fetched.root, '.internvl-eval/extracted'), { recursive: true });
    await put(fetched.root, '.internvl-eval/extracting/AI2D_TEST.zip/AI2D_TEST/7.png', 'half');
    expect(await verifyTask(ai2d, { env: e })).toContainEqual({
      file: 'AI2D_TEST.zip -> data/ai2diagram',
      ok: false,
      detail: 'extraction was interrupted (run fetch again)',
    });
    expect((await fetchTask(ai2d, { env: e })).extracted[0].skipped).toBe(false);
    expect((await verifyTask(ai2d, { env: e })).every((l) => l.ok)).toBe(true);
  });

  it('MVBench: each video/NAME.zip goes to video/NAME/; a bomb among them stops fetch with its name', async () => {
    hub = await startFakeHub({
      repo: 'OpenGVLab/MVBench',
      type: 'dataset',
      files: {
        'json/action_count.json': { content: Buffer.from('[]'), lfs: false },
        'video/perception.zip': {
          content: makeZip([{ name: 'videos/a.mp4', data: Buffer.from('mp4') }]),
          lfs: true,
        },
        'video/clevrer.zip': {
          content: makeZip([{ name: 'video_validation/v.mp4', data: Buffer.alloc(4 * 2 ** 20) }]),
          lfs: true,
        },
      },
    });
    const mv = await real('mvbench');
    const e = await env();
    await expect(fetchTask(mv, { env: e })).rejects.toThrow(
      /archive video\/clevrer\.zip: entry "video_validation\/v\.mp4": compression ratio/,
    );
    const fetched = await fetchTask(mv, { env: e, extractLimits: { maxEntryRatio: 1e6 } });
    expect(fetched.extracted.map((x) => [x.archive, path.relative(fetched.root, x.dest)])).toEqual([
      ['video/clevrer.zip', 'video/clevrer'],
      ['video/perception.zip', 'video/perception'],
    ]);
    expect(await readFile(path.join(fetched.root, 'video/perception/videos/a.mp4'), 'utf8')).toBe('mp4');
    expect((await stat(path.join(fetched.root, 'video/clevrer/video_validation/v.mp4'))).size).toBe(
      4 * 2 ** 20,
    );
  });
});
