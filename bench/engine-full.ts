/**
 * `npm run bench -- engine --full`: the FULL-size random InternVL2-2B (24 ViT + 24 LLM layers, real widths and
 * tokenizer: `make-checkpoint --size full`), made and built once (cached under $INTERNVL_EVAL_CACHE/bench/full or
 * ~/.cache/internvl-eval/bench/full), measured with the engine's default settings (EngineOptions: threads = every
 * core). Each figure is printed next to its floor, measured just before it in the same run (other work sharing the
 * cores moves both together):
 * - vision ms/tile at 1 / 7 / 13 tiles          vs  the ViT's FLOPs at a large fp32 MatMul's FLOP/s;
 * - prefill tok/s at ~300 / ~1800 / ~3400 tokens vs  the decoder's FLOPs per prompt token at that FLOP/s;
 * - decode tok/s at contexts 50 / 300 / 1800 / 3400, batch 1 and 8  vs  bytes read per step (decoder weights +
 *   batch × KV cache) at the measured memory bandwidth, as the median of BENCH_ROUNDS (3) interleaved floor/decode
 *   pairs; decode steps run on a cache of that length without paying for its prefill (a step's cost does not
 *   depend on the cached values);
 * - nodes per decoder layer after ORT's optimizations; peak RSS;
 * - the kernels a batch-1 step is made of, timed alone on its shapes (bench/kernels.ts), interleaved with the step:
 *   how much of the step is ORT's kernels, how much the engine (BENCH_KERNELS=0 skips it).
 * Environment: BENCH_VARIANT (int4), BENCH_BLOCK_SIZE, BENCH_THREADS, BENCH_DEVICE (cpu), BENCH_CONTEXTS,
 * BENCH_BATCHES, BENCH_TILES, BENCH_PREFILL, BENCH_ROUNDS, BENCH_TOKENIZER_DIR; INTERNVL_EVAL_HOST_KV=append for the
 * onnxruntime-node cache path (sessions.ts HostKvBinding).
 */
import fs from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { INTERNVL2_2B_SIZES } from '../src/model/checkpoint/internvl2-files.ts';
import { resolveEngineOptions, type EngineOptions } from '../src/model/engine/engine-options.ts';
import { encodeImagesAndDiscard } from '../src/model/engine/device-prompt.ts';
import { InternVLEngine } from '../src/model/engine/engine.ts';
import { generate } from '../src/model/engine/generate.ts';
import { leftPad } from '../src/model/engine/padding.ts';
import { assertDeviceAvailable, sessionOptions } from '../src/model/engine/sessions.ts';
import { buildModel } from '../src/model/graph/build.ts';
import { benchCheckpoint, measureFloors, visionFlopsPerTile } from './engine.ts';
import { gqaProbe, nbitsProbe, type DecoderShape } from './kernels.ts';

const S = INTERNVL2_2B_SIZES;
const VOCAB = 92553;

/** A comma-separated list from the environment ('' = none, e.g. BENCH_TILES= skips vision). */
const list = (name: string, fallback: number[]) =>
  (process.env[name] ?? fallback.join(','))
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);

function cacheRoot(): string {
  const base =
    process.env.INTERNVL_EVAL_CACHE ?? path.join(process.env.HOME ?? '.', '.cache', 'internvl-eval');
  return path.join(base, 'bench', 'full');
}

function engineOptions(): EngineOptions {
  return resolveEngineOptions({
    variant: process.env.BENCH_VARIANT ?? 'int4',
    device: process.env.BENCH_DEVICE ?? 'cpu',
    ...(process.env.BENCH_THREADS ? { threads: Number(process.env.BENCH_THREADS) } : {}),
    ...(process.env.BENCH_BLOCK_SIZE ? { blockSize: Number(process.env.BENCH_BLOCK_SIZE) } : {}),
    visionBatch: 1,
  });
}

/** The full checkpoint (made once) and its build for `opts` (cached by buildModel). */
async function prepare(opts: EngineOptions): Promise<{ dir: string; setupMs: number }> {
  const t0 = performance.now();
  const ckpt = path.join(cacheRoot(), 'checkpoint');
  if (!fs.existsSync(path.join(ckpt, 'model.safetensors'))) {
    process.stdout.write(`making the full checkpoint in ${ckpt} (4.4 GB, once)\n`);
  }
  await benchCheckpoint(ckpt, S, 0);
  const built = await buildModel(ckpt, {
    variant: opts.variant,
    cacheDir: path.join(cacheRoot(), 'built'),
    ...(opts.blockSize !== undefined ? { blockSize: opts.blockSize } : {}),
    onProgress: (m) => m.startsWith('building') && process.stdout.write(`${m} (once)\n`),
  });
  return { dir: built.dir, setupMs: performance.now() - t0 };
}

