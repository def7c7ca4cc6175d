import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeRuns } from '../../src/runner/merge.ts';
import { runEvaluation, type RunOptions } from '../../src/runner/run-evaluation.ts';
import { shardOf } from '../../src/runner/shard.ts';
import { echoRunSetup, FakeBackend, fakeDeps, readJsonl, tempDir, writeTasks } from './helpers.ts';

const stable = (file: string) => readJsonl(file).map(({ latencyMs: _l, ...r }) => r);

async function setup() {
  const rows = Array.from({ length: 30 }, (_, i) => ({
    question_id: i,
    question: `q answer:${i % 3 ? 'no' : 'yes'}${i === 7 ? ' fail' : ''}`,
    answer: 'yes',
    image: `${i}.png`,
  }));
  const { root, base } = echoRunSetup(
    [
      { name: 'alpha', rows },
      { name: 'beta', rows: rows.slice(0, 9), scorer: 'anls' },
    ],
    'runner-shard-',
  );
  const run = (out: string, extra: Partial<RunOptions> = {}) =>
    runEvaluation({ ...base, out: path.join(root, out), backendInstance: new FakeBackend(), ...extra });
  return { root, run };
}

describe('shards and merge', () => {
  it('two shards partition the samples and merge to the unsharded run', async () => {
    const { root, run } = await setup();
    await run('full');
    const s0 = await run('s0', { shard: '0/2' });
    const s1 = await run('s1', { shard: '1/2' });
    expect(s0.tasks[0].stats.processed + s1.tasks[0].stats.processed).toBe(30);
    expect(s0.tasks[0].stats.processed).toBeGreaterThan(0);
    for (const r of readJsonl(path.join(root, 's1', 'predictions', 'alpha.jsonl')))
      expect(shardOf('alpha', r.id, 2)).toBe(1);

    const merged = await mergeRuns({
      out: path.join(root, 'merged'),
      shardDirs: [path.join(root, 's1'), path.join(root, 's0')],
    });
    expect(merged.shards).toBe(2);
    for (const t of ['alpha', 'beta']) {
      expect(stable(path.join(root, 'merged', 'predictions', `${t}.jsonl`))).toEqual(
        stable(path.join(root, 'full', 'predictions', `${t}.jsonl`)),
      );
      const a = JSON.parse(readFileSync(path.join(root, 'merged', 'scores', `${t}.json`), 'utf8'));
      const b = JSON.parse(readFileSync(path.join(root, 'full', 'scores', `${t}.json`), 'utf8'));
      expect(a.aggregate).toEqual(b.aggregate);
      expect([a.n, a.errors]).toEqual([b.n, b.errors]);
    }
    const m = JSON.parse(readFileSync(path.join(root, 'merged', 'manifest.json'), 'utf8'));
    const f = JSON.parse(readFileSync(path.join(root, 'full', 'manifest.json'), 'utf8'));
    expect(m.config).toEqual(f.config);
    expect(m.mergedFrom.map((x: { shard: { index: number } }) => x.shard.index)).toEqual([0, 1]);
    expect(m.status).toBe('complete');
  });

  it('refuses mismatched configs (naming keys), missing, doubled and unfinished shards', async () => {
    const { root, run } = await setup();
    await run('a0', { shard: '0/2' });
    await run('a1', { shard: '1/2' });
    await run('b1', { shard: '1/2', maxTiles: 2 });
    await run('c0', { shard: '0/3' });
    const dir = (d: string) => path.join(root, d);
    await expect(mergeRuns({ out: dir('m1'), shardDirs: [dir('a0'), dir('b1')] })).rejects.toThrow(
      /differs .* at: maxTiles, tasks\.alpha\.maxTiles, tasks\.beta\.maxTiles/,
    );
    await expect(mergeRuns({ out: dir('m2'), shardDirs: [dir('a0')] })).rejects.toThrow(
      /missing shard\(s\) 1\/2/,
    );
    await expect(mergeRuns({ out: dir('m3'), shardDirs: [dir('a0'), dir('a0'), dir('a1')] })).rejects.toThrow(
      /given twice/,
    );
    await expect(mergeRuns({ out: dir('m4'), shardDirs: [dir('a0'), dir('c0')] })).rejects.toThrow(
      /is shard 0\/3 but .* has 2 shards/,
    );
    const man = JSON.parse(readFileSync(path.join(dir('a1'), 'manifest.json'), 'utf8'));
    writeFileSync(path.join(dir('a1'), 'manifest.json'), JSON.stringify({ ...man, status: 'running' }));
    await expect(mergeRuns({ out: dir('m5'), shardDirs: [dir('a0'), dir('a1')] })).rejects.toThrow(
      /not complete \(status running\)/,
    );
    writeFileSync(path.join(dir('a1'), 'manifest.json'), JSON.stringify(man));
    // A record in the wrong shard (e.g. a hand-copied log) is refused.
    const a0log = path.join(dir('a0'), 'predictions', 'alpha.jsonl');
    const a1first = readFileSync(path.join(dir('a1'), 'predictions', 'alpha.jsonl'), 'utf8').split('\n')[0];
    writeFileSync(a0log, readFileSync(a0log, 'utf8') + a1first + '\n');
    await expect(mergeRuns({ out: dir('m6'), shardDirs: [dir('a0'), dir('a1')] })).rejects.toThrow(
      /belongs to shard 1\/2, not 0\/2/,
    );
  });
});

describe('merge of an externally scored task', () => {
  it('writes the whole submission file for the merged run', async () => {
    const root = tempDir('runner-shard-ext-');
    const rows = Array.from({ length: 12 }, (_, i) => ({
      question_id: i,
      question: `q${i} answer:a${i}`,
      answer: '',
    }));
    const { configDir, dataRoot } = writeTasks(root, [{ name: 'vet', rows, external: true }]);
    const yaml = path.join(configDir, 'vet.yaml');
    writeFileSync(
      yaml,
      readFileSync(yaml, 'utf8').replace('submissionFormat: json', 'submissionFormat: mmvet-json'),
    );
    const base: RunOptions = {
      model: 'fake',
      tasks: ['vet'],
      configDir,
      dataRoot,
      progress: 'none',
      deps: fakeDeps,
    };
    for (const i of [0, 1]) {
      await runEvaluation({
        ...base,
        out: path.join(root, `s${i}`),
        shard: `${i}/2`,
        backendInstance: new FakeBackend(),
      });
    }
    const shardKeys = [0, 1].map(
      (i) =>
        Object.keys(JSON.parse(readFileSync(path.join(root, `s${i}`, 'submissions', 'vet.json'), 'utf8')))
          .length,
    );
    expect(shardKeys[0] + shardKeys[1]).toBe(12);
    const merged = await mergeRuns({
      out: path.join(root, 'm'),
      shardDirs: [path.join(root, 's0'), path.join(root, 's1')],
    });
    const sub = JSON.parse(readFileSync(path.join(root, 'm', 'submissions', 'vet.json'), 'utf8'));
    expect(Object.keys(sub).sort()).toEqual(rows.map((r) => `v1_${r.question_id}`).sort());
    expect(sub.v1_3).toBe('a3');
    expect(merged.notes.join('\n')).toMatch(/submissions\/vet\.json/);
  });
});
