import { existsSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunInterruptedError, runEvaluation } from '../../src/runner/run-evaluation.ts';
import { echoRunSetup, FakeBackend, readJsonl, type TaskSpec } from './helpers.ts';

const rows = (n: number, img = true): TaskSpec['rows'] =>
  Array.from({ length: n }, (_, i) => ({
    question_id: i,
    question: `what is ${i}? answer:${i % 3 === 0 ? 'yes' : 'no'}`,
    answer: 'yes',
    ...(img ? { image: `${i}.png` } : {}),
  }));

function setup(specs: TaskSpec[]) {
  const { root, base } = echoRunSetup(specs);
  return { root, base };
}

/** Records without the fields that legitimately differ between runs (timing). */
const stable = (file: string) => readJsonl(file).map(({ latencyMs: _l, ...r }) => r);

describe('runEvaluation end to end (fake backend)', () => {
  it('writes manifest, predictions and scores; bad rows and failures become counted error records', async () => {
    const { root, base } = setup([
      {
        name: 'alpha',
        rows: [
          ...rows(6),
          { question_id: 'bad', question: '', answer: 'x' },
          { question_id: 'noimg', question: 'q answer:yes', answer: 'yes', image: 'missing.png' },
          { question_id: 'boom', question: 'fail please', answer: 'yes' },
        ],
      },
      { name: 'beta', rows: rows(4, false), scorer: 'anls', maxTiles: 2 },
    ]);
    const out = path.join(root, 'results', 'run1');
    const summary = await runEvaluation({ ...base, out, backendInstance: new FakeBackend() });
    expect(summary.status).toBe('complete');
    expect(summary.report).toBeUndefined(); // the runner writes the run folder only
    expect(existsSync(path.join(out, 'report.html'))).toBe(false);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.status).toBe('complete');
    expect(manifest.config.tasks.alpha.maxTiles).toBe(6);
    expect(manifest.config.tasks.beta.scorer.name).toBe('anls');
    expect(manifest.config.tasks.alpha.file).toBeUndefined();
    expect(manifest.environment.node).toBe(process.version);
    expect(manifest.commandLine).toEqual(['test']);
    expect(manifest.endedAt).toBeDefined();

    const alpha = readJsonl(path.join(out, 'predictions', 'alpha.jsonl'));
    expect(alpha.map((r) => r.id)).toEqual(['0', '1', '2', '3', '4', '5', 'bad', 'boom', 'noimg']);
    const byId = Object.fromEntries(alpha.map((r) => [r.id, r]));
    expect(byId['0']).toMatchObject({
      prediction: 'yes',
      score: 1,
      tiles: [3],
      imageTokens: 256,
      answers: ['yes'],
    });
    expect(byId['1']).toMatchObject({ prediction: 'no', score: 0 });
    expect(byId['0'].promptHash).toMatch(/^[0-9a-f]{16}$/);
    expect(byId.bad.error).toMatch(/^data: .*field "question"/);
    expect(byId.noimg.error).toMatch(/^input: image missing\.png/);
    expect(byId.boom.error).toBe('model: fake failure');
    for (const id of ['bad', 'noimg', 'boom']) expect(byId[id].score).toBeNull();

    const score = JSON.parse(readFileSync(path.join(out, 'scores', 'alpha.json'), 'utf8'));
    expect(score).toMatchObject({
      task: 'alpha',
      title: 'alpha title',
      group: 'image',
      n: 9,
      errors: 3,
      card: 50,
    });
    expect(score.aggregate.n).toBe(6);
    expect(score.aggregate.score).toBeCloseTo((100 * 2) / 6, 6); // ids 0 and 3 say "yes"
    expect(score.tilesPerSample).toBe(3);
    const beta = JSON.parse(readFileSync(path.join(out, 'scores', 'beta.json'), 'utf8'));
    expect(beta.aggregate.metric).toBe('anls');
    expect(beta.n).toBe(4);
    expect(readJsonl(path.join(out, 'predictions', 'beta.jsonl'))[0].tiles).toEqual([]);
  });

  it('gives the same log whatever the concurrency, batch size and completion order', async () => {
    const { root, base } = setup([{ name: 'alpha', rows: rows(40) }]);
    const a = path.join(root, 'a');
    const b = path.join(root, 'b');
    await runEvaluation({ ...base, out: a, backendInstance: new FakeBackend(1) });
    const jittery = new FakeBackend(4);
    const origGenerate = jittery.generate.bind(jittery);
    jittery.generate = async (reqs) => {
      await new Promise((r) => setTimeout(r, Math.random() * 5));
      return origGenerate(reqs);
    };
    const s = await runEvaluation({
      ...base,
      out: b,
      concurrency: 3,
      batchSize: 4,
      backendInstance: jittery,
    });
    expect(stable(path.join(b, 'predictions', 'alpha.jsonl'))).toEqual(
      stable(path.join(a, 'predictions', 'alpha.jsonl')),
    );
    expect(Math.max(...jittery.calls)).toBeLessThanOrEqual(4);
    expect(jittery.calls.some((n) => n > 1)).toBe(true);
    expect(jittery.peakActive).toBeLessThanOrEqual(3);
    expect(s.tasks[0].stats.peakInFlight).toBeLessThanOrEqual(2 * 4 * 3 + 12);
  });

  it('keeps samples in flight bounded however long the task (back-pressure)', async () => {
    const { root, base } = setup([{ name: 'alpha', rows: rows(120, false) }]);
    const slow = new FakeBackend(2, 2);
    const s = await runEvaluation({
      ...base,
      out: path.join(root, 'o'),
      concurrency: 2,
      backendInstance: slow,
    });
    // window = 2 × (maxBatch 2 × concurrency 2) + prep 4 = 12
    expect(s.tasks[0].stats.peakInFlight).toBeLessThanOrEqual(12);
    expect(s.tasks[0].stats.processed).toBe(120);
  });

  it('resumes: cuts a torn line, skips done ids, never duplicates, equals an uninterrupted run', async () => {
    const { root, base } = setup([
      { name: 'alpha', rows: rows(20) },
      { name: 'beta', rows: rows(5, false) },
    ]);
    const full = path.join(root, 'full');
    await runEvaluation({ ...base, out: full, backendInstance: new FakeBackend() });
    // Simulate a run killed part-way: manifest + the first 7 records + half a line, beta not started.
    const part = path.join(root, 'part');
    await runEvaluation({ ...base, out: part, backendInstance: new FakeBackend() });
    const lines = readFileSync(path.join(part, 'predictions', 'alpha.jsonl'), 'utf8').split('\n');
    writeFileSync(path.join(part, 'predictions', 'alpha.jsonl'), lines.slice(0, 7).join('\n') + '\n');
    appendFileSync(path.join(part, 'predictions', 'alpha.jsonl'), lines[7].slice(0, 25));
    writeFileSync(path.join(part, 'predictions', 'beta.jsonl'), '');

    await expect(runEvaluation({ ...base, out: part, backendInstance: new FakeBackend() })).rejects.toThrow(
      /--resume/,
    );
    const fb = new FakeBackend();
    const s = await runEvaluation({ ...base, out: part, resume: true, backendInstance: fb });
    expect(s.tasks[0].stats.skipped).toBe(7);
    expect(s.tasks[0].stats.processed).toBe(13);
    for (const t of ['alpha', 'beta']) {
      expect(stable(path.join(part, 'predictions', `${t}.jsonl`))).toEqual(
        stable(path.join(full, 'predictions', `${t}.jsonl`)),
      );
      const a = JSON.parse(readFileSync(path.join(part, 'scores', `${t}.json`), 'utf8'));
      const b = JSON.parse(readFileSync(path.join(full, 'scores', `${t}.json`), 'utf8'));
      expect(a.aggregate).toEqual(b.aggregate);
    }
    const manifest = JSON.parse(readFileSync(path.join(part, 'manifest.json'), 'utf8'));
    expect(manifest.sessions.map((x: { resumed: boolean }) => x.resumed)).toEqual([false, true]);
  });

  it('refuses to resume with a different config and names the keys', async () => {
    const { root, base } = setup([{ name: 'alpha', rows: rows(3) }]);
    const out = path.join(root, 'o');
    await runEvaluation({ ...base, out, backendInstance: new FakeBackend() });
    await expect(
      runEvaluation({
        ...base,
        out,
        resume: true,
        maxTiles: 12,
        limit: 2,
        backendInstance: new FakeBackend(),
      }),
    ).rejects.toThrow(/config differs .*: limit, maxTiles, tasks\.alpha\.maxTiles/);
  });

  it('re-runs failed samples on resume only when asked', async () => {
    const { root, base } = setup([
      { name: 'alpha', rows: [...rows(3), { question_id: 'f', question: 'fail', answer: 'x' }] },
    ]);
    const out = path.join(root, 'o');
    await runEvaluation({ ...base, out, backendInstance: new FakeBackend() });
    const again = await runEvaluation({ ...base, out, resume: true, backendInstance: new FakeBackend() });
    expect(again.tasks[0].stats.processed).toBe(0);
    expect(again.tasks[0].score.samplesPerSec).toBeGreaterThan(0);
    const retried = await runEvaluation({
      ...base,
      out,
      resume: true,
      retryErrors: true,
      backendInstance: new FakeBackend(),
    });
    expect(retried.tasks[0].stats.processed).toBe(1);
    expect(readJsonl(path.join(out, 'predictions', 'alpha.jsonl')).map((r) => r.id)).toEqual([
      '0',
      '1',
      '2',
      'f',
    ]);
  });

  it('applies --limit (count and fraction) and --max-tiles', async () => {
    const { root, base } = setup([{ name: 'alpha', rows: rows(10) }]);
    const s = await runEvaluation({
      ...base,
      out: path.join(root, 'a'),
      limit: 4,
      maxTiles: 2,
      backendInstance: new FakeBackend(),
    });
    expect(s.tasks[0].score.n).toBe(4);
    expect(readJsonl(s.tasks[0].predictionsFile)[0].tiles).toEqual([2]);
    const f = await runEvaluation({
      ...base,
      out: path.join(root, 'b'),
      limit: 0.5,
      backendInstance: new FakeBackend(),
    });
    expect(f.tasks[0].score.n).toBe(5);
  });

  it('runs with the echo backend built in (no injected backend)', async () => {
    const { root, base } = setup([
      { name: 'alpha', rows: [{ question_id: 1, question: 'yes', answer: 'yes', image: 'a.png' }] },
    ]);
    const s = await runEvaluation({ ...base, out: path.join(root, 'e') });
    const [r] = readJsonl(s.tasks[0].predictionsFile);
    expect(r).toMatchObject({ prediction: 'yes', score: 1, tiles: [1], imageTokens: 256 });
    expect(JSON.parse(readFileSync(path.join(root, 'e', 'manifest.json'), 'utf8')).backend.name).toBe('echo');
    expect(existsSync(path.join(root, 'e', 'scores', 'alpha.json'))).toBe(true);
  });

  it('stops gracefully on abort: in-flight samples logged, manifest interrupted, resume completes', async () => {
    const { root, base } = setup([{ name: 'alpha', rows: rows(60, false) }]);
    const out = path.join(root, 'o');
    const stop = new AbortController();
    const slow = new FakeBackend(1, 5);
    const orig = slow.generate.bind(slow);
    slow.generate = async (reqs) => {
      if (slow.calls.length === 5) stop.abort();
      return orig(reqs);
    };
    await expect(
      runEvaluation({ ...base, out, signal: stop.signal, backendInstance: slow }),
    ).rejects.toBeInstanceOf(RunInterruptedError);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.status).toBe('interrupted');
    const partial = readJsonl(path.join(out, 'predictions', 'alpha.jsonl'));
    expect(partial.length).toBeGreaterThanOrEqual(5);
    expect(partial.length).toBeLessThan(60);
    const s = await runEvaluation({ ...base, out, resume: true, backendInstance: new FakeBackend() });
    expect(s.tasks[0].stats.skipped + s.tasks[0].stats.processed).toBe(60);
    expect(new Set(readJsonl(path.join(out, 'predictions', 'alpha.jsonl')).map((r) => r.id)).size).toBe(60);
  });

  it('writes predictions but no scores for a task scored outside', async () => {
    const { root, base } = setup([{ name: 'hidden', rows: rows(3), scorer: 'anls', external: true }]);
    const s = await runEvaluation({ ...base, out: path.join(root, 'x'), backendInstance: new FakeBackend() });
    const recs = readJsonl(s.tasks[0].predictionsFile);
    expect(recs.map((r) => [r.prediction, r.score, r.error])).toEqual([
      ['yes', null, undefined],
      ['no', null, undefined],
      ['no', null, undefined],
    ]);
    expect(s.tasks[0].score).toMatchObject({
      aggregate: null,
      n: 3,
      errors: 0,
      external: { reason: 'answers are hidden' },
    });
  });

  it('logs a repeated sample id once and reports the repeat', async () => {
    const { root, base } = setup([
      { name: 'alpha', rows: [...rows(3), { question_id: 1, question: 'again', answer: 'x' }] },
    ]);
    const s = await runEvaluation({ ...base, out: path.join(root, 'd'), backendInstance: new FakeBackend() });
    expect(readJsonl(s.tasks[0].predictionsFile).map((r) => r.id)).toEqual(['0', '1', '2']);
    expect(s.tasks[0].stats.duplicates).toBe(1);
    expect(s.notes.join('\n')).toMatch(/alpha: 1 item\(s\) repeat an earlier sample id and were not run: 1/);
  });

  it('--resume on a folder without a run starts it', async () => {
    const { root, base } = setup([{ name: 'alpha', rows: rows(2) }]);
    const s = await runEvaluation({
      ...base,
      out: path.join(root, 'new'),
      resume: true,
      backendInstance: new FakeBackend(),
    });
    expect(s.tasks[0].stats.processed).toBe(2);
  });

  it('writes the manifest before the backend loads, and marks it failed when loading fails', async () => {
    const { root, base } = setup([{ name: 'alpha', rows: rows(2) }]);
    const out = path.join(root, 'nobackend');
    await expect(runEvaluation({ ...base, out, backend: 'openai', endpoints: [] })).rejects.toThrow(
      /--endpoint/,
    );
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({
      status: 'failed',
      backend: { name: 'openai' },
      config: { serverKind: 'generic' },
    });
    expect(manifest.error).toMatch(/^loading the backend: .*--endpoint/);
  });
});
