/**
 * `npm run bench -- engine [--full]`. Without --full: engine speed on CPU for a model with InternVL2-2B's real
 * WIDTHS but only 2 layers in each tower
 * (InternViT: hidden 1024, 16 heads, MLP 4096, 2 of 24 layers; InternLM2: hidden 2048, 16 heads / 8 KV heads,
 * MLP 8192, 2 of 24 layers; real vocabulary 92553 with the real tokenizer), random weights, fp32 / int8 / int4.
 *
 * Figures, each next to its floor measured in the same run:
 * - vision encoder ms per tile  vs  its MatMul FLOPs at the measured MatMul rate;
 * - prefill tokens/s            vs  a large fp32 MatMul's FLOP/s ÷ FLOPs per prompt token (the layers' linears,
 *                                   plus the lm_head once per prompt: the decoder gives last-position logits);
 * - decode tokens/s             vs  memory bandwidth (fp32 GEMV over a 256 MiB weight) ÷ decoder weight bytes;
 * - peak RSS of each variant in its own process.
 * The checkpoint and the builds are cached under $INTERNVL_EVAL_CACHE/bench or ~/.cache/internvl-eval/bench
 * (first run: a few minutes of setup, reported apart; later runs measure only).
 * With --full: the full 24+24-layer model, see engine-full.ts.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type { ModelSizes } from '../src/model/checkpoint/internvl2-files.ts';
import { makeTinyCheckpoint } from '../src/model/checkpoint/tiny.ts';
import { buildModel, type Variant } from '../src/model/graph/build.ts';
import { defaultEngineThreads } from '../src/model/cpu-cores.ts';
import { InternVLEngine } from '../src/model/engine/engine.ts';
import { encodeImagesAndDiscard } from '../src/model/engine/device-prompt.ts';
import { generate } from '../src/model/engine/generate.ts';
import { leftPad } from '../src/model/engine/padding.ts';
import {
  assertDeviceAvailable,
  sessionOptions,
  type EngineDevice,
  type SessionSettings,
} from '../src/model/engine/sessions.ts';

const { onnx } = onnxProto;
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');
/**
 * Builds measured. int8/int4 use the builder's default MatMulNBits accuracy_level (4: int8 activations, as
 * onnxruntime-genai does on CPU); int4 is also shown at level 0 (exact fp32 activations), which is much slower.
 * (int8 at level 0 is left out: ~3 s per decode step at these widths.)
 */
const BUILDS: { label: string; variant: Variant; accuracyLevel?: number }[] = [
  { label: 'fp32', variant: 'fp32' },
  { label: 'int8', variant: 'int8' },
  { label: 'int4', variant: 'int4' },
  { label: 'int4/acc0', variant: 'int4', accuracyLevel: 0 },
];
const PROMPT_TOKENS = 128;
const DECODE_STEPS = 16;
const VISION_TILES = 2;

const SIZES = {
  vision: { hiddenSize: 1024, numHiddenLayers: 2, numAttentionHeads: 16, intermediateSize: 4096 },
  llm: {
    hiddenSize: 2048,
    numHiddenLayers: 2,
    numAttentionHeads: 16,
    numKeyValueHeads: 8,
    intermediateSize: 8192,
  },
};
const VOCAB = 92553;

/** Execution provider for the whole bench (BENCH_DEVICE=webgpu|cuda on a GPU machine; default cpu). */
function device(): EngineDevice {
  return (process.env.BENCH_DEVICE ?? 'cpu') as EngineDevice;
}

function threads(): number {
  return Number(process.env.BENCH_THREADS ?? defaultEngineThreads());
}

function benchDir(): string {
  const base = process.env.INTERNVL_EVAL_CACHE ?? path.join(os.homedir(), '.cache', 'internvl-eval');
  return path.join(base, 'bench', 'engine-2b-widths-2-layers-v1');
}

// ---------------------------------------------------------------------------------------------------------------
// Floors

