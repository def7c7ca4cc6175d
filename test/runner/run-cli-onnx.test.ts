/**
 * `internvl-eval run` as a user types it, on the tiny checkpoint with the in-process engine: the CLI's flags
 * reach the backend (batch size, preprocessing workers) and the run folder is complete.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { makeTinyCheckpoint } from '../../src/model/checkpoint/tiny.ts';
import { readJsonl, tempDir, writeTasks } from './helpers.ts';

const run = promisify(execFile);

describe('run CLI with the onnx backend', () => {
  it('passes --batch-size and --preprocess-workers to the engine and writes the run', async () => {
    const root = tempDir('run-cli-onnx-');
    const ckpt = await makeTinyCheckpoint(path.join(root, 'model'), { seed: 1 });
    const rows = [0, 1, 2].map((i) => ({
      question_id: i,
      question: `what is ${i}?`,
      answer: 'x',
      image: `${i}.png`,
    }));
    const { configDir, dataRoot } = writeTasks(root, [{ name: 'probe', rows, maxTiles: 2 }]);
    const out = path.join(root, 'run');
    const args = [
      'bin/internvl-eval.js',
      'run',
      '--model',
      ckpt.dir,
      '--tasks',
      'probe',
      '--config-dir',
      configDir,
    ];
    args.push(
      '--data-root',
      dataRoot,
      '--out',
      out,
      '--batch-size',
      '2',
      '--preprocess-workers',
      '0',
      '--quiet',
    );
    await run(process.execPath, args, {
      env: { ...process.env, INTERNVL_EVAL_CACHE: path.join(root, 'cache') },
    });
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.status).toBe('complete');
    expect(manifest.backend.extra.preprocessWorkers).toBe(0);
    expect(manifest.runtime.batchSize).toBe(2);
    const records = readJsonl(path.join(out, 'predictions', 'probe.jsonl'));
    expect(records.map((r) => r.id)).toEqual(['0', '1', '2']);
    expect(records.every((r) => r.error === undefined && r.tiles.length === 1)).toBe(true);
  });
});
