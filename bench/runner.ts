/**
 * Runner overhead.
 *  1. samples/s of the whole pipeline (real adapter reading JSONL + image files, prompt recipe, request hashing,
 *     dispatcher, scorer, append-only log, finalisation, scores) with a backend that answers instantly (echo),
 *     next to its baseline: the same count of bare `scorer.scoreSample` + log appends.
 *  2. For a real engine run (tiny random-weight checkpoint, CPU): the share of wall time spent outside the model,
 *     i.e. outside `backend.generate` (reading data, prompts, hashing, scoring, logging), at batch size 1 and 4.
 *     The ONNX backend decodes and tiles images inside `generate`, so that preprocessing counts as model time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getScorer } from '../src/metrics/registry.ts';
import { makeTinyCheckpoint } from '../src/model/checkpoint/tiny.ts';
import { OnnxBackend } from '../src/runner/backends/onnx.ts';
import { PredictionLogWriter } from '../src/runner/prediction-log.ts';
import type { PredictionRecord } from '../src/runner/prediction-record.ts';
import { runEvaluation } from '../src/runner/run-evaluation.ts';
import { writeTasks } from '../test/runner/helpers.ts';

const N = 3000;

function rows(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    question_id: i,
    question: `What is written in box ${i}?`,
    answer: i % 2 ? `What is written in box ${i}?` : 'nothing',
    image: `${i}.png`,
  }));
}

function baseline(dir: string, n: number): number {
  const scorer = getScorer('anls');
  const log = new PredictionLogWriter(path.join(dir, 'baseline.jsonl'));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const prediction = `What is written in box ${i}?`;
    const answers = [i % 2 ? prediction : 'nothing'];
    const s = scorer.scoreSample({ id: String(i), prediction, answers });
    const rec: PredictionRecord = {
      id: String(i),
      task: 'bench',
      promptHash: '0123456789abcdef',
      prompt: prediction,
      tiles: [1],
      imageTokens: 256,
      promptTokens: 260,
      outputTokens: 6,
      latencyMs: 0,
      prediction,
      answers,
      score: s.score,
      meta: { line: i + 1 },
    };
    log.append(rec);
  }
  log.close();
  return n / ((performance.now() - t0) / 1000);
}

export async function run(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'bench-runner-'));
  try {
    const { configDir, dataRoot } = writeTasks(root, [
      { name: 'bench', rows: rows(N), scorer: 'anls' },
      { name: 'small', rows: rows(24), scorer: 'anls' },
    ]);
    const base = baseline(root, N);
    const t0 = performance.now();
    const s = await runEvaluation({
      model: 'echo',
      backend: 'echo',
      tasks: ['bench'],
      configDir,
      dataRoot,
      out: path.join(root, 'echo-run'),
      progress: 'none',
      report: false,
      concurrency: 1,
    });
    const wall = (performance.now() - t0) / 1000;
    const st = s.tasks[0].stats;
    console.log(`pipeline, instant backend (echo), ${N} samples with one image each:`);
    console.log(`  whole run (manifest, pipeline, finalise, score): ${(N / wall).toFixed(0)} samples/s`);
    console.log(
      `  pipeline only:                                   ${(st.processed / (st.wallMs / 1000)).toFixed(0)} samples/s`,
    );
    console.log(`  baseline, bare scorer + log append:              ${base.toFixed(0)} samples/s`);

    const ckpt = await makeTinyCheckpoint(path.join(root, 'ckpt'), { seed: 0 });
    const cacheDir = path.join(root, 'cache');
    console.log(
      `tiny engine (random weights, CPU, ${os.cpus().length} cores), 24 samples, 10 new tokens each:`,
    );
    for (const batch of [1, 4]) {
      const backend = await OnnxBackend.load(ckpt.dir, { cacheDir, maxBatch: batch });
      try {
        const r = await runEvaluation({
          model: ckpt.dir,
          backend: 'onnx',
          tasks: ['small'],
          configDir,
          dataRoot,
          out: path.join(root, `engine-b${batch}`),
          progress: 'none',
          report: false,
          batchSize: batch,
          backendInstance: backend,
        });
        const t = r.tasks[0].stats;
        const outside = 1 - t.modelMs / t.wallMs;
        console.log(
          `  batch ${batch}: ${(t.processed / (t.wallMs / 1000)).toFixed(2)} samples/s, ${t.backendCalls} model calls, ` +
            `time outside backend.generate ${(100 * outside).toFixed(1)}% (${(t.wallMs - t.modelMs).toFixed(0)} of ${t.wallMs.toFixed(0)} ms)`,
        );
      } finally {
        await backend.close();
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