function matmulModel(m: number, k: number, n: number): Uint8Array {
  const weights = new Float32Array(k * n);
  for (let i = 0; i < weights.length; i++) weights[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  const FLOAT = 1;
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'bench-engine',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'mm',
      node: [{ opType: 'MatMul', input: ['a', 'w'], output: ['y'], name: 'mm' }],
      input: [
        {
          name: 'a',
          type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: m }, { dimValue: k }] } } },
        },
      ],
      output: [
        {
          name: 'y',
          type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: m }, { dimValue: n }] } } },
        },
      ],
      initializer: [
        {
          name: 'w',
          dataType: FLOAT,
          dims: [k, n],
          rawData: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength),
        },
      ],
    },
  }).finish();
}

async function timeMatMul(
  m: number,
  k: number,
  n: number,
  reps: number,
  settings: SessionSettings,
  /** Runs timed together as one repetition (best of `reps` such groups; the time returned is per run). */
  runsPerRep = 1,
): Promise<number> {
  const session = await ort.InferenceSession.create(matmulModel(m, k, n), sessionOptions(settings));
  const a = new ort.Tensor('float32', new Float32Array(m * k).fill(0.01), [m, k]);
  await session.run({ a });
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < runsPerRep; i++) await session.run({ a });
    best = Math.min(best, (performance.now() - t0) / runsPerRep);
  }
  await session.release();
  return best / 1000;
}

interface Floors {
  matmulFlops: number;
  bandwidth: number;
}

/** The floors, on the same provider and threads as the engine (`settings`). */
export async function measureFloors(
  settings: SessionSettings = { device: device(), threads: threads() },
): Promise<Floors> {
  // Best of 10 each: on this kind of shared VM a single timing swings 2× (docs/engine-bench.md), and a floor is
  // what the machine can do, so the fastest repetition is the one to hold the engine against.
  // Compute: [256, 2048] × [2048, 8192] (the shape of a prefill's w1/w3).
  const s = await timeMatMul(256, 2048, 8192, 10, settings);
  const matmulFlops = (2 * 256 * 2048 * 8192) / s;
  // Memory: GEMV over a 256 MiB fp32 weight (every weight byte read once, as a decode step does), timed 4 runs at a
  // time: 1 GiB per repetition, about what a full-size decode step reads, so the floor's window is as long as the
  // step it is held against (a 5 ms window catches short bursts of bandwidth a 40 ms step cannot).
  const g = await timeMatMul(1, 8192, 8192, 10, settings, 4);
  const bandwidth = (8192 * 8192 * 4) / g;
  return { matmulFlops, bandwidth };
}

// ---------------------------------------------------------------------------------------------------------------
// Per-variant measurement (child process, so peak RSS is the variant's own)

interface VariantFigures {
  variant: string;
  loadMs: number;
  visionMsPerTile: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  peakRssMiB: number;
  decoderWeightBytes: number;
  /** Per decode step: host→device and device→host bytes (0 on CPU), kernels run (all / on the device). */
  hostToDeviceBytesPerStep: number;
  deviceToHostBytesPerStep: number;
  kernelsPerStep: number | null;
  deviceKernelsPerStep: number | null;
}

