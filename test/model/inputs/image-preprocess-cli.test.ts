import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../../src/model/inputs/image-decode.ts';
import { preprocessImage } from '../../../src/model/inputs/image-preprocess.ts';
import { FIXTURES, manifest, sha256 } from './image-fixtures.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'preprocess-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (args: string[]) =>
  execFileSync(process.execPath, ['bin/internvl-eval.js', 'preprocess', ...args], { encoding: 'utf8' });
const image = path.join(FIXTURES, 'src/doc-300x200.png');

describe('internvl-eval preprocess', () => {
  it('prints the grid and token count; --dump-tiles and --out hold exactly the normalised pixels', async () => {
    const tilesDir = path.join(dir, 'tiles');
    const out = path.join(dir, 'px.f32');
    const stdout = cli([image, '--max-tiles', '6', '--dump-tiles', tilesDir, '--out', out]);
    expect(stdout).toMatch(/300x200, grid 3x2 \(cols x rows\) \+ thumbnail = 7 tiles, 1792 image tokens/);
    expect(stdout).toContain(`wrote ${out}`);

    const ref = manifest.tiles.find((c) => c.src === 'src/doc-300x200.png' && c.maxNum === 6)!;
    const files = readdirSync(tilesDir).sort();
    expect(files).toEqual(Array.from({ length: 7 }, (_, k) => `tile-0${k}.png`));
    for (const [k, f] of files.entries()) {
      const tile = await decodeImage(readFileSync(path.join(tilesDir, f)));
      expect([tile.width, tile.height]).toEqual([448, 448]);
      expect(sha256(tile.data), f).toBe(ref.tiles[k].sha256); // Pillow's bytes, thumbnail last
    }

    const expected = await preprocessImage(readFileSync(image), { maxTiles: 6, useThumbnail: true });
    const raw = readFileSync(out);
    expect(raw.length).toBe(7 * 3 * 448 * 448 * 4);
    expect(Buffer.compare(raw, Buffer.from(expected.pixelValues.buffer))).toBe(0);
    expect(raw.readFloatLE(0)).toBe(expected.pixelValues[0]);
  });

  it('--json prints {width, height, grid, tiles, imageTokens}; --no-thumbnail and --resize fast apply', () => {
    const got = JSON.parse(cli([image, '--max-tiles', '12', '--no-thumbnail', '--resize', 'fast', '--json']));
    expect(got).toEqual({ width: 300, height: 200, grid: [3, 2], tiles: 6, imageTokens: 6 * 256 });
  });

  it('fails with the file name on a missing or non-image file', () => {
    const r = spawnSync(
      process.execPath,
      ['bin/internvl-eval.js', 'preprocess', path.join(FIXTURES, 'grid.json')],
      { encoding: 'utf8' },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/grid\.json: unrecognised image format/);
  });
});
