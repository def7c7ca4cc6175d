/**
 * The gate end to end on runs the tests make themselves: the real runner with the echo backend (it answers each
 * question with the question) on a small synthetic exact-match dataset whose answers are the questions, so the
 * baseline is right wherever the dataset says so; a candidate is the same echo model with some answers edited.
 */
import { execFile } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { EchoBackend } from '../../src/runner/backends/echo.ts';
import type { GenerationRequest, GenerationResult } from '../../src/runner/backend.ts';
import { runEvaluation, type RunOptions } from '../../src/runner/run-evaluation.ts';
import { gateFromArgs, type GateArgs } from '../../src/cli/gate.ts';
import { GateInputError, type CardGateResult, type PairedGateResult } from '../../src/report/gate.ts';
import { renderGateMarkdown, renderJunit } from '../../src/report/gate-report.ts';
import { echoRunSetup, tempDir, writeTasks, type TaskSpec } from '../runner/helpers.ts';

const execFileAsync = promisify(execFile);

/** The echo model with some answers changed: ids in `edits` answer the given text instead. */
class EditedEcho extends EchoBackend {
  constructor(private readonly edits: ReadonlyMap<string, string>) {
    super();
  }
  override async generate(reqs: readonly GenerationRequest[]): Promise<GenerationResult[]> {
    const out = await super.generate(reqs);
    return out.map((r) => (this.edits.has(r.id) ? { ...r, text: this.edits.get(r.id)! } : r));
  }
}

/** `n` questions; the echo answer is right except where `wrong(i)` (the GT then differs from the question). */
const rows = (n: number, wrong: (i: number) => boolean = () => false, prefix = 'q'): TaskSpec['rows'] =>
  Array.from({ length: n }, (_, i) => ({
    question_id: `${prefix}${i}`,
    question: `item ${i}`,
    answer: wrong(i) ? `other ${i}` : `item ${i}`,
  }));

const edits = (ids: number[], text = 'wrong') => new Map(ids.map((i) => [`q${i}`, text]));

interface Lab {
  root: string;
  base: RunOptions;
  run(name: string, extra?: Partial<RunOptions>): Promise<string>;
}

function lab(specs: TaskSpec[]): Lab {
  const { root, base } = echoRunSetup(specs, 'gate-', 'echo-model');
  return {
    root,
    base,
    async run(name, extra = {}) {
      const out = path.join(root, 'results', name);
      await runEvaluation({ ...base, out, ...extra });
      return out;
    },
  };
}

const args = (runs: string[], extra: Partial<GateArgs> = {}): GateArgs => ({
  runs,
  alpha: 0.05,
  seed: 0,
  ...extra,
});

// 200 right/wrong items (echo right on 160), and a 10-item task (ids t0..t9, never edited).
const L = lab([
  { name: 'alpha', rows: rows(200, (i) => i % 5 === 4) },
  { name: 'tiny', rows: rows(10, undefined, 't') },
]);
const baseline = L.run('fp16', { engine: { variant: 'fp16' } });

