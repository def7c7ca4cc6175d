/**
 * PreprocessPool: `preprocessImage` on worker threads must give exactly what it gives in-process (same grid, tiles,
 * tile bytes, pixel values), name the image in errors, survive a bad image, and never keep a process alive.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { noisyPicture } from './noisy-picture.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { preprocessImage, type PreprocessOptions } from '../../../src/model/inputs/image-preprocess.ts';
import {
  defaultPoolSize,
  ImagePreprocessError,
  PreprocessPool,
  PreprocessPoolError,
} from '../../../src/model/inputs/preprocess-pool.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const POOL_URL = pathToFileURL(path.join(REPO, 'src/model/inputs/preprocess-pool.ts')).href;

const picture = (w: number, h: number, format: 'png' | 'jpeg') => noisyPicture(w, h, { format });

const cases: { name: string; w: number; h: number; format: 'png' | 'jpeg'; opts: PreprocessOptions }[] = [
  {
    name: 'png, 3x2 grid + thumbnail',
    w: 300,
    h: 200,
    format: 'png',
    opts: { maxTiles: 6, useThumbnail: true },
  },
  { name: 'jpeg, single tile', w: 120, h: 90, format: 'jpeg', opts: { maxTiles: 1, useThumbnail: true } },
  {
    name: 'png, fast resize, no thumbnail',
    w: 200,
    h: 300,
    format: 'png',
    opts: { maxTiles: 4, useThumbnail: false, resize: 'fast' },
  },
  {
    name: 'jpeg, upscale 2 (MMMU path)',
    w: 64,
    h: 40,
    format: 'jpeg',
    opts: { maxTiles: 4, useThumbnail: true, upscale: 2 },
  },
];

const pools: PreprocessPool[] = [];
function pool(size: number): PreprocessPool {
  const p = new PreprocessPool({ size });
  pools.push(p);
  return p;
}
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe('PreprocessPool', () => {
  it('defaults to one worker per core but one, validates its size', () => {
    expect(defaultPoolSize()).toBe(Math.max(1, os.availableParallelism() - 1));
    expect(new PreprocessPool().size).toBe(defaultPoolSize());
    expect(() => new PreprocessPool({ size: -1 })).toThrow(/size must be an integer >= 0/);
    expect(() => new PreprocessPool({ size: 1.5 })).toThrow(/size must be an integer >= 0/);
    expect(() => new PreprocessPool({ depth: 0 })).toThrow(/depth must be an integer >= 1/);
  });

  it('queues beyond size x depth and answers every job with its own image', async () => {
    const p = new PreprocessPool({ size: 1, depth: 2 });
    pools.push(p);
    const shapes = [
      [40, 30],
      [30, 120],
      [200, 60],
      [50, 50],
      [90, 30],
    ];
    const inputs = await Promise.all(shapes.map(([w, h]) => picture(w, h, 'png')));
    const got = await Promise.all(inputs.map((b) => p.preprocess(b, { maxTiles: 1, useThumbnail: false })));
    expect(got.map((g) => [g.width, g.height])).toEqual(shapes);
    expect(p.workers).toBe(1);
  });

  it.each([2, 0])('size %i gives exactly what preprocessImage gives in-process', async (size) => {
    const p = pool(size);
    const inputs = await Promise.all(cases.map((c) => picture(c.w, c.h, c.format)));
    // All at once: with size 2 the jobs queue, and each result must still go to its own caller.
    const got = await Promise.all(cases.map((c, i) => p.preprocess(inputs[i], c.opts, c.name)));
    for (const [i, c] of cases.entries()) {
      const want = await preprocessImage(inputs[i], c.opts);
      const g = got[i];
      expect([g.width, g.height, g.grid, g.tiles], c.name).toEqual([
        want.width,
        want.height,
        want.grid,
        want.tiles,
      ]);
      expect(g.pixelValues).toBeInstanceOf(Float32Array);
      expect(g.pixelValues.length, c.name).toBe(want.tiles * 3 * 448 * 448);
      expect(Buffer.from(g.pixelValues.buffer).equals(Buffer.from(want.pixelValues.buffer)), c.name).toBe(
        true,
      );
      expect(g.tileRgb.length).toBe(want.tileRgb.length);
      g.tileRgb.forEach((t, k) =>
        expect(Buffer.from(t).equals(Buffer.from(want.tileRgb[k])), c.name).toBe(true),
      );
      // The caller's bytes are copied to the worker, never transferred away.
      expect(inputs[i].byteLength).toBeGreaterThan(0);
    }
    expect(p.workers).toBe(Math.min(size, cases.length));
  });

  it.each([1, 0])('size %i: errors name the image and keep their kind; the pool goes on', async (size) => {
    const p = pool(size);
    const bad = new Uint8Array([1, 2, 3, 4]);
    const err = await p
      .preprocess(bad, { maxTiles: 2, useThumbnail: true }, 'data/broken.png')
      .catch((e) => e);
    expect(err).toBeInstanceOf(ImagePreprocessError);
    expect(err.message).toMatch(/^data\/broken\.png: .*unrecognised image format/);

    const png = await picture(40, 30, 'png');
    const bomb = await p
      .preprocess(png, { maxTiles: 2, useThumbnail: true, decode: { maxImagePixels: 100 } }, 'big.png')
      .catch((e) => e);
    expect(bomb).toBeInstanceOf(ImagePreprocessError);
    expect(bomb.causeName).toBe('DecompressionBombError');
    expect(bomb.message).toMatch(/^big\.png: .*decompression bomb/);

    const ok = await p.preprocess(png, { maxTiles: 2, useThumbnail: true }, 'fine.png');
    expect(ok.tiles).toBe(1);
  });

  it('close rejects what is waiting, refuses new work, and is idempotent', async () => {
    const p = pool(1);
    const png = await picture(300, 200, 'png');
    const jobs = [0, 1, 2].map((i) =>
      p.preprocess(png, { maxTiles: 6, useThumbnail: true }, `img${i}`).then(
        () => 'done',
        (e: Error) => e,
      ),
    );
    await p.close();
    const settled = await Promise.all(jobs);
    for (const s of settled) expect(s).toBeInstanceOf(PreprocessPoolError);
    expect((settled[2] as Error).message).toMatch(/^img2: preprocess pool closed/);
    await expect(p.preprocess(png, { maxTiles: 1, useThumbnail: true }, 'late.png')).rejects.toThrow(
      /^late\.png: preprocess pool is closed/,
    );
    await p.close();
  });

  // Workers load TypeScript through their own tsx registration: the two ways the project starts (bin/ registers
  // tsx in-process; `node --import tsx` for benches) must both work, and a pool left open must not hold the
  // process (idle workers are unref'd), nor one that was closed.
  it.each([
    ['registered like bin/internvl-eval.js, pool left open', [], false],
    ['node --import tsx, pool closed', ['--import', 'tsx'], true],
  ] as const)('in a child process %s: works and the process exits', (_name, flags, close) => {
    const script = [
      ...(flags.length ? [] : ["import { register } from 'tsx/esm/api';", 'register();']),
      `const { PreprocessPool } = await import(${JSON.stringify(POOL_URL)});`,
      "const sharp = (await import('sharp')).default;",
      'const raw = new Uint8Array(300 * 200 * 3).fill(200);',
      'const png = await sharp(raw, { raw: { width: 300, height: 200, channels: 3 } }).png().toBuffer();',
      'const pool = new PreprocessPool({ size: 2 });',
      'const rs = await Promise.all([1, 2].map(() => pool.preprocess(png, { maxTiles: 6, useThumbnail: true })));',
      "console.log('tiles', rs.map((r) => r.tiles).join(','), 'workers', pool.workers);",
      ...(close ? ['await pool.close();'] : []),
    ].join('\n');
    const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.signal, `child did not exit by itself; stderr: ${r.stderr}`).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('tiles 7,7 workers 2');
  });
});
