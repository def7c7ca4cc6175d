/**
 * The engine on a real built tiny model (random weights, self-made tokenizer): KV cache vs recompute, batched vs
 * unbatched, stopping rules, sampling, streaming, prompts with several images and history, the runner backend.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../../src/model/checkpoint/checkpoint.ts';
import { makeTinyCheckpoint } from '../../../src/model/checkpoint/tiny.ts';
import { InternVLEngine, type ChatRequest } from '../../../src/model/engine/engine.ts';
import { generate } from '../../../src/model/engine/generate.ts';
import {
  ExecutionProviderUnavailableError,
  assertDeviceAvailable,
} from '../../../src/model/engine/sessions.ts';
import { OnnxBackend } from '../../../src/runner/backends/onnx.ts';
import type { GenerationRequest } from '../../../src/runner/backend.ts';
import { startFakeHub, type FakeFile } from '../../datasets/fake-hub.ts';
import { referenceGreedy, referenceLogits, referenceVisionEmbeds } from '../reference/forward.ts';

let root: string;
let ckptDir: string;
let engine: InternVLEngine;
const TILE = 3 * 448 * 448;

/** Deterministic pseudo-normalised pixels for `tiles` tiles. */
function pixels(tiles: number, seed: number): Float32Array {
  const out = new Float32Array(tiles * TILE);
  for (let i = 0; i < out.length; i++) out[i] = Math.sin(i * 0.001 + seed) * 1.5;
  return out;
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'engine-'));
  ckptDir = (await makeTinyCheckpoint(path.join(root, 'ckpt'), { seed: 5 })).dir;
  engine = await InternVLEngine.load(ckptDir, { cacheDir: path.join(root, 'cache'), threads: 1 });
});