describe('gate BASELINE CANDIDATE (paired non-inferiority per task)', () => {
  it('passes a candidate with a balanced handful of flips', async () => {
    // One right→wrong (q0) and one wrong→right (q4: answers its GT).
    const cand = await L.run('int8', {
      engine: { variant: 'int8' },
      backendInstance: new EditedEcho(new Map([...edits([0]), ['q4', 'other 4']])),
    });
    const r = (await gateFromArgs(
      args([await baseline, cand], { 'max-drop': 2, tasks: 'alpha' }),
    )) as PairedGateResult;
    const t = r.tasks[0];
    expect(t).toMatchObject({ task: 'alpha', verdict: 'pass', n: 200, rightToWrong: 1, wrongToRight: 1 });
    expect(t.baseline).toBeCloseTo(80, 10);
    expect(t.delta).toBeCloseTo(0, 10);
    expect(t.ci[0]).toBeGreaterThanOrEqual(-2);
    expect(r.exitCode).toBe(0);
    expect(r.settingsDiff).toEqual([{ key: 'variant', a: 'fp16', b: 'int8' }]);
  });

  it('fails a candidate that lost 20 of 160 right answers, naming the task', async () => {
    const lost = Array.from({ length: 20 }, (_, k) => k * 5); // right items 0, 5, 10, ...
    const cand = await L.run('int4', {
      engine: { variant: 'int4' },
      backendInstance: new EditedEcho(edits(lost)),
    });
    const r = (await gateFromArgs(
      args([await baseline, cand], { 'max-drop': 2, tasks: 'alpha' }),
    )) as PairedGateResult;
    const t = r.tasks[0];
    expect(t.verdict).toBe('regressed');
    expect(t.delta).toBeCloseTo(-10, 10);
    expect(t.rightToWrong).toBe(20);
    expect(t.ci[1]).toBeLessThan(-2);
    expect(r.exitCode).toBe(1);
    expect(r.headline).toBe('FAIL — regressed: alpha');

    // JUnit parses back: one testcase per task, the failure carries Δ, the CI and the flips.
    const xml = renderJunit(r);
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
    const suite = doc.testsuites.testsuite;
    expect(suite).toMatchObject({ tests: '1', failures: '1', skipped: '0' });
    const failure = suite.testcase.failure;
    expect(suite.testcase.name).toBe('alpha');
    expect(failure.type).toBe('regressed');
    expect(failure.message).toContain('Δ -10.00');
    expect(failure.message).toMatch(/90% CI \[-1\d\.\d\d, -\d\.\d\d\]/);
    expect(failure.message).toContain('right→wrong 20, wrong→right 0');
    expect(renderGateMarkdown(r)).toContain('| alpha title | ❌ regressed | 80.00 | 70.00 | -10.00 |');
  });

  it('says inconclusive for too few samples, and for an interval wider than the allowed drop', async () => {
    const cand = await L.run('int4b', {
      engine: { variant: 'int4' },
      backendInstance: new EditedEcho(edits([0, 5])),
    });
    const r = (await gateFromArgs(args([await baseline, cand], { 'max-drop': 0.5 }))) as PairedGateResult;
    const byTask = Object.fromEntries(r.tasks.map((t) => [t.task, t]));
    // tiny: 10 samples < min-samples 30, even though nothing changed.
    expect(byTask.tiny).toMatchObject({ verdict: 'inconclusive', delta: 0, n: 10 });
    expect(byTask.tiny.reason).toMatch(/only 10 paired samples/);
    // alpha: Δ = -1, interval about ±1 around it: cannot tell a 0.5 drop apart.
    expect(byTask.alpha.verdict).toBe('inconclusive');
    expect(byTask.alpha.reason).toMatch(/half-width .* exceeds max-drop 0.50/);
    expect(r.exitCode).toBe(1);
    expect(r.headline).toBe('FAIL — inconclusive: alpha, tiny');
    // --min-samples 5 lets the unchanged tiny task pass.
    const r2 = (await gateFromArgs(
      args([await baseline, cand], { 'max-drop': 0.5, tasks: 'tiny', 'min-samples': 5 }),
    )) as PairedGateResult;
    expect(r2.tasks[0].verdict).toBe('pass');
  });

  it('takes per-task allowed drops from a thresholds YAML (task entry, then flag, then default)', async () => {
    const cand = await L.run('int4c', {
      engine: { variant: 'int4' },
      backendInstance: new EditedEcho(edits([0, 5, 10, 15, 20, 25])),
    });
    const file = path.join(L.root, 'thresholds.yaml');
    writeFileSync(file, 'default: 0.1\nalpha: 12\ntiny: { max-drop: 1, min-samples: 5 }\n');
    const r = (await gateFromArgs(args([await baseline, cand], { thresholds: file }))) as PairedGateResult;
    expect(r.tasks.map((t) => [t.task, t.maxDrop, t.verdict])).toEqual([
      ['alpha', 12, 'pass'],
      ['tiny', 1, 'pass'],
    ]);
    expect(r.thresholds).toBe(file);
    writeFileSync(file, 'alpha: -1\n');
    await expect(gateFromArgs(args([await baseline, cand], { thresholds: file }))).rejects.toThrow(
      /thresholds\.yaml: alpha: .*task: POINTS/,
    );
  });

  it('refuses (exit 2) runs of different samples, different ground truth, or a task missing', async () => {
    // The same dataset with one question replaced: different sample ids.
    const other = tempDir('gate-other-');
    const { dataRoot } = writeTasks(other, [
      {
        name: 'alpha',
        rows: [...rows(199, (i) => i % 5 === 4), { question_id: 'new', question: 'x', answer: 'x' }],
      },
      { name: 'tiny', rows: rows(10, undefined, 't') },
    ]);
    const moved = await L.run('moved', { engine: { variant: 'int4' }, dataRoot });
    await expect(gateFromArgs(args([await baseline, moved], { 'max-drop': 1 }))).rejects.toThrow(
      /alpha: the runs hold different samples \(1 only in A: q199; 1 only in B: new\)/,
    );
    // The dataset edited so one answer changes: the pairs no longer share their ground truth.
    const gt = tempDir('gate-gt-');
    writeTasks(gt, [
      { name: 'alpha', rows: rows(200, (i) => i % 5 === 4 || i === 7) },
      { name: 'tiny', rows: rows(10, undefined, 't') },
    ]);
    const regt = await L.run('regt', { engine: { variant: 'int4' }, dataRoot: path.join(gt, 'data') });
    const err = await gateFromArgs(args([await baseline, regt], { 'max-drop': 1 })).catch((e) => e);
    expect(err).toBeInstanceOf(GateInputError);
    expect(err.message).toMatch(/alpha: sample q7 has different ground truth/);
    expect(err.exitCode).toBe(2);
    // A run that did not finish.
    const killed = path.join(L.root, 'results', 'killed');
    cpSync(await baseline, killed, { recursive: true });
    const m = JSON.parse(readFileSync(path.join(killed, 'manifest.json'), 'utf8'));
    writeFileSync(path.join(killed, 'manifest.json'), JSON.stringify({ ...m, status: 'interrupted' }));
    await expect(gateFromArgs(args([await baseline, killed], { 'max-drop': 1 }))).rejects.toThrow(
      /candidate .*killed is interrupted, not complete/,
    );
    // A task only in the baseline.
    const only = await L.run('only-alpha', { engine: { variant: 'int4' }, tasks: ['alpha'] });
    await expect(gateFromArgs(args([await baseline, only], { 'max-drop': 1 }))).rejects.toThrow(
      /a task is missing from a run: tiny \(not in candidate only-alpha\)/,
    );
    // ...which --tasks can leave out.
    const r = await gateFromArgs(args([await baseline, only], { 'max-drop': 1, tasks: 'alpha' }));
    expect(r.exitCode).toBe(0);
  });

  it('refuses settings that differ beyond the compared ones, naming them; --vary allows them', async () => {
    const tiles = await L.run('tiles12', { engine: { variant: 'fp16' }, maxTiles: 12 });
    const err = await gateFromArgs(args([await baseline, tiles], { 'max-drop': 1 })).catch((e) => e);
    expect(err).toBeInstanceOf(GateInputError);
    expect(err.message).toMatch(/settings other than the ones being compared: maxTiles \(null → 12\)/);
    expect(err.message).toContain('tasks.alpha.maxTiles (6 → 12)');
    expect(err.message).toMatch(/--vary maxTiles$/);
    const r = (await gateFromArgs(
      args([await baseline, tiles], { 'max-drop': 1, vary: 'max-tiles', 'min-samples': 5 }),
    )) as PairedGateResult;
    expect(r.exitCode).toBe(0);
    expect(r.settingsDiff.map((d) => d.key)).toEqual([
      'maxTiles',
      'tasks.alpha.maxTiles',
      'tasks.tiny.maxTiles',
    ]);
  });

  it('a candidate that failed on samples the baseline scored regresses', async () => {
    class Failing extends EchoBackend {
      override async generate(reqs: readonly GenerationRequest[]): Promise<GenerationResult[]> {
        const out = await super.generate(reqs);
        return out.map((r) => (r.id === 'q3' ? { ...r, text: '', error: 'out of memory' } : r));
      }
    }
    const cand = await L.run('failing', { engine: { variant: 'int4' }, backendInstance: new Failing() });
    const r = (await gateFromArgs(
      args([await baseline, cand], { 'max-drop': 5, tasks: 'alpha' }),
    )) as PairedGateResult;
    expect(r.tasks[0]).toMatchObject({ verdict: 'regressed', newErrors: 1, excluded: 1, n: 199 });
    expect(r.tasks[0].reason).toMatch(/1 sample\(s\) failed in the candidate/);
  });
});