/** Decoder FLOPs per prompt token at prompt length n: linears, causal attention (mean n/2 keys), lm head once. */
function prefillFlopsPerToken(n: number): number {
  const l = S.llm;
  const h = l.hiddenSize;
  const kv = (h / l.numAttentionHeads) * l.numKeyValueHeads;
  const linears = 2 * (h * (h + 2 * kv) + h * h + 3 * h * l.intermediateSize);
  const attention = 2 * 2 * (n / 2) * h;
  return l.numHiddenLayers * (linears + attention) + (2 * h * VOCAB) / n;
}

/** KV-cache bytes of one row at context c (float32, every layer, keys and values). */
function kvBytes(c: number): number {
  const l = S.llm;
  return l.numHiddenLayers * 2 * l.numKeyValueHeads * c * (l.hiddenSize / l.numAttentionHeads) * 4;
}

/** Nodes per decoder layer in ORT's optimized graph (cached next to the build: the optimized copy is 1 GB). */
async function nodesPerLayer(dir: string, opts: EngineOptions): Promise<{ max: number; ops: string }> {
  const cached = path.join(dir, 'bench-nodes-per-layer.json');
  if (fs.existsSync(cached)) return JSON.parse(fs.readFileSync(cached, 'utf8'));
  const tmp = fs.mkdtempSync(path.join(cacheRoot(), 'opt-'));
  try {
    const file = path.join(tmp, 'decoder.opt.onnx');
    const session = await ort.InferenceSession.create(path.join(dir, 'decoder.onnx'), {
      ...sessionOptions(opts),
      optimizedModelFilePath: file,
      extra: {
        session: {
          optimized_model_external_initializers_file_name: 'decoder.opt.onnx.data',
          optimized_model_external_initializers_min_size_in_bytes: '1024',
        },
      },
    });
    await session.release();
    const nodes = onnxProto.onnx.ModelProto.decode(fs.readFileSync(file)).graph?.node ?? [];
    let max = 0;
    let ops = '';
    for (let i = 0; i < S.llm.numHiddenLayers; i++) {
      const mine = nodes.filter((n) => (n.name ?? '').includes(`layers.${i}.`));
      if (mine.length > max) {
        max = mine.length;
        ops = mine.map((n) => n.opType).join(', ');
      }
    }
    const result = { max, ops };
    fs.writeFileSync(cached, JSON.stringify(result));
    return result;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const fmt = (x: number, digits = 1) => x.toFixed(digits);
const pct = (x: number, floor: number) => `${fmt((100 * x) / floor, 0)}%`;
const say = (s: string) => process.stdout.write(`${s}\n`);

/**
 * Best ms of 15 decode steps (after one that warms the arena up) of `batch` rows on a cache of `context` tokens,
 * embedding included, without paying for the prefill (a step's cost does not depend on the cached values).
 */
async function decodeStepMs(model: InternVLEngine['model'], batch: number, context: number): Promise<number> {
  const steps = 16;
  let past = model.prefilledCache(batch, context + steps + 1, context);
  const token = BigInt64Array.from({ length: batch }, (_, b) => BigInt(1000 + b));
  let best = Infinity;
  try {
    for (let s = 0; s < steps; s++) {
      const T = past.length + 1;
      const t = performance.now();
      const embeds = await model.embed(token, batch, 1);
      const out = await model.step({
        batch,
        seq: 1,
        embeds,
        attentionMask: new BigInt64Array(batch * T).fill(1n),
        positionIds: new BigInt64Array(batch).fill(BigInt(T - 1)),
        past,
      });
      if (s > 0) best = Math.min(best, performance.now() - t);
      past = out.present;
    }
  } finally {
    model.releaseCache(past);
  }
  return best;
}

export async function runFull(): Promise<void> {
  const opts = engineOptions();
  assertDeviceAvailable(opts.device);
  const { dir, setupMs } = await prepare(opts);
  const nodes = await nodesPerLayer(dir, opts);
  const t0 = performance.now();
  const engine = await InternVLEngine.load(dir, opts);
  const loadMs = performance.now() - t0;
  const rssAfterLoad = process.memoryUsage().rss / 2 ** 20;
  const model = engine.model;
  const weightBytes = fs.statSync(path.join(dir, 'decoder.onnx.data')).size;
  say(
    `model: full-size random InternVL2-2B (24+24 layers), ${engine.info.variant}` +
      `${engine.info.built.quant ? ` block ${engine.info.built.quant.blockSize} acc ${engine.info.built.quant.accuracyLevel}` : ''}` +
      `, ${opts.device}, ${opts.threads} threads, KV cache ${engine.info.kvCache}; setup ${fmt(setupMs / 1000)} s (cached), load ${fmt(loadMs / 1000)} s, ` +
      `RSS after load ${fmt(rssAfterLoad, 0)} MiB; decoder weights ${fmt(weightBytes / 2 ** 20, 0)} MiB`,
  );
  say(`decoder: ${nodes.max} nodes per layer after ORT optimization (${nodes.ops})`);

  // Vision
  const tiles = list('BENCH_TILES', [1, 7, 13]);
  const tile = 3 * 448 * 448;
  const pixels = new Float32Array(Math.max(0, ...tiles) * tile);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i * 0.01);
  if (tiles.length) await encodeImagesAndDiscard(model, pixels.subarray(0, tile), 1); // warm-up
  say('vision  | tiles | ms/tile | floor ms/tile (MatMul GFLOP/s) | of floor');
  for (const n of tiles) {
    const floors = await measureFloors(opts);
    const floorMs = (visionFlopsPerTile(S) / floors.matmulFlops) * 1000;
    const tv = performance.now();
    await encodeImagesAndDiscard(model, pixels.subarray(0, n * tile), n);
    const ms = (performance.now() - tv) / n;
    say(
      `vision  | ${String(n).padStart(5)} | ${fmt(ms, 0).padStart(7)} | ${fmt(floorMs, 0)} (${fmt(floors.matmulFlops / 1e9, 0)}) | ${pct(floorMs, ms)}`,
    );
  }

  // Prefill (batch 1, through the generation loop)
  const ids = (n: number) => Array.from({ length: n }, (_, i) => 100 + ((i * 7919) % 90000));
  const prefill = async (batch: number, n: number) => {
    const p = leftPad(
      Array.from({ length: batch }, () => ids(n)),
      0,
    );
    const embeds = await model.embed(p.inputIds, batch, p.seq);
    return generate(
      model,
      { batch, seq: p.seq, embeds, attentionMask: p.attentionMask, positionIds: p.positionIds },
      Array.from({ length: batch }, () => ({ maxNewTokens: 1, stopTokenIds: [] })),
      { padTokenId: 0 },
    );
  };
  await prefill(1, 32); // warm-up
  say('prefill | tokens | tok/s | floor tok/s (MatMul GFLOP/s) | of floor');
  for (const n of list('BENCH_PREFILL', [300, 1800, 3400])) {
    const floors = await measureFloors(opts);
    const floor = floors.matmulFlops / prefillFlopsPerToken(n);
    const r = await prefill(1, n);
    const rate = (n * 1000) / r.timings.prefillMs;
    say(
      `prefill | ${String(n).padStart(6)} | ${fmt(rate).padStart(5)} | ${fmt(floor)} (${fmt(floors.matmulFlops / 1e9, 0)}) | ${pct(rate, floor)}`,
    );
  }

  // Decode (steps on a cache of the given length). The memory bandwidth of this kind of shared VM drifts by 2× within
  // minutes, so each figure is ROUNDS interleaved pairs (floor, then decode right after it) and the row gives the
  // median pair by share of floor, with the range of the shares.
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  say(
    `decode  | batch | context | tok/s | ms/step | floor tok/s (GB/s) | of floor (range over ${rounds} rounds)`,
  );
  for (const batch of list('BENCH_BATCHES', [1, 8])) {
    for (const c of list('BENCH_CONTEXTS', [50, 300, 1800, 3400])) {
      const bytes = weightBytes + batch * kvBytes(c);
      const pairs: { rate: number; best: number; floor: number; bandwidth: number }[] = [];
      for (let r = 0; r < rounds; r++) {
        const floors = await measureFloors(opts);
        const floor = batch / (bytes / floors.bandwidth);
        const best = await decodeStepMs(model, batch, c);
        pairs.push({ rate: (batch * 1000) / best, best, floor, bandwidth: floors.bandwidth });
      }
      pairs.sort((a, b) => a.rate / a.floor - b.rate / b.floor);
      const m = pairs[Math.floor((pairs.length - 1) / 2)];
      const range = `${pct(pairs[0].rate, pairs[0].floor)}–${pct(pairs[pairs.length - 1].rate, pairs[pairs.length - 1].floor)}`;
      say(
        `decode  | ${String(batch).padStart(5)} | ${String(c).padStart(7)} | ${fmt(m.rate).padStart(5)} | ${fmt(m.best).padStart(7)} | ` +
          `${fmt(m.floor)} (${fmt(m.bandwidth / 1e9)}) | ${pct(m.rate, m.floor)} (${range})`,
      );
    }
  }
  if (process.env.BENCH_KERNELS !== '0') {
    await kernelRows(opts, engine, weightBytes, list('BENCH_CONTEXTS', [50, 300, 1800, 3400]), rounds);
  }
  await engine.close();
  say(
    `peak RSS ${fmt(process.resourceUsage().maxRSS / 1024, 0)} MiB (the batch-8 caches at long contexts included)`,
  );
}

/**
 * The decode step against ORT's kernels alone (bench/kernels.ts): MatMulNBits' throughput on the decoder's shapes
 * at the engine's threads and at one; then per context, `rounds` interleaved triples (MatMulNBits, GroupQueryAttention
 * with 16 and with 8 query heads, the engine's step) so that the step and the kernels it is made of meet the same
 * minute of this VM. "Kernels alone" = the decoder's weight bytes at MatMulNBits' rate + GQA with 16 heads.
 */
async function kernelRows(
  opts: EngineOptions,
  engine: InternVLEngine,
  weightBytes: number,
  contexts: readonly number[],
  rounds: number,
): Promise<void> {
  const quant = engine.info.built.quant;
  if (
    opts.device !== 'cpu' ||
    !quant ||
    quant.zeroPoint ||
    (opts.variant !== 'int4' && opts.variant !== 'int8')
  ) {
    say('kernels | (measured for the CPU int4/int8 variants without zero points only)');
    return;
  }
  const l = S.llm;
  const shape: DecoderShape = {
    hidden: l.hiddenSize,
    heads: l.numAttentionHeads,
    kvHeads: l.numKeyValueHeads,
    headDim: l.hiddenSize / l.numAttentionHeads,
    intermediate: l.intermediateSize,
    layers: l.numHiddenLayers,
  };
  const dir = path.join(cacheRoot(), 'kernels');
  fs.mkdirSync(dir, { recursive: true });
  const format = {
    bits: opts.variant === 'int8' ? 8 : 4,
    blockSize: quant.blockSize,
    accuracyLevel: quant.accuracyLevel,
  } as const;
  const nbits = await nbitsProbe(dir, shape, format, 8, opts.threads);
  try {
    const floors = await measureFloors(opts);
    const rate = nbits.bytes / (await nbits.time());
    let oneThread = '';
    if (opts.threads !== 1) {
      const single = await nbitsProbe(dir, shape, format, 8, 1);
      try {
        oneThread = `, 1 thread ${fmt(single.bytes / (await single.time()) / 1e9)} GB/s`;
      } finally {
        single.release();
      }
    }
    say(
      `kernels | MatMulNBits alone (${opts.variant}, block ${format.blockSize}, acc ${format.accuracyLevel}; 8 layers' ` +
        `projections, ${fmt(nbits.bytes / 2 ** 20, 0)} MiB): ${opts.threads} threads ${fmt(rate / 1e9)} GB/s${oneThread}; ` +
        `bandwidth floor ${fmt(floors.bandwidth / 1e9)} GB/s (MatMulNBits at ${pct(rate, floors.bandwidth)} of it)`,
    );
    say(
      `kernels | context | GQA 16 heads ms | GQA 8 heads ms | weights at MatMulNBits rate ms | kernels alone ms | ` +
        `engine ms/step | engine / kernels alone (range over ${rounds} rounds)`,
    );
    for (const c of contexts) {
      const g16 = await gqaProbe(dir, shape, shape.heads, c, opts.threads);
      const g8 = await gqaProbe(dir, shape, shape.kvHeads, c, opts.threads);
      try {
        const rows: { a16: number; a8: number; w: number; engineMs: number; ratio: number }[] = [];
        for (let r = 0; r < rounds; r++) {
          const w = (weightBytes / (nbits.bytes / (await nbits.time()))) * 1000;
          const a16 = (await g16.time()) * 1000;
          const a8 = (await g8.time()) * 1000;
          const engineMs = await decodeStepMs(engine.model, 1, c);
          rows.push({ a16, a8, w, engineMs, ratio: engineMs / (w + a16) });
        }
        rows.sort((x, y) => x.ratio - y.ratio);
        const m = rows[Math.floor((rows.length - 1) / 2)];
        say(
          `kernels | ${String(c).padStart(7)} | ${fmt(m.a16, 2).padStart(15)} | ${fmt(m.a8, 2).padStart(14)} | ` +
            `${fmt(m.w).padStart(30)} | ${fmt(m.w + m.a16).padStart(16)} | ${fmt(m.engineMs).padStart(14)} | ` +
            `${fmt(m.ratio, 2)} (${fmt(rows[0].ratio, 2)}–${fmt(rows[rows.length - 1].ratio, 2)})`,
        );
      } finally {
        g16.release();
        g8.release();
      }
    }
  } finally {
    nbits.release();
  }
}
