import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { measurePreprocessThroughput } from '../../../src/model/inputs/preprocess-throughput.ts';
import { FIXTURES, fixtureBytes } from './image-fixtures.ts';

// Counts and their consistency only: tests never assert on timing.
const doc = 'src/doc-300x200.png'; // grid 3x2 + thumbnail at max 6 = 7 tiles
const gray = 'src/gray.png';

const cli = (args: string[]) =>
  spawnSync(process.execPath, ['bin/internvl-eval.js', 'preprocess', '--bench', ...args], {
    encoding: 'utf8',
  });

describe('internvl-eval preprocess --bench', () => {
  it.each([
    ['one thread', []],
    ['2 workers', ['--workers', '2']],
  ])('%s: whole passes over the images, tiles counted per image', (_name, extra) => {
    const r = cli([
      path.join(FIXTURES, doc),
      path.join(FIXTURES, gray),
      '--max-tiles',
      '6',
      '--seconds',
      '0.05',
      '--json',
      ...extra,
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const t = JSON.parse(r.stdout);
    expect(t.images % 2).toBe(0);
    expect(t.images).toBeGreaterThanOrEqual(2);
    expect(t.workers).toBe(extra.length ? 2 : 0);
    expect(t.maxTiles).toBe(6);
    expect(t.imagesPerSec).toBeCloseTo(t.images / t.seconds, 6);
  });

  it('prints a readable line without --json', () => {
    const r = cli([path.join(FIXTURES, doc), '--seconds', '0.05']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /^1 image\(s\), max tiles 6, resize exact, one thread: [\d.]+ images\/s, [\d.]+ tiles\/s/,
    );
  });

  it('fails with the file name on a bad image, before timing anything', () => {
    const r = cli([path.join(FIXTURES, doc), path.join(FIXTURES, 'grid.json'), '--seconds', '0.05']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/grid\.json: unrecognised image format/);
  });

  it('without --bench takes exactly one image', () => {
    const r = spawnSync(
      process.execPath,
      ['bin/internvl-eval.js', 'preprocess', path.join(FIXTURES, doc), path.join(FIXTURES, gray)],
      { encoding: 'utf8' },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/give one image \(several only with --bench\), got 2/);
  });
});

describe('measurePreprocessThroughput', () => {
  it.each([0, 1, 2])('workers %i: tiles = passes x tiles per pass', async (workers) => {
    const t = await measurePreprocessThroughput([fixtureBytes(doc)], {
      preprocess: { maxTiles: 6, useThumbnail: true },
      workers,
      seconds: 0.02,
    });
    expect(t.images).toBeGreaterThanOrEqual(1);
    expect(t.tiles).toBe(7 * t.images);
    expect(t.workers).toBe(workers);
  });

  it('rejects no images and a bad worker count', async () => {
    await expect(
      measurePreprocessThroughput([], { preprocess: { maxTiles: 6, useThumbnail: true } }),
    ).rejects.toThrow(/no images/);
    await expect(
      measurePreprocessThroughput([fixtureBytes(doc)], {
        preprocess: { maxTiles: 6, useThumbnail: true },
        workers: -1,
      }),
    ).rejects.toThrow(/--workers must be an integer >= 0/);
  });
});