describe('gate RUN --against-card (reproduction check; the synthetic tasks carry card 50)', () => {
  it('reproduced, not reproduced and inconclusive, with JUnit that parses back', async () => {
    const C = lab([
      { name: 'half', rows: rows(400, (i) => i % 2 === 1) }, // echo scores 50
      { name: 'high', rows: rows(400, (i) => i % 10 === 9) }, // echo scores 90
      { name: 'few', rows: rows(12, (i) => i % 2 === 1) }, // 50, but 12 samples
    ]);
    const run = await C.run('card', {});
    const r = (await gateFromArgs(args([run], { 'against-card': true, precision: 6 }))) as CardGateResult;
    expect(r.tasks.map((t) => [t.task, t.verdict])).toEqual([
      ['few', 'inconclusive'],
      ['half', 'reproduced'],
      ['high', 'not reproduced'],
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.headline).toBe('FAIL — not reproduced: high; inconclusive: few');
    // The default precision (±2) is too tight for 400 samples of a 50% task: inconclusive, never a silent pass.
    const tight = (await gateFromArgs(
      args([run], { 'against-card': true, tasks: 'half' }),
    )) as CardGateResult;
    expect(tight.tasks[0].verdict).toBe('inconclusive');
    // A tolerance wide enough for 90 vs 50 makes it pass.
    const wide = (await gateFromArgs(
      args([run], { 'against-card': true, tasks: 'high', tolerance: 40, precision: 6 }),
    )) as CardGateResult;
    expect(wide).toMatchObject({ exitCode: 0, headline: 'PASS' });
    const xml = renderJunit(r);
    expect(XMLValidator.validate(xml)).toBe(true);
    const cases = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml).testsuites
      .testsuite.testcase;
    expect(cases.map((c: { name: string; failure?: { type: string } }) => [c.name, c.failure?.type])).toEqual(
      [
        ['few', 'inconclusive'],
        ['half', undefined],
        ['high', 'not reproduced'],
      ],
    );
  });

  it('a run without any card value cannot be checked (exit 2)', async () => {
    const C = lab([{ name: 'nocard', rows: rows(40) }]);
    const yaml = path.join(C.base.configDir!, 'nocard.yaml');
    writeFileSync(
      yaml,
      readFileSync(yaml, 'utf8').replace('  card: 50\n', '  {}\n').replace('report:\n', 'report:'),
    );
    const run = await C.run('nocard', {});
    await expect(gateFromArgs(args([run], { 'against-card': true }))).rejects.toThrow(
      /no checked task has a card value .*nocard: the task YAML has no report.card/,
    );
  });
});

