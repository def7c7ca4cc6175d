/**
 * A real `internvl-eval run` child process (echo backend, slowed down) is SIGKILLed part-way, then resumed; the
 * final log must hold every sample exactly once with the same results as an uninterrupted run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runEvaluation } from '../../src/runner/run-evaluation.ts';
import { readJsonl, tempDir, writeTasks } from './helpers.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(repoRoot, 'bin/internvl-eval.js');

const lineCount = (file: string) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '').length
    : 0;
const stable = (file: string) => readJsonl(file).map(({ latencyMs: _l, ...r }) => r);

describe('kill and resume a real run', () => {
  it('SIGKILL part-way, --resume, equals an uninterrupted run', async () => {
    const root = tempDir('runner-kill-');
    const rows = Array.from({ length: 40 }, (_, i) => ({
      question_id: `s${i}`,
      question: i % 4 === 0 ? 'yes' : `q${i}`,
      answer: 'yes',
      image: `${i}.png`,
    }));
    const { configDir, dataRoot } = writeTasks(root, [
      { name: 'alpha', rows },
      { name: 'beta', rows: rows.slice(0, 6) },
    ]);
    const out = path.join(root, 'killed');
    const args = [
      cli,
      'run',
      '--model',
      'echo-model',
      '--backend',
      'echo',
      '--tasks',
      'alpha,beta',
      '--config-dir',
      configDir,
      '--data-root',
      dataRoot,
      '--out',
      out,
      '--quiet',
      '--no-report',
    ];
    const env = { ...process.env, INTERNVL_EVAL_ECHO_DELAY_MS: '60' };
    const log = path.join(out, 'predictions', 'alpha.jsonl');

    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // Bounded wait for a few records, then kill hard.
    for (let i = 0; i < 1200 && lineCount(log) < 5 && child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    await exited;
    const partial = lineCount(log);
    expect(partial, stderr).toBeGreaterThanOrEqual(5);
    expect(partial).toBeLessThan(rows.length);
    expect(JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')).status).toBe('running');

    // Without --resume the folder is refused; with it the run completes.
    const refused = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/--resume/);
    const resumed = spawnSync(process.execPath, [...args, '--resume'], {
      env: { ...env, INTERNVL_EVAL_ECHO_DELAY_MS: '0' },
      encoding: 'utf8',
    });
    expect(resumed.status, resumed.stderr).toBe(0);

    const fresh = path.join(root, 'fresh');
    await runEvaluation({
      model: 'echo-model',
      backend: 'echo',
      tasks: ['alpha', 'beta'],
      configDir,
      dataRoot,
      out: fresh,
      progress: 'none',
    });
    for (const t of ['alpha', 'beta']) {
      const got = stable(path.join(out, 'predictions', `${t}.jsonl`));
      expect(new Set(got.map((r) => r.id)).size).toBe(got.length);
      expect(got).toEqual(stable(path.join(fresh, 'predictions', `${t}.jsonl`)));
      const a = JSON.parse(readFileSync(path.join(out, 'scores', `${t}.json`), 'utf8'));
      const b = JSON.parse(readFileSync(path.join(fresh, 'scores', `${t}.json`), 'utf8'));
      expect(a.aggregate).toEqual(b.aggregate);
    }
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.status).toBe('complete');
    expect(manifest.sessions).toHaveLength(2);
    expect(manifest.sessions[0].status).toBeUndefined(); // the killed session never finished
  });
});
