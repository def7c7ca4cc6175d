/**
 * Bounded loopback load test: `serve` over the tiny random-weight engine (CPU, dynamic batching up to 4), N
 * concurrent streaming clients for a fixed list of requests. Every reply must be complete and equal to the same
 * request answered alone (greedy; the sequential pass in the same test). Throughput and latency are printed,
 * never asserted on.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyCheckpoint } from '../../src/model/checkpoint/tiny.ts';
import type { Backend, GenerationResult } from '../../src/runner/backend.ts';
import { preprocessImage } from '../../src/model/inputs/image-preprocess.ts';
import { OnnxBackend } from '../../src/runner/backends/onnx.ts';
import { startServer, type RunningServer } from '../../src/serve/server.ts';
import { PNG_2X2 } from '../runner/helpers.ts';
import { loadBodies } from './serve-load-bodies.ts';
import { describeLoad, runLoad } from './serve-load.ts';

let root: string;
let backend: OnnxBackend;
let server: RunningServer;
/** Every result the engine backend gave the server. */
const results: GenerationResult[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'serve-load-'));
  const ckpt = await makeTinyCheckpoint(path.join(root, 'ckpt'), { seed: 3 });
  backend = await OnnxBackend.load(ckpt.dir, {
    engine: { cacheDir: path.join(root, 'cache'), threads: 1 },
    maxBatch: 4,
    preprocessWorkers: 0,
  });
  const recording: Backend = {
    info: backend.info,
    maxBatch: backend.maxBatch,
    generate: async (reqs) => {
      const out = await backend.generate(reqs);
      results.push(...out);
      return out;
    },
    close: async () => {},
  };
  server = await startServer({ backend: recording, modelName: 'tiny', port: 0 });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await backend?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('serve under load (tiny engine, loopback)', () => {
  it('answers concurrent streaming clients completely, each reply equal to the request answered alone', async () => {
    const bodies = loadBodies(12);
    const alone = await runLoad(server.url, bodies, 1);
    const loaded = await runLoad(server.url, bodies, 4);
    console.log(describeLoad('sequential (baseline)', alone));
    console.log(describeLoad('4 concurrent clients  ', loaded));
    console.log(`throughput ratio: ${(loaded.requestsPerSecond / alone.requestsPerSecond).toFixed(2)}x`);
    for (const [i, r] of loaded.replies.entries()) {
      expect(r.complete, `reply ${i}`).toBe(true);
      expect(r.text, `reply ${i}`).toBe(alone.replies[i].text);
      expect(r.finishReason).toBe(alone.replies[i].finishReason);
    }
    expect(alone.replies.every((r) => r.complete)).toBe(true);
    // The non-streamed answer is the same text.
    const plain = (await (
      await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(bodies[0]),
      })
    ).json()) as { choices: { message: { content: string } }[] };
    expect(plain.choices[0].message.content).toBe(alone.replies[0].text);
  }, 120_000);

  it('answers a conversation with images in earlier turns as the engine chat(history=...) does', async () => {
    const png = new Uint8Array(PNG_2X2);
    const url = `data:image/png;base64,${PNG_2X2.toString('base64')}`;
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'tiny',
        max_tokens: 8,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url, max_dynamic_patch: 2 } },
              { type: 'text', text: 'Describe it.' },
            ],
          },
          { role: 'assistant', content: 'A square.' },
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url, max_dynamic_patch: 1 } },
              { type: 'text', text: 'And this?' },
            ],
          },
        ],
      }),
    });
    expect(res.status).toBe(200);
    const json = (await res.json()) as {
      choices: { message: { content: string } }[];
      internvl: { tiles: number[] };
    };
    // The model card's multi-round chat: both images, each in its own turn's <image>.
    const images = [
      await preprocessImage(png, { maxTiles: 2, useThumbnail: true }),
      await preprocessImage(png, { maxTiles: 1, useThumbnail: true }),
    ];
    const ref = await backend.engine.chat({
      question: '<image>\nAnd this?',
      history: [['<image>\nDescribe it.', 'A square.']],
      images,
      imageLayout: 'separate',
      generation: { maxNewTokens: 8 },
    });
    expect(json.choices[0].message.content).toBe(ref.text);
    expect(json.internvl.tiles).toEqual(images.map((im) => im.tiles));
    const prompt = backend.engine.prepare({
      question: '<image>\nAnd this?',
      history: [['<image>\nDescribe it.', 'A square.']],
      images,
      imageLayout: 'separate',
    }).prompt;
    expect(prompt.split('<img>')).toHaveLength(3);
    expect(prompt).not.toContain('<image>');
  }, 120_000);

  it('stops generating for a client that disconnects (the engine row is cancelled)', async () => {
    const controller = new AbortController();
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'tiny',
        max_tokens: 2000,
        stream: true,
        messages: [{ role: 'user', content: 'go on' }],
      }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    const before = results.length;
    await reader.read(); // the role chunk
    await reader.read(); // a first piece of text: generation is under way
    controller.abort();
    await reader.cancel().catch(() => undefined);
    for (let i = 0; i < 2000 && results.length === before; i++) await new Promise((r) => setTimeout(r, 5));
    expect(results[before]).toMatchObject({ finishReason: 'cancelled' });
    expect(results[before].outputTokens).toBeLessThan(2000);
    const after = await runLoad(server.url, loadBodies(1), 1);
    expect(after.replies[0].complete).toBe(true);
    const health = (await (await fetch(`${server.url}/health`)).json()) as { queue: { running: number } };
    expect(health.queue.running).toBe(0);
  }, 120_000);
});
