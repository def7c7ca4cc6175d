// One-shot GPU bench for device residency (issue 15), for a lent GPU machine with no network. Sized to finish in
// under 8 minutes (a deadline skips what would not fit, saying so). It:
//   1. makes the full-size random checkpoint (InternVL2-2B shapes, 24 + 24 layers, real tokenizer) and builds
//      fp32, fp16 (fp16 compute) and int4 (fp16 compute) in parallel child processes;
//   2. per variant, in its own process (webgpu, and cuda when its provider libraries are present): vision ms/tile
//      over 13 tiles, prefill tok/s at ~1800 tokens, decode tok/s at batch 1 (context ~1800) and batch 8
//      (context ~300), host<->device bytes and kernels per decode step;
//   3. on the tiny checkpoint: fp16-compute vs fp32 greedy agreement and max logit difference on WebGPU.
// Prints a table as it goes and writes $OUT/residency-bench.json.
//
// Run from the repo:   node --import tsx scripts/gpu/residency-bench.mts
// or as the bundle that scripts/gpu/pack-residency-bench.sh prepares (no tsx, no network needed there).
// Env: BENCH_TOKENIZER (tokenizer.model; default: next to the bundle, or ../shared/fixtures/internlm2-tokenizer),
//      BENCH_WORK (scratch folder, default /tmp/residency-bench), BENCH_DEADLINE_S (default 450), OUT.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { INTERNVL2_2B_SIZES } from '../../src/model/checkpoint/internvl2-files.ts';
import { makeTinyCheckpoint, TINY_SIZES } from '../../src/model/checkpoint/tiny.ts';
import { encodeImagesAndDiscard } from '../../src/model/engine/device-prompt.ts';
import { InternVLEngine } from '../../src/model/engine/engine.ts';
import { generate } from '../../src/model/engine/generate.ts';
import { leftPad } from '../../src/model/engine/padding.ts';
import { assertDeviceAvailable, type EngineDevice } from '../../src/model/engine/sessions.ts';
import { buildModel } from '../../src/model/graph/build.ts';
import type { ComputeDtype } from '../../src/model/graph/compute-dtype.ts';
import type { Variant } from '../../src/model/graph/variants.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const work = process.env.BENCH_WORK ?? '/tmp/residency-bench';
const out = process.env.OUT ?? work;
const started = Date.now();
const deadlineMs = Number(process.env.BENCH_DEADLINE_S ?? 450) * 1000;
const left = () => deadlineMs - (Date.now() - started);

const BUILDS: { label: string; variant: Variant; compute: ComputeDtype }[] = [
  { label: 'fp32', variant: 'fp32', compute: 'fp32' },
  { label: 'fp16', variant: 'fp16', compute: 'fp16' },
  { label: 'int4', variant: 'int4', compute: 'fp16' },
];
// BENCH_SMOKE=1: tiny widths and short runs, to check the plumbing (bundle, builds, children) on any machine.
const SMOKE = process.env.BENCH_SMOKE === '1';
const SIZES = SMOKE ? TINY_SIZES : INTERNVL2_2B_SIZES;
const VISION_TILES = SMOKE ? 1 : 13;
const LONG_PROMPT = SMOKE ? 100 : 1800;
const SHORT_PROMPT = SMOKE ? 40 : 300;
const DECODE_STEPS = SMOKE ? 4 : 32;

interface Figures {
  label: string;
  device: EngineDevice;
  loadS: number;
  visionMsPerTile: number;
  prefillTokensPerSecond: number;
  decodeBatch1: number;
  decodeBatch8: number;
  hostToDeviceBytesPerStep: number;
  deviceToHostBytesPerStep: number;
  kernelsPerStep: number | null;
  deviceKernelsPerStep: number | null;
  skipped: string[];
}

function tokenizerDir(): string {
  const candidates = [
    process.env.BENCH_TOKENIZER ? path.dirname(process.env.BENCH_TOKENIZER) : '',
    here,
    path.resolve(here, '../../../shared/fixtures/internlm2-tokenizer'),
    path.resolve(here, '../../shared/fixtures/internlm2-tokenizer'),
  ].filter(Boolean);
  const hit = candidates.find((d) => fs.existsSync(path.join(d, 'tokenizer.model')));
  if (!hit) throw new Error(`no tokenizer.model in ${candidates.join(', ')} (set BENCH_TOKENIZER)`);
  return hit;
}

const say = (line: string) => {
  process.stdout.write(`${line}\n`);
  fs.appendFileSync(path.join(out, 'residency-bench.txt'), `${line}\n`);
};

