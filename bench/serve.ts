/**
 * `npm run bench -- serve`: `serve` over the tiny random-weight engine (CPU) on loopback, with streaming clients.
 * Baseline: the same requests answered one at a time (one client) in the same run; then 4 and 8 concurrent
 * clients with dynamic batching up to 4. Prints requests/s, latency and time-to-first-token percentiles, the
 * throughput ratio, and how many replies differ from the request answered alone (greedy: should be 0).
 * The tiny model's figures show the server's and the batcher's own behaviour, not InternVL2-2B's speed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeTinyCheckpoint } from '../src/model/checkpoint/tiny.ts';
import { OnnxBackend } from '../src/runner/backends/onnx.ts';
import { startServer } from '../src/serve/server.ts';
import { loadBodies } from '../test/serve/serve-load-bodies.ts';
import { describeLoad, runLoad } from '../test/serve/serve-load.ts';

export async function run(): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'bench-serve-'));
  try {
    const ckpt = await makeTinyCheckpoint(path.join(root, 'ckpt'), { seed: 3 });
    const backend = await OnnxBackend.load(ckpt.dir, {
      engine: { cacheDir: path.join(root, 'cache') },
      maxBatch: 4,
      preprocessWorkers: 0,
    });
    const server = await startServer({ backend, modelName: 'tiny', port: 0 });
    try {
      const bodies = loadBodies(24, { maxTokens: 32, forceTokens: true });
      await runLoad(server.url, bodies.slice(0, 4), 1); // warm-up: sessions, first allocations
      console.log(
        `serve, tiny engine (random weights, CPU, ${os.cpus().length} cores), max batch 4, 24 streamed requests of 32-38 tokens:`,
      );
      const alone = await runLoad(server.url, bodies, 1);
      console.log(`  ${describeLoad('1 client (baseline)', alone)}`);
      for (const clients of [4, 8]) {
        const r = await runLoad(server.url, bodies, clients);
        const differ = r.replies.filter((x, i) => !x.complete || x.text !== alone.replies[i].text).length;
        console.log(
          `  ${describeLoad(`${clients} clients          `, r)}; ` +
            `${(r.requestsPerSecond / alone.requestsPerSecond).toFixed(2)}x baseline, ${differ} replies differ`,
        );
      }
    } finally {
      await server.close();
      await backend.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