async function measureVariant(builtDir: string): Promise<VariantFigures> {
  const t0 = performance.now();
  const engine = await InternVLEngine.load(builtDir, {
    device: device(),
    threads: threads(),
    visionBatch: VISION_TILES,
  });
  const loadMs = performance.now() - t0;
  const model = engine.model;
  // Vision: warm up on one tile, then time VISION_TILES tiles in one run.
  const tile = 3 * 448 * 448;
  const pixels = new Float32Array(VISION_TILES * tile);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i * 0.01);
  await encodeImagesAndDiscard(model, pixels.subarray(0, tile), 1);
  let visionMsPerTile = Infinity;
  for (let r = 0; r < 2; r++) {
    const tv = performance.now();
    await encodeImagesAndDiscard(model, pixels, VISION_TILES);
    visionMsPerTile = Math.min(visionMsPerTile, (performance.now() - tv) / VISION_TILES);
  }

  // Prefill + decode through the real generation loop (greedy, stop tokens off).
  const ids = Array.from({ length: PROMPT_TOKENS }, (_, i) => 100 + ((i * 7919) % 90000));
  const run = async (n: number, steps: number) => {
    const p = leftPad([ids.slice(0, n)], 0);
    const embeds = await model.embed(p.inputIds, 1, p.seq);
    return generate(
      model,
      { batch: 1, seq: p.seq, embeds, attentionMask: p.attentionMask, positionIds: p.positionIds },
      [{ maxNewTokens: steps, stopTokenIds: [] }],
      { padTokenId: 0 },
    );
  };
  await run(16, 3); // warm-up
  model.resetCosts();
  // Best of two (other processes may share the cores).
  const a = (await run(PROMPT_TOKENS, DECODE_STEPS + 1)).timings;
  const b = (await run(PROMPT_TOKENS, DECODE_STEPS + 1)).timings;
  const t = {
    prefillMs: Math.min(a.prefillMs, b.prefillMs),
    decodeMs: Math.min(a.decodeMs, b.decodeMs),
    decodeSteps: a.decodeSteps,
  };
  const decoderWeightBytes = fs.statSync(path.join(builtDir, 'decoder.onnx.data')).size;
  const costs = model.decodeCosts();
  await engine.close();
  return {
    variant: engine.info.variant,
    loadMs,
    visionMsPerTile,
    prefillTokensPerSecond: (PROMPT_TOKENS * 1000) / t.prefillMs,
    decodeTokensPerSecond: (t.decodeSteps * 1000) / t.decodeMs,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    decoderWeightBytes,
    hostToDeviceBytesPerStep: costs.hostToDeviceBytesPerStep,
    deviceToHostBytesPerStep: costs.deviceToHostBytesPerStep,
    kernelsPerStep: costs.kernels?.total ?? null,
    deviceKernelsPerStep: costs.kernels?.device ?? null,
  };
}

// ---------------------------------------------------------------------------------------------------------------

async function prepareModels(): Promise<{ setupMs: number; built: Map<string, string> }> {
  const t0 = performance.now();
  const dir = benchDir();
  const ckpt = await benchCheckpoint(path.join(dir, 'checkpoint'), SIZES, 1);
  const built = new Map<string, string>();
  for (const b of BUILDS) {
    const result = await buildModel(ckpt, {
      variant: b.variant,
      ...(b.accuracyLevel !== undefined ? { accuracyLevel: b.accuracyLevel } : {}),
      cacheDir: path.join(dir, 'built'),
    });
    built.set(b.label, result.dir);
  }
  return { setupMs: performance.now() - t0, built };
}

/**
 * FLOPs per prompt token of the decoder's matmuls: linears of every layer, plus the lm_head once per prompt
 * (the graph computes logits at the last position only); attention scores excluded (small at 128 tokens).
 */
function prefillFlopsPerToken(promptTokens: number): number {
  const h = SIZES.llm.hiddenSize;
  const kv = (h / SIZES.llm.numAttentionHeads) * SIZES.llm.numKeyValueHeads;
  const perLayer = h * (h + 2 * kv) + h * h + 3 * h * SIZES.llm.intermediateSize;
  return 2 * (SIZES.llm.numHiddenLayers * perLayer + (h * VOCAB) / promptTokens);
}

/**
 * A random checkpoint of `sizes` with the real tokenizer in `ckpt`, made once (written beside it, then renamed, so
 * an interrupted run never leaves half a checkpoint). Returns `ckpt`.
 */
export async function benchCheckpoint(ckpt: string, sizes: ModelSizes, seed: number): Promise<string> {
  if (fs.existsSync(path.join(ckpt, 'model.safetensors'))) return ckpt;
  const tmp = `${ckpt}.tmp-${process.pid}`;
  await makeTinyCheckpoint(tmp, {
    seed,
    sizes,
    tokenizerDir:
      process.env.BENCH_TOKENIZER_DIR ?? path.resolve(repoRoot, '../shared/fixtures/internlm2-tokenizer'),
  });
  fs.rmSync(ckpt, { recursive: true, force: true });
  fs.renameSync(tmp, ckpt);
  return ckpt;
}