/** Self as a child process: `--build LABEL` or `--measure LABEL DIR DEVICE`. */
async function child(args: string[]): Promise<string> {
  const self = fileURLToPath(import.meta.url);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...(self.endsWith('.mts') ? ['--import', 'tsx'] : []), self, ...args],
    { maxBuffer: 1 << 24, env: process.env, timeout: Math.max(10_000, left()) },
  );
  return stdout.trim().split('\n').pop() as string;
}

async function buildOne(label: string): Promise<string> {
  const b = BUILDS.find((x) => x.label === label)!;
  const r = await buildModel(path.join(work, 'full-ckpt'), {
    variant: b.variant,
    compute: b.compute,
    cacheDir: path.join(work, 'built'),
  });
  return r.dir;
}

function ids(n: number, salt: number): number[] {
  // Plain text pieces of the real vocabulary (ids 1000..90000), BOS first.
  return [1, ...Array.from({ length: n - 1 }, (_, i) => 1000 + ((i * 7919 + salt * 104729) % 89000))];
}

async function measure(label: string, dir: string, device: EngineDevice): Promise<Figures> {
  const skipped: string[] = [];
  const t0 = performance.now();
  const engine = await InternVLEngine.load(dir, { device, threads: os.availableParallelism() });
  const loadS = (performance.now() - t0) / 1000;
  const model = engine.model;
  const tile = 3 * 448 * 448;
  const pixels = new Float32Array(VISION_TILES * tile);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i * 0.01);
  await encodeImagesAndDiscard(model, pixels.subarray(0, tile), 1);
  const tv = performance.now();
  await encodeImagesAndDiscard(model, pixels, VISION_TILES);
  const visionMsPerTile = (performance.now() - tv) / VISION_TILES;

  const run = async (rows: number[][], steps: number) => {
    const p = leftPad(rows, 2);
    const embeds = await model.embed(p.inputIds, p.batch, p.seq);
    return generate(
      model,
      { batch: p.batch, seq: p.seq, embeds, attentionMask: p.attentionMask, positionIds: p.positionIds },
      rows.map(() => ({ maxNewTokens: steps, stopTokenIds: [] })),
      { padTokenId: 2 },
    );
  };
  await run([ids(Math.min(100, LONG_PROMPT), 0)], 3); // warm-up: shaders for prefill chunks and decode at batch 1
  model.resetCosts();
  const long = (await run([ids(LONG_PROMPT, 1)], DECODE_STEPS + 1)).timings;
  const costs = model.decodeCosts();
  let decodeBatch8 = NaN;
  if (left() > 60_000) {
    const rows = Array.from({ length: 8 }, (_, b) => ids(SHORT_PROMPT - b, b + 2));
    await run(
      rows.map((r) => r.slice(0, 20)),
      2,
    ); // warm-up at batch 8
    const t = (await run(rows, DECODE_STEPS + 1)).timings;
    decodeBatch8 = (8 * t.decodeSteps * 1000) / t.decodeMs;
  } else skipped.push('decode at batch 8 (deadline)');
  await engine.close();
  return {
    label,
    device,
    loadS,
    visionMsPerTile,
    prefillTokensPerSecond: (LONG_PROMPT * 1000) / long.prefillMs,
    decodeBatch1: (long.decodeSteps * 1000) / long.decodeMs,
    decodeBatch8,
    hostToDeviceBytesPerStep: costs.hostToDeviceBytesPerStep,
    deviceToHostBytesPerStep: costs.deviceToHostBytesPerStep,
    kernelsPerStep: costs.kernels?.total ?? null,
    deviceKernelsPerStep: costs.kernels?.device ?? null,
    skipped,
  };
}

/** fp16-compute vs fp32 on the tiny checkpoint (WebGPU): greedy ids and last-prompt-position logits. */
async function tinyAgreement(): Promise<string> {
  const ckpt = await makeTinyCheckpoint(path.join(work, 'tiny-ckpt'), { seed: 3 });
  const cacheDir = path.join(work, 'tiny-built');
  const a = await InternVLEngine.load(ckpt.dir, { device: 'webgpu', cacheDir });
  const b = await InternVLEngine.load(ckpt.dir, { device: 'webgpu', cacheDir, compute: 'fp16' });
  try {
    const questions = [
      'Hello there',
      'Describe the weather in three words.',
      'What is 2 + 2?',
      'Tell me a story',
    ];
    let same = 0;
    let maxAbs = 0;
    let maxLogit = 0;
    for (const q of questions) {
      const req = { question: q, keepPromptLogits: true, generation: { maxNewTokens: 16, stopTokens: [] } };
      const [x, y] = [await a.chat(req), await b.chat(req)];
      if (JSON.stringify(x.outputIds) === JSON.stringify(y.outputIds)) same++;
      for (let i = 0; i < x.promptLogits!.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(x.promptLogits![i] - y.promptLogits![i]));
        maxLogit = Math.max(maxLogit, Math.abs(x.promptLogits![i]));
      }
    }
    return (
      `tiny checkpoint, WebGPU: fp16-compute greedy ids = fp32 on ${same}/${questions.length} prompts (16 tokens); ` +
      `max |logit diff| at the last prompt position ${maxAbs.toExponential(2)} (max |logit| ${maxLogit.toFixed(2)})`
    );
  } finally {
    await a.close();
    await b.close();
  }
}

