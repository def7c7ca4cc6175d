import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import type { Backend, GenerationRequest, GenerationResult } from '../../src/runner/backend.ts';
import { runSweep } from '../../src/report/sweep.ts';
import { parseTileList } from '../../src/cli/sweep.ts';
import { fakeDeps, tempDir, writeTasks } from '../runner/helpers.ts';
import { pngSize } from './fixture-run.ts';

/** A model that gets sample i right once the tile cap reaches i + 1, and reports min(cap, 4) + thumbnail tiles. */
class TileSensitiveBackend implements Backend {
  readonly info = { name: 'tile-sensitive', model: 'fake' };
  readonly maxBatch = 1;
  calls = 0;
  async generate(reqs: readonly GenerationRequest[]): Promise<GenerationResult[]> {
    this.calls += reqs.length;
    return reqs.map((r) => {
      const need = Number(/need:(\d+)/.exec(r.question)![1]);
      const cap = r.maxTiles[0];
      const tiles = Math.min(cap, 4) + (Math.min(cap, 4) > 1 ? 1 : 0);
      return {
        id: r.id,
        text: cap >= need ? 'yes' : 'no',
        promptTokens: 10,
        outputTokens: 1,
        tiles: [tiles],
        imageTokens: 256 * tiles,
        latencyMs: 5 * tiles,
      };
    });
  }
  async close(): Promise<void> {}
}

describe('sweep', () => {
  it('parses tile lists and refuses bad ones', () => {
    expect(parseTileList('1, 2,6')).toEqual([1, 2, 6]);
    expect(() => parseTileList('1,x')).toThrow(/"x" is not a tile cap/);
    expect(() => parseTileList('')).toThrow(/comma-separated/);
  });

  it('runs the grid, reuses finished runs, and charts score vs tiles', async () => {
    const root = tempDir('sweep-');
    const rows = Array.from({ length: 4 }, (_, i) => ({
      question_id: i,
      question: `need:${i + 1}`,
      answer: 'yes',
      image: `${i}.png`,
    }));
    const { configDir, dataRoot } = writeTasks(root, [{ name: 'probe', rows, scorer: 'exact_match' }]);
    const backend = new TileSensitiveBackend();
    const opts = {
      model: 'fake',
      tasks: ['probe'],
      configDir,
      dataRoot,
      deps: fakeDeps,
      backendInstance: backend,
      progress: 'none' as const,
      maxTiles: [1, 2, 4],
      out: path.join(root, 'sweep'),
    };
    const first = await runSweep(opts);
    expect(backend.calls).toBe(12);
    const score = (t: number) => first.points.find((p) => p.maxTiles === t)!.rows[0];
    // Sample i is right when cap >= i + 1: caps 1, 2, 4 get 1, 2 and 4 of 4 right.
    expect(score(1).score).toBeCloseTo(25, 10);
    expect(score(2).score).toBeCloseTo(50, 10);
    expect(score(4).score).toBeCloseTo(100, 10);
    expect(score(1).imageTokensPerSample).toBe(256);
    expect(score(4).imageTokensPerSample).toBe(256 * 5);

    const second = await runSweep(opts);
    expect(backend.calls).toBe(12);
    expect(second.points.every((p) => p.reused)).toBe(true);

    const chart = first.files.find((f) => f.endsWith('.png'))!;
    expect(pngSize(await readFile(chart))).toEqual({ width: 900, height: 450 });
    const csv = Papa.parse<Record<string, string>>(await readFile(path.join(opts.out, 'sweep.csv'), 'utf8'), {
      header: true,
      skipEmptyLines: true,
    });
    expect(csv.data.map((r) => [r.max_tiles, Number(r.score)])).toEqual([
      ['1', 25],
      ['2', 50],
      ['4', 100],
    ]);
    expect((await readdir(opts.out)).filter((d) => d.startsWith('default-tiles')).sort()).toEqual([
      'default-tiles1',
      'default-tiles2',
      'default-tiles4',
    ]);
  });

  it('--gate-max-drop ends with a gate of each variant against the first, per tile cap', async () => {
    const root = tempDir('sweep-gate-');
    const rows = Array.from({ length: 40 }, (_, i) => ({
      question_id: i,
      question: `item ${i}`,
      answer: `item ${i}`,
    }));
    const { configDir, dataRoot } = writeTasks(root, [{ name: 'probe', rows, scorer: 'exact_match' }]);
    // One backend for every run; the sweep's log says which variant runs next. int4 loses items 0..9 at 2 tiles.
    let point = '';
    const backend: Backend = {
      info: { name: 'by-variant', model: 'fake' },
      maxBatch: 1,
      async generate(reqs) {
        return reqs.map((r) => ({
          id: r.id,
          text: point === 'int4-tiles2' && Number(r.id) < 10 ? 'wrong' : r.question,
          promptTokens: 1,
          outputTokens: 1,
          tiles: [],
          imageTokens: 0,
          latencyMs: 1,
        }));
      },
      async close() {},
    };
    const opts = {
      model: 'fake',
      tasks: ['probe'],
      configDir,
      dataRoot,
      deps: fakeDeps,
      backendInstance: backend,
      progress: 'none' as const,
      maxTiles: [1, 2],
      variants: ['fp16', 'int8', 'int4'],
      out: path.join(root, 'sweep'),
      gate: { maxDrop: 2 },
    };
    const result = await runSweep(opts, (line) => {
      const m = /^sweep: running (\S+)$/.exec(line);
      if (m) point = m[1];
    });
    expect(result.gates!.map((g) => [g.candidate, g.baseline, g.result!.headline])).toEqual([
      ['int8-tiles1', 'fp16-tiles1', 'PASS'],
      ['int8-tiles2', 'fp16-tiles2', 'PASS'],
      ['int4-tiles1', 'fp16-tiles1', 'PASS'],
      ['int4-tiles2', 'fp16-tiles2', 'FAIL — regressed: probe'],
    ]);
    expect(result.gates![3].result!.tasks[0].delta).toBeCloseTo(-25, 10);
    expect(result.exitCode).toBe(1);
    const md = await readFile(path.join(root, 'sweep', 'gate.md'), 'utf8');
    expect(md).toContain('### Regression gate: int4-tiles2 vs fp16-tiles2: FAIL — regressed: probe');
    await expect(runSweep({ ...opts, variants: ['int4'], out: path.join(root, 'one') })).rejects.toThrow(
      /at least two --variant values/,
    );
  });
});