/** FLOPs of the vision encoder per tile: patch embedding, layers (linears + attention), pixel shuffle MLP. */
export function visionFlopsPerTile(sizes: ModelSizes = SIZES): number {
  const v = sizes.vision;
  const h = sizes.llm.hiddenSize;
  const tokens = 1025;
  const d = v.hiddenSize;
  const perLayer = 2 * tokens * (4 * d * d + 2 * d * v.intermediateSize) + 4 * tokens * tokens * d;
  const patch = 2 * 1024 * (3 * 14 * 14) * d;
  const mlp = 2 * 256 * (4 * d * h + h * h);
  return v.numHiddenLayers * perLayer + patch + mlp;
}

const fmt = (x: number, digits = 1) => x.toFixed(digits);

export async function run(): Promise<void> {
  if (process.argv.includes('--full')) {
    const { runFull } = await import('./engine-full.ts');
    return runFull();
  }
  assertDeviceAvailable(device());
  const { setupMs, built } = await prepareModels();
  process.stdout.write(
    `model: InternVL2-2B widths, 2 ViT layers (of 24) + 2 LLM layers (of 24), vocab ${VOCAB}, random weights; ` +
      `device ${device()}, ${threads()} threads; setup ${fmt(setupMs / 1000)} s (cached after the first run)\n`,
  );
  const floors = await measureFloors();
  process.stdout.write(
    `floors: fp32 MatMul [256×2048]·[2048×8192] ${fmt(floors.matmulFlops / 1e9)} GFLOP/s; ` +
      `GEMV bandwidth (256 MiB fp32 weight) ${fmt(floors.bandwidth / 1e9)} GB/s` +
      (device() === 'cpu' ? '\n' : ' (GPU EP: host<->device copies included, so these are loose)\n'),
  );
  const visionFloorMs = (visionFlopsPerTile() / floors.matmulFlops) * 1000;
  const prefillFloor = floors.matmulFlops / prefillFlopsPerToken(PROMPT_TOKENS);
  process.stdout.write(
    'variant   | load s | vision ms/tile (floor) | prefill tok/s @128 (floor) | decode tok/s (floor) | peak RSS MiB | ' +
      'per decode step: host→device B, device→host B, kernels (on device)\n',
  );
  for (const { label } of BUILDS) {
    const dir = built.get(label) as string;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      // From TypeScript through tsx; a bundled copy (bench on a GPU machine) runs as plain JS.
      [
        ...(import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : []),
        fileURLToPath(import.meta.url),
        '--engine-bench-worker',
        dir,
      ],
      { cwd: repoRoot, maxBuffer: 1 << 20, env: { ...process.env } },
    );
    const f = JSON.parse(stdout.trim().split('\n').pop() as string) as VariantFigures;
    const decodeFloor = floors.bandwidth / f.decoderWeightBytes;
    process.stdout.write(
      `${label.padEnd(9)} | ${fmt(f.loadMs / 1000).padStart(6)} | ${fmt(f.visionMsPerTile).padStart(8)} (${fmt(visionFloorMs)}) | ` +
        `${fmt(f.prefillTokensPerSecond).padStart(8)} (${fmt(prefillFloor)}) | ` +
        `${fmt(f.decodeTokensPerSecond).padStart(7)} (${fmt(decodeFloor)}; ${fmt(f.decoderWeightBytes / 2 ** 20, 0)} MiB weights) | ` +
        `${fmt(f.peakRssMiB, 0)} | ${fmt(f.hostToDeviceBytesPerStep, 0)}, ${fmt(f.deviceToHostBytesPerStep, 0)}, ` +
        `${f.kernelsPerStep ?? '?'} (${f.deviceKernelsPerStep ?? '?'})\n`,
    );
  }
  process.stdout.write(
    '2 of 24 layers: for the full model run `npm run bench -- engine --full` (engine-full.ts).\n',
  );
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain && process.argv[2] === '--engine-bench-worker') {
  const figures = await measureVariant(process.argv[3]);
  process.stdout.write(`${JSON.stringify(figures)}\n`);
} else if (isMain) {
  await run();
}