/** The end of a child's stderr (its error), not the command line execFile puts first. */
function failure(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  const text = (e.stderr || e.message || String(err)).trim().split('\n');
  return text
    .filter((l) => !/VerifyEachNodeIsAssignedToAnEp|XDG_RUNTIME_DIR/.test(l))
    .slice(-3)
    .join(' | ')
    .slice(-400);
}

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');

async function main(): Promise<void> {
  fs.mkdirSync(work, { recursive: true });
  fs.mkdirSync(out, { recursive: true });
  say(
    `residency bench: ${os.cpus()[0]?.model ?? '?'} ×${os.availableParallelism()}, node ${process.version}`,
  );
  const devices: EngineDevice[] = ['webgpu'];
  try {
    assertDeviceAvailable('cuda');
    devices.push('cuda');
  } catch (err) {
    say(`cuda: not measured (${(err as Error).message.slice(0, 160)}…)`);
  }
  const ckptDir = path.join(work, 'full-ckpt');
  if (!fs.existsSync(path.join(ckptDir, 'model.safetensors'))) {
    const t = performance.now();
    await makeTinyCheckpoint(ckptDir, { seed: 1, sizes: SIZES, tokenizerDir: tokenizerDir() });
    say(
      `${SMOKE ? 'SMOKE (tiny widths)' : 'full-size'} random checkpoint: ${fmt((performance.now() - t) / 1000)} s`,
    );
  }
  const tb = performance.now();
  const dirs = new Map<string, string>();
  const results = await Promise.allSettled(BUILDS.map((b) => child(['--build', b.label])));
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') dirs.set(BUILDS[i].label, r.value);
    else say(`build ${BUILDS[i].label} failed: ${failure(r.reason)}`);
  });
  say(`builds (in parallel): ${fmt((performance.now() - tb) / 1000)} s`);

  const all: Figures[] = [];
  say(
    `device | variant | load s | vision ms/tile (${VISION_TILES}) | prefill tok/s @${LONG_PROMPT} | ` +
      `decode tok/s b1 @${LONG_PROMPT} | decode tok/s b8 @${SHORT_PROMPT} | ` +
      'per decode step: host→device B, device→host B, kernels (device)',
  );
  for (const device of devices) {
    for (const b of BUILDS) {
      const dir = dirs.get(b.label);
      if (!dir) continue;
      if (left() < 45_000) {
        say(`${device} ${b.label}: not measured (deadline)`);
        continue;
      }
      try {
        const f = JSON.parse(await child(['--measure', b.label, dir, device])) as Figures;
        all.push(f);
        say(
          `${device} | ${b.label} | ${fmt(f.loadS)} | ${fmt(f.visionMsPerTile)} | ${fmt(f.prefillTokensPerSecond)} | ` +
            `${fmt(f.decodeBatch1)} | ${fmt(f.decodeBatch8)} | ${fmt(f.hostToDeviceBytesPerStep, 0)}, ` +
            `${fmt(f.deviceToHostBytesPerStep, 0)}, ${f.kernelsPerStep ?? '?'} (${f.deviceKernelsPerStep ?? '?'})` +
            (f.skipped.length ? ` [skipped: ${f.skipped.join('; ')}]` : ''),
        );
      } catch (err) {
        say(`${device} ${b.label}: failed: ${failure(err)}`);
      }
    }
  }
  let agreement = 'not run (deadline)';
  if (left() > 20_000) {
    try {
      agreement = await tinyAgreement();
    } catch (err) {
      agreement = `failed: ${(err as Error).message.slice(0, 300)}`;
    }
  }
  say(agreement);
  fs.writeFileSync(
    path.join(out, 'residency-bench.json'),
    JSON.stringify({ figures: all, agreement, seconds: (Date.now() - started) / 1000 }, null, 2),
  );
  say(`done in ${fmt((Date.now() - started) / 1000)} s`);
}

const [flag, a1, a2, a3] = process.argv.slice(2);
if (flag === '--build') process.stdout.write(`${await buildOne(a1)}\n`);
else if (flag === '--measure')
  process.stdout.write(`${JSON.stringify(await measure(a1, a2, a3 as EngineDevice))}\n`);
else await main();
