// WebGPU parity check (run on a GPU machine): the tiny checkpoint and synthetic tasks through the whole runner on
// cpu and webgpu, fp32 and int4; predictions compared sample by sample and last-position logits on one image prompt.
// Usage: node --import tsx scripts/gpu/webgpu-parity.mts DATA_DIR   (DATA_DIR: a makeSyntheticSuite output; OUT: report dir)
import { readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { makeTinyCheckpoint } from '../../src/model/checkpoint/tiny.ts';
import { InternVLEngine } from '../../src/model/engine/engine.ts';
import { preprocessImage } from '../../src/model/inputs/image-preprocess.ts';
import { runEvaluation } from '../../src/runner/run-evaluation.ts';

const out = process.env.OUT ?? '/tmp/out';
const work = '/tmp/gpucheck';
rmSync(work, { recursive: true, force: true }); // a fresh check each time
mkdirSync(work, { recursive: true });
const log: string[] = [];
const say = (s: string) => {
  log.push(s);
  console.log(s);
  writeFileSync(path.join(out, 'gpu-check.txt'), log.join('\n') + '\n');
};
const model = path.join(work, 'model');
await makeTinyCheckpoint(model, { seed: 0 });
// The synthetic suite, made beforehand (the GPU machine has no fonts/canvas needs this way): argv[2].
const data = path.resolve(process.argv[2] ?? '.gpu/data');
const tasks = [
  'synth_docvqa',
  'synth_chartqa_human',
  'synth_chartqa_augmented',
  'synth_textvqa',
  'synth_mmbench',
  'synth_mme',
  'synth_refcoco',
  'synth_ocrbench_json',
];
const runs: Record<string, string> = {};
for (const [name, device, variant] of [
  ['cpu-fp32', 'cpu', 'fp32'],
  ['webgpu-fp32', 'webgpu', 'fp32'],
  ['webgpu-int4', 'webgpu', 'int4'],
  ['cpu-int4', 'cpu', 'int4'],
] as const) {
  const t0 = performance.now();
  const dir = path.join(work, 'runs', name);
  try {
    const s = await runEvaluation({
      model,
      tasks,
      engine: { variant, device },
      backend: 'onnx',
      configDir: path.join(data, 'configs/tasks'),
      dataRoot: data,
      out: dir,
      progress: 'none',
      batchSize: 4,
    });
    runs[name] = dir;
    say(
      `${name}: ${s.status} in ${((performance.now() - t0) / 1000).toFixed(1)} s; errors ${s.tasks.reduce((a, t) => a + t.score.errors, 0)}; samples/s ${s.tasks.map((t) => `${t.task}=${t.score.samplesPerSec.toFixed(1)}`).join(' ')}`,
    );
  } catch (e) {
    say(`${name}: FAILED ${(e as Error).stack}`);
  }
}
const preds = (dir: string, task: string) =>
  new Map(
    readFileSync(path.join(dir, 'predictions', `${task}.jsonl`), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .map((r) => [r.id, r]),
  );
for (const [a, b] of [
  ['cpu-fp32', 'webgpu-fp32'],
  ['cpu-int4', 'webgpu-int4'],
  ['cpu-fp32', 'cpu-int4'],
]) {
  if (!runs[a] || !runs[b]) continue;
  let same = 0,
    total = 0,
    errs = 0;
  const diffs: string[] = [];
  for (const t of tasks) {
    const pa = preds(runs[a], t),
      pb = preds(runs[b], t);
    for (const [id, ra] of pa) {
      const rb = pb.get(id);
      total++;
      if (ra.error || rb?.error) errs++;
      if (rb && ra.prediction === rb.prediction) same++;
      else if (diffs.length < 5)
        diffs.push(`${t}/${id}: ${JSON.stringify(ra.prediction)} vs ${JSON.stringify(rb?.prediction)}`);
    }
  }
  say(
    `${a} vs ${b}: identical predictions ${same}/${total}, error records ${errs}${diffs.length ? '; e.g. ' + diffs.join('; ') : ''}`,
  );
}
// Logits on one image prompt, cpu vs webgpu fp32.
const imgDir = path.join(data, 'data/coco/train2014');
const img = readFileSync(
  path.join(
    imgDir,
    readdirSync(imgDir)
      .filter((f) => /\.(png|jpg)$/.test(f))
      .sort()[0],
  ),
);
const pre = await preprocessImage(img, { maxTiles: 6, useThumbnail: true });
const logits: Record<string, Float32Array> = {};
for (const device of ['cpu', 'webgpu'] as const) {
  try {
    const e = await InternVLEngine.load(model, { device, variant: 'fp32' });
    const r = await e.chat({
      question: 'What is in the image?',
      images: [pre],
      keepPromptLogits: true,
      generation: { maxNewTokens: 8 },
    });
    logits[device] = r.promptLogits!;
    say(
      `${device}: tiles ${JSON.stringify(r.tiles)}, output ids ${JSON.stringify(r.outputIds)}, timings ${JSON.stringify(r.timings)}`,
    );
    await e.close();
  } catch (err) {
    say(`${device} engine: FAILED ${(err as Error).stack}`);
  }
}
if (logits.cpu && logits.webgpu) {
  const a = logits.cpu,
    b = logits.webgpu;
  let maxAbs = 0,
    maxRef = 0,
    dot = 0,
    na = 0,
    nb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
    maxRef = Math.max(maxRef, Math.abs(a[i]));
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  say(
    `logits cpu vs webgpu (${n} values): max abs diff ${maxAbs.toExponential(3)}, relative to max |logit| ${(maxAbs / maxRef).toExponential(3)}, cosine ${(dot / Math.sqrt(na * nb)).toFixed(8)}`,
  );
}