afterAll(async () => {
  await engine?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const noStop = { stopTokens: [] as string[] };

const requests: ChatRequest[] = [
  { question: 'Hi', generation: { maxNewTokens: 6, ...noStop } },
  {
    question: 'What is in the picture?',
    pixelValues: pixels(1, 1),
    generation: { maxNewTokens: 8, ...noStop },
  },
  {
    question: 'Image-1: <image>\nImage-2: <image>\nCompare them.',
    pixelValues: pixels(3, 2),
    numPatchesList: [1, 2],
    history: [['Describe <image>', 'A cat.']],
    generation: { maxNewTokens: 5, ...noStop },
  },
];

describe('InternVLEngine on a tiny built model', () => {
  it('loads build info and the tokenizer from the built folder', () => {
    expect(engine.info.variant).toBe('fp32');
    expect(engine.info.numImageToken).toBe(256);
    expect(engine.info.llm.vocab).toBeGreaterThanOrEqual(engine.tokenizer.vocabSize);
  });

  it('greedy ids and last-position logits equal the float64 reference forward (image question)', async () => {
    const req: ChatRequest = {
      question: 'What is in the picture?',
      pixelValues: pixels(1, 1),
      keepPromptLogits: true,
      generation: { maxNewTokens: 6, ...noStop },
    };
    const result = await engine.chat(req);
    const ckpt = await openCheckpoint(ckptDir);
    try {
      const vision = await referenceVisionEmbeds(ckpt, pixels(1, 1), 1);
      const contextId = engine.tokenizer.imgContextId;
      const logits = await referenceLogits(ckpt, result.inputIds, {
        imageEmbeds: vision,
        imageContextTokenId: contextId,
      });
      expect(maxRelDiff(result.promptLogits!, Float32Array.from(logits))).toBeLessThan(1e-4);
      const ids = await referenceGreedy(ckpt, result.inputIds, vision, 6, [], contextId);
      expect(result.outputIds).toEqual(ids);
    } finally {
      await ckpt.close();
    }
  });

  it('KV-cache decoding equals full recompute (text and image rows, left padded)', async () => {
    const prepared = requests.slice(0, 2).map((r) => engine.prepare(r));
    const settings = requests.slice(0, 2).map((r) => engine.rowSettings(r));
    const { prefill } = await engine.buildPrefill(prepared);
    const pad = engine.tokenizer.eosId;
    const cached = await generate(engine.model, prefill, settings, { padTokenId: pad });
    const recomputed = await generate(engine.model, prefill, settings, { padTokenId: pad, useCache: false });
    expect(cached.rows.map((r) => r.outputIds)).toEqual(recomputed.rows.map((r) => r.outputIds));
    expect(cached.rows[1].outputIds).toHaveLength(8);
  });

  it('batchChat equals chat one by one (different prompt lengths, images, history)', async () => {
    const withLogits = requests.map((r) => ({ ...r, keepPromptLogits: true }));
    const batched = await engine.batchChat(withLogits);
    expect(batched[0].inputIds.length).toBeLessThan(batched[2].inputIds.length);
    for (let i = 0; i < withLogits.length; i++) {
      const single = await engine.chat(withLogits[i]);
      expect(batched[i].inputIds).toEqual(single.inputIds);
      expect(batched[i].outputIds).toEqual(single.outputIds);
      expect(batched[i].text).toBe(single.text);
      expect(maxRelDiff(batched[i].promptLogits!, single.promptLogits!)).toBeLessThan(1e-4);
    }
    expect(batched[0].timings.batchSize).toBe(3);
  });

  it('stops at a stop token (excluded) and honours maxNewTokens', async () => {
    const free = await engine.chat({ question: 'Tell me more', generation: { maxNewTokens: 8, ...noStop } });
    expect(free.outputIds).toHaveLength(8);
    expect(free.finishReason).toBe('length');
    const stopId = free.outputIds[3];
    const stopName = engine.tokenizer.idToToken(stopId)!;
    const stopped = await engine.chat({
      question: 'Tell me more',
      generation: { maxNewTokens: 8, stopTokens: [stopName] },
    });
    expect(stopped.outputIds).toEqual(free.outputIds.slice(0, free.outputIds.indexOf(stopId)));
    expect(stopped.finishReason).toBe('stop');
    const short = await engine.chat({ question: 'Tell me more', generation: { maxNewTokens: 2, ...noStop } });
    expect(short.outputIds).toEqual(free.outputIds.slice(0, 2));
  });

  it('suppresses the stop tokens until minNewTokens', async () => {
    const free = await engine.chat({ question: 'Go', generation: { maxNewTokens: 4, ...noStop } });
    const first = engine.tokenizer.idToToken(free.outputIds[0])!;
    const none = await engine.chat({ question: 'Go', generation: { maxNewTokens: 4, stopTokens: [first] } });
    expect(none.outputIds).toEqual([]);
    expect(none.text).toBe('');
    const two = await engine.chat({
      question: 'Go',
      generation: { maxNewTokens: 4, minNewTokens: 2, stopTokens: [first] },
    });
    expect(two.outputIds.length).toBeGreaterThanOrEqual(2);
    expect(two.outputIds.slice(0, 2)).not.toContain(free.outputIds[0]);
  });

  it('sampling is deterministic per seed', async () => {
    const ask = (seed: number) =>
      engine.chat({
        question: 'Sample',
        generation: { maxNewTokens: 10, temperature: 3, topP: 0.99, seed, ...noStop },
      });
    const a = await ask(1);
    const b = await ask(1);
    const c = await ask(2);
    expect(a.outputIds).toEqual(b.outputIds);
    expect(a.outputIds).not.toEqual(c.outputIds);
  });

  it('stream() pieces concatenate to the chat text', async () => {
    let multiPiece = false;
    for (const seed of [1, 2, 3, 4]) {
      const req: ChatRequest = {
        question: 'Stream please',
        generation: { maxNewTokens: 12, temperature: 2, seed, ...noStop },
      };
      const pieces: string[] = [];
      for await (const p of engine.stream(req)) pieces.push(p);
      const full = await engine.chat(req);
      expect(pieces.join('')).toBe(full.text);
      if (pieces.length > 1) multiPiece = true;
    }
    expect(multiPiece).toBe(true);
  });

  it('places images: separate blocks per entry, one combined block, history before the question', async () => {
    const t = engine.tokenizer;
    const blocks = (ids: number[]) => {
      const out: number[] = [];
      let n = -1;
      for (const id of ids) {
        if (id === t.imgStartId) n = 0;
        else if (id === t.imgEndId) {
          out.push(n);
          n = -1;
        } else if (n >= 0 && id === t.imgContextId) n++;
      }
      return out;
    };
    const separate = engine.prepare(requests[2]);
    expect(blocks(separate.inputIds)).toEqual([256, 512]);
    expect(separate.prompt.indexOf('A cat.')).toBeLessThan(separate.prompt.indexOf('Compare them.'));
    // The history's `<image>` takes the first entry, as Python's query.replace('<image>', ..., 1) does.
    expect(separate.prompt.indexOf('<img>')).toBeLessThan(separate.prompt.indexOf('A cat.'));
    const combined = engine.prepare({
      question: 'Both?',
      pixelValues: pixels(3, 2),
      numPatchesList: [1, 2],
      imageLayout: 'combined',
    });
    expect(blocks(combined.inputIds)).toEqual([768]);
    expect(combined.inputIds[0]).toBe(t.bosId);
  });

  it('rejects mismatched images and placeholders with a clear error', () => {
    expect(() => engine.prepare({ question: 'x', pixelValues: pixels(2, 0), numPatchesList: [1] })).toThrow(
      /numPatchesList sums to 1 tiles but pixelValues hold 2/,
    );
    expect(() =>
      engine.prepare({ question: '<image> and <image>', pixelValues: pixels(1, 0), numPatchesList: [1] }),
    ).not.toThrow();
    expect(() => engine.prepare({ question: 'x', pixelValues: new Float32Array(10) })).toThrow(
      /whole number/,
    );
    // history=[] suppresses the automatic '<image>\n' (reference chat() quirk): the image has nowhere to go.
    expect(() => engine.prepare({ question: 'x', history: [], pixelValues: pixels(1, 0) })).toThrow(
      /holds 0 <IMG_CONTEXT> tokens but the images need 256/,
    );
  });
});

describe('execution providers', () => {
  it('asks for cuda here → a clear error saying how to install it', async () => {
    const err = await InternVLEngine.load(ckptDir, { device: 'cuda' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutionProviderUnavailableError);
    expect((err as Error).message).toMatch(/cuda/);
    expect((err as Error).message).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });

  it.each([
    {
      device: 'cuda' as const,
      backends: [{ name: 'cpu', bundled: true }],
      pattern: /not supported.*supported: cpu/,
    },
    {
      device: 'webgpu' as const,
      backends: [{ name: 'cpu', bundled: true }],
      pattern: /'webgpu' is not supported/,
    },
    { device: 'cuda' as const, backends: [{ name: 'cuda', bundled: false }], pattern: /is missing/ },
  ])('$device with backends $backends', ({ device, backends, pattern }) => {
    expect(() => assertDeviceAvailable(device, backends, path.join(root, 'no-such-dir'))).toThrow(pattern);
  });

  it('accepts cpu', () => {
    expect(() => assertDeviceAvailable('cpu')).not.toThrow();
  });
});

describe('OnnxBackend', () => {
  it('batches requests, reports tokens and tiles, isolates a failing request', async () => {
    const png = new Uint8Array(
      await sharp({ create: { width: 896, height: 448, channels: 3, background: { r: 200, g: 30, b: 90 } } })
        .png()
        .toBuffer(),
    );
    const base = { maxNewTokens: 4, minNewTokens: 1, useThumbnail: true } as const;
    const reqs: GenerationRequest[] = [
      { id: 'a', question: 'Hello', images: [], maxTiles: [], ...base },
      { id: 'b', question: 'What colour?', images: [png], maxTiles: [2], ...base },
      { id: 'c', question: 'Broken', images: [new Uint8Array([1, 2, 3])], maxTiles: [6], ...base },
    ];
    const backend = new OnnxBackend(engine, { maxBatch: 2 });
    const results = await backend.generate(reqs);
    expect(results.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(results[0].error).toBeUndefined();
    expect(results[1].tiles).toEqual([3]); // 2×1 grid + thumbnail
    expect(results[1].imageTokens).toBe(3 * 256);
    expect(results[1].promptTokens).toBeGreaterThan(3 * 256);
    expect(results[2].error).toMatch(/request c: image 1/);
    expect(results[2].text).toBe('');
    const alone = await engine.chat({ question: 'Hello', generation: { maxNewTokens: 4, minNewTokens: 1 } });
    expect(results[0].text).toBe(alone.text);
    expect(results[0].outputTokens).toBe(alone.outputIds.length);
    expect(backend.info.name).toBe('onnx');
  });
});

describe('model source', () => {
  it('downloads a Hugging Face repo id into the HF cache layout and builds it (local fake hub)', async () => {
    const files: Record<string, FakeFile> = {};
    for (const name of await readdir(ckptDir)) {
      files[name] = { content: await readFile(path.join(ckptDir, name)), lfs: name.endsWith('.safetensors') };
    }
    const repo = 'tiny-org/internvl2-tiny';
    const hub = await startFakeHub({ repo, type: 'model', files });
    // The fake hub serves files and trees; the repo-info and paths-info calls of snapshotDownload are answered here.
    const json = (value: unknown) =>
      new Response(JSON.stringify(value), { headers: { 'content-type': 'application/json' } });
    const fetchWithInfo: typeof fetch = async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.includes(`/api/models/${repo}/revision/`)) {
        return json({ _id: 'x', id: repo, sha: hub.commit, private: false });
      }
      if (url.includes(`/api/models/${repo}/paths-info/`)) {
        const { paths } = JSON.parse(String(init?.body)) as { paths: string[] };
        return json(
          paths.map((p) => {
            const f = files[p];
            const sha256 = createHash('sha256').update(f.content).digest('hex');
            return {
              type: 'file',
              path: p,
              size: f.content.length,
              oid: createHash('sha1').update(f.content).digest('hex'),
              ...(f.lfs ? { lfs: { oid: sha256, size: f.content.length } } : {}),
            };
          }),
        );
      }
      const headers = new Headers(init?.headers);
      if (headers.get('range') === 'bytes=0-0') {
        // fileDownloadInfo probes with a closed range, which the fake hub does not serve: answer it from a full GET.
        headers.delete('range');
        const full = await fetch(input, { ...init, headers });
        const body = await full.arrayBuffer();
        const out = new Headers(full.headers);
        out.set('content-range', `bytes 0-0/${body.byteLength}`);
        // After the LFS redirect the fake CDN sends no ETag; the real one does.
        if (!out.has('etag'))
          out.set('etag', `"${createHash('sha256').update(Buffer.from(body)).digest('hex')}"`);
        out.delete('content-length');
        return new Response(body.slice(0, 1), { status: 206, headers: out });
      }
      return fetch(input, init);
    };
    const hfCache = path.join(root, 'hf-cache');
    try {
      const remote = await InternVLEngine.load(repo, {
        cacheDir: path.join(root, 'cache'),
        threads: 1,
        hub: { hubUrl: hub.endpoint, cacheDir: hfCache, fetch: fetchWithInfo },
      });
      try {
        expect(remote.info.source).toBe(repo);
        expect(remote.info.checkpointHash).toBe(engine.info.checkpointHash);
        const snapshot = path.join(hfCache, 'models--tiny-org--internvl2-tiny', 'snapshots', hub.commit);
        expect((await readdir(snapshot)).sort()).toEqual(Object.keys(files).sort());
        const req: ChatRequest = { question: 'Hi', generation: { maxNewTokens: 4, ...noStop } };
        expect((await remote.chat(req)).outputIds).toEqual((await engine.chat(req)).outputIds);
      } finally {
        await remote.close();
      }
    } finally {
      await hub.close();
    }
    // Offline (hub closed): the cached snapshot is used and nothing is fetched; an uncached repo is a clear error.
    const offline = process.env.HF_HUB_OFFLINE;
    process.env.HF_HUB_OFFLINE = '1';
    try {
      const failingFetch: typeof fetch = async () => {
        throw new Error('network used while offline');
      };
      const cached = await InternVLEngine.load(repo, {
        cacheDir: path.join(root, 'cache'),
        threads: 1,
        hub: { cacheDir: hfCache, fetch: failingFetch },
      });
      expect(cached.info.checkpointHash).toBe(engine.info.checkpointHash);
      await cached.close();
      await expect(
        InternVLEngine.load('tiny-org/not-cached', { hub: { cacheDir: hfCache, fetch: failingFetch } }),
      ).rejects.toThrow(/HF_HUB_OFFLINE is set and tiny-org\/not-cached is not in the Hugging Face cache/);
    } finally {
      if (offline === undefined) delete process.env.HF_HUB_OFFLINE;
      else process.env.HF_HUB_OFFLINE = offline;
    }
  });

  it('names the folder when --model is neither a model nor a repo id', async () => {
    await expect(InternVLEngine.load(path.join(root, 'missing', 'x'))).rejects.toThrow(
      /model folder does not exist/,
    );
    await expect(InternVLEngine.load(root)).rejects.toThrow(/neither a built model .* nor a checkpoint/);
  });
});
