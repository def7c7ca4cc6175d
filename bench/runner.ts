/**
 * Runner overhead.
 *  1. samples/s of the whole pipeline (real adapter reading JSONL + image files, prompt recipe, request hashing,
 *     dispatcher, scorer, append-only log, finalisation, scores) with a backend that answers instantly (echo),
 *     next to its baseline: the same count of bare `scorer.scoreSample` + log appends.
 *  2. For a real engine run (tiny random-weight checkpoint, CPU): the share of wall time spent outside the model,
 *     i.e. outside `backend.generate` (reading data, prompts, hashing, scoring, logging), at batch size 1 and 4.
 *     The images are 2x2 PNGs here, so preprocessing is negligible.
 *  3. The same engine over document pages (1700x2200 PNGs, max 12 tiles -> 13 tiles each, exact preprocessing),
 *     with the ONNX backend's preprocessing pool (images decoded and tiled on worker threads in the pipeline's
 *     preparation stage, overlapping the model) vs without it (preprocessing in-process, inside `generate`),
 *     measured in the same run: samples/s and the share of wall time outside `backend.generate`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { getScorer } from '../src/metrics/registry.ts';
import sharp from 'sharp';
import { makeTinyCheckpoint } from '../src/model/checkpoint/tiny.ts';
import { InternVLEngine } from '../src/model/engine/engine.ts';
import { defaultPoolSize } from '../src/model/inputs/preprocess-pool.ts';
import type { GenerationRequest } from '../src/runner/backend.ts';
import { OnnxBackend } from '../src/runner/backends/onnx.ts';
import { PredictionLogWriter } from '../src/runner/prediction-log.ts';
import type { PredictionRecord } from '../src/runner/prediction-record.ts';
import { runEvaluation } from '../src/runner/run-evaluation.ts';
import { writeTasks } from '../test/runner/helpers.ts';
import { documentImage } from './tiling.ts';

const N = 3000;
const PAGES = 8;
const PAGE_W = 1700;
const PAGE_H = 2200;

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
      { name: 'pages', rows: rows(PAGES), scorer: 'anls', maxTiles: 12 },
    ]);
    for (let i = 0; i < PAGES; i++) {
      const raw = documentImage(PAGE_W, PAGE_H, 1000 + i);
      await sharp(raw, { raw: { width: PAGE_W, height: PAGE_H, channels: 3 } })
        .png()
        .toFile(path.join(dataRoot, 'pages', `${i}.png`));
    }
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
      const backend = await OnnxBackend.load(ckpt.dir, { engine: { cacheDir }, maxBatch: batch });
      try {
        const r = await runEvaluation({
          model: ckpt.dir,
          backend: 'onnx',
          tasks: ['small'],
          configDir,
          dataRoot,
          out: path.join(root, `engine-b${batch}`),
          progress: 'none',
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

    const workers = defaultPoolSize();
    console.log(
      `tiny engine over ${PAGES} document pages (${PAGE_W}x${PAGE_H} PNG, max 12 tiles = 13 tiles each, exact ` +
        `preprocessing), ${os.cpus().length} cores:`,
    );
    // ORT's intra-op threads: its default (one per core, so workers compete with the model for cores), and the
    // cores minus the pool's workers (as when the model runs on a GPU and leaves the CPU to preprocessing).
    const spare = Math.max(1, os.availableParallelism() - workers);
    const page = new Uint8Array(await readFile(path.join(dataRoot, 'pages', '0.png')));
    const pageRequest = (id: string): GenerationRequest => ({
      id,
      question: '<image>\nWhat is written here?',
      images: [page],
      maxTiles: [12],
      useThumbnail: true,
      maxNewTokens: 10,
      minNewTokens: 1,
    });
    for (const threads of [undefined, spare]) {
      const engine = await InternVLEngine.load(ckpt.dir, {
        cacheDir,
        ...(threads !== undefined ? { threads } : {}),
      });
      try {
        for (const batch of threads === undefined ? [1] : [1, 4]) {
          // The baseline (preprocessing in-process inside generate) first, then the pool, on the same data and
          // the same engine; both warmed first (ORT's arena for 13-tile inputs, JIT, the pool's workers started).
          for (const preprocessWorkers of [0, workers]) {
            const backend = new OnnxBackend(engine, { maxBatch: batch, preprocessWorkers });
            try {
              const warm = await Promise.all(
                Array.from({ length: Math.max(batch, preprocessWorkers) }, (_, i) =>
                  backend.prepare(pageRequest(`warm${i}`)),
                ),
              );
              await backend.generate(warm.slice(0, batch));
              const r = await runEvaluation({
                model: ckpt.dir,
                backend: 'onnx',
                tasks: ['pages'],
                configDir,
                dataRoot,
                out: path.join(root, `pages-b${batch}-t${threads ?? 0}-w${preprocessWorkers}`),
                progress: 'none',
                batchSize: batch,
                backendInstance: backend,
              });
              const t = r.tasks[0].stats;
              const label =
                `batch ${batch}, ORT threads ${threads ?? 'default'}, ` +
                (preprocessWorkers === 0 ? 'in-process (baseline)' : `pool of ${preprocessWorkers}`);
              console.log(
                `  ${label.padEnd(50)}: ${(t.processed / (t.wallMs / 1000)).toFixed(2)} samples/s, ` +
                  `outside backend.generate ${(100 * (1 - t.modelMs / t.wallMs)).toFixed(1)}% ` +
                  `(generate ${t.modelMs.toFixed(0)} of ${t.wallMs.toFixed(0)} ms)`,
              );
            } finally {
              await backend.preprocessPool.close(); // the engine is shared: not backend.close()
            }
          }
        }
      } finally {
        await engine.close();
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