describe('internvl-eval gate (exit codes of the real command)', () => {
  const cli = async (argv: string[]) => {
    try {
      const { stdout } = await execFileAsync(process.execPath, ['bin/internvl-eval.js', 'gate', ...argv]);
      return { code: 0, stdout, stderr: '' };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };

  it('0 on pass, 1 on a regression naming the task, 2 on unusable input', async () => {
    const b = await baseline;
    const same = path.join(L.root, 'results', 'copy');
    cpSync(b, same, { recursive: true });
    const junit = path.join(L.root, 'out', 'gate.xml');
    const md = path.join(L.root, 'out', 'gate.md');
    const pass = await cli([
      b,
      same,
      '--max-drop',
      '1',
      '--tasks',
      'alpha',
      '--junit',
      junit,
      '--markdown',
      md,
    ]);
    expect(pass.stdout).toContain('gate: PASS');
    expect(pass.code).toBe(0);
    expect(XMLValidator.validate(readFileSync(junit, 'utf8'))).toBe(true);
    expect(readFileSync(md, 'utf8')).toContain('### Regression gate: copy vs fp16: PASS');

    const lost = Array.from({ length: 20 }, (_, k) => k * 5);
    const bad = await L.run('int4-cli', {
      engine: { variant: 'int4' },
      backendInstance: new EditedEcho(edits(lost)),
    });
    const fail = await cli([b, bad, '--max-drop', '1', '--tasks', 'alpha', '--json']);
    expect(fail.code).toBe(1);
    expect(JSON.parse(fail.stdout).tasks[0]).toMatchObject({ task: 'alpha', verdict: 'regressed' });
    expect(fail.stderr).toContain('gate: FAIL — regressed: alpha');

    const missing = await cli([b, path.join(L.root, 'nowhere'), '--max-drop', '1']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/candidate .*nowhere: not a run folder/);
    const usage = await cli([b]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/gate compares two run folders/);
  });
});
