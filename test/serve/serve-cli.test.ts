/**
 * `internvl-eval serve` as a real child process (echo backend), and `runEvaluation --backend openai` against it:
 * the whole HTTP path, from task data to scored predictions.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runEvaluation } from '../../src/runner/run-evaluation.ts';
import { fakeDeps, readJsonl, tempDir, writeTasks } from '../runner/helpers.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('serve CLI + openai backend', () => {
  it('evaluates a task over HTTP against `internvl-eval serve --backend echo`', async () => {
    const root = tempDir('runner-serve-');
    const rows = Array.from({ length: 6 }, (_, i) => ({
      question_id: i,
      question: i % 2 ? 'yes' : `q${i}`,
      answer: 'yes',
      image: `${i}.png`,
    }));
    const { configDir, dataRoot } = writeTasks(root, [{ name: 'alpha', rows, maxTiles: 3 }]);
    const child = spawn(
      process.execPath,
      [
        path.join(repoRoot, 'bin/internvl-eval.js'),
        'serve',
        '--model',
        'tiny',
        '--backend',
        'echo',
        '--port',
        '0',
        '--api-key-env',
        'SERVE_KEY',
        '--quiet',
      ],
      { env: { ...process.env, SERVE_KEY: 'k1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += String(d)));
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 60_000);
        child.stdout.on('data', (d) => {
          stdout += String(d);
          const m = /serving tiny at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(stdout);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
      });
      process.env.RUNNER_TEST_KEY = 'k1';
      const s = await runEvaluation({
        model: 'tiny',
        backend: 'openai',
        endpoints: [url],
        apiKeyEnv: 'RUNNER_TEST_KEY',
        serverKind: 'vllm',
        tasks: ['alpha'],
        configDir,
        dataRoot,
        out: path.join(root, 'o'),
        progress: 'none',
        deps: fakeDeps,
        retries: 0,
      });
      const recs = readJsonl(s.tasks[0].predictionsFile);
      expect(recs.map((r) => [r.id, r.prediction, r.score, r.tiles])).toEqual(
        rows.map((r) => [String(r.question_id), r.question, r.question === 'yes' ? 1 : 0, [1]]),
      );
      expect(s.tasks[0].score.errors).toBe(0);
      const manifest = JSON.parse(readFileSync(path.join(root, 'o', 'manifest.json'), 'utf8'));
      expect(manifest.config).toMatchObject({ backend: 'openai', serverKind: 'vllm', model: 'tiny' });
      expect(JSON.stringify(manifest)).not.toContain('k1"');
    } finally {
      child.kill('SIGTERM');
      delete process.env.RUNNER_TEST_KEY;
    }
  });
});
