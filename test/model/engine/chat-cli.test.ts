/**
 * `internvl-eval chat --json` with the REAL InternLM2 tokenizer on a tiny checkpoint: the prompt ids of a
 * single-image question must be exactly the reference's — BOS, the internlm2-chat template, `<img>`,
 * 256 `<IMG_CONTEXT>` per tile, `</img>`, the question. The expected ids are assembled here from the golden pieces
 * made by scripts/make-engine-prompt-golden.py (Python sentencepiece, independent of our tokenizer).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyCheckpoint } from '../../../src/model/checkpoint/tiny.ts';
import { buildModel } from '../../../src/model/graph/build.ts';
import { InternVLEngine } from '../../../src/model/engine/engine.ts';
import { preprocessImage } from '../../../src/model/inputs/image-preprocess.ts';

import { Rng } from '../../../src/datasets/synthetic/rng.ts';
import { makeMovingSquare, writeMp4 } from '../../../src/datasets/synthetic/video.ts';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const tokenizerDir = path.resolve(repoRoot, '../shared/fixtures/internlm2-tokenizer');

interface Golden {
  question: string;
  bos: number;
  before_image: number[];
  after_image: number[];
  img_start: number;
  img_end: number;
  img_context: number;
  num_image_token: number;
}

let root: string;
let builtDir: string;
let imageFile: string;
let golden: Golden;

beforeAll(async () => {
  golden = JSON.parse(await readFile(path.join(here, 'fixtures/single-image-prompt.json'), 'utf8')) as Golden;
  root = await mkdtemp(path.join(os.tmpdir(), 'engine-cli-'));
  const ckpt = await makeTinyCheckpoint(path.join(root, 'ckpt'), { seed: 9, tokenizerDir });
  builtDir = (await buildModel(ckpt.dir, { variant: 'fp32', outDir: path.join(root, 'built') })).dir;
  imageFile = path.join(root, 'wide.png');
  const raw = Buffer.alloc(896 * 448 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7) % 251;
  await writeFile(
    imageFile,
    await sharp(raw, { raw: { width: 896, height: 448, channels: 3 } })
      .png()
      .toBuffer(),
  );
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [path.join(repoRoot, 'bin/internvl-eval.js'), 'chat', ...args],
    {
      cwd: repoRoot,
      maxBuffer: 64 << 20,
    },
  );
  return stdout;
}

describe('internvl-eval chat (real tokenizer)', () => {
  it('--json input_ids of a single-image question are exactly the reference prompt; --dump-logits writes them', async () => {
    const logitsFile = path.join(root, 'logits.bin');
    const out = await cli([
      '--model',
      builtDir,
      '--image',
      imageFile,
      '--max-tiles',
      '2',
      '--max-new-tokens',
      '3',
      '--threads',
      '1',
      '--json',
      '--dump-logits',
      logitsFile,
      golden.question,
    ]);
    const json = JSON.parse(out) as {
      input_ids: number[];
      output_ids: number[];
      text: string;
      tiles: number[];
      timings: Record<string, number>;
    };
    // 896×448 with max 2 tiles → grid 2×1, plus the thumbnail.
    expect(json.tiles).toEqual([3]);
    const tiles = 3;
    const expected = [
      golden.bos,
      ...golden.before_image,
      golden.img_start,
      ...new Array<number>(golden.num_image_token * tiles).fill(golden.img_context),
      golden.img_end,
      ...golden.after_image,
    ];
    expect(json.input_ids).toEqual(expected);
    expect(json.output_ids.length).toBeGreaterThan(0);
    expect(json.output_ids.length).toBeLessThanOrEqual(3);
    expect(json.timings.prefill_ms).toBeGreaterThan(0);
    expect(json.timings.threads).toBe(1); // --threads 1
    expect(json.timings.kv_cache).toBe('in-place'); // the CPU default: the C API binds the cache as past and present
    expect(json.timings.decode_context_tokens).toBe(json.input_ids.length);
    // Decode-step costs: nothing crosses host<->device on the CPU provider; kernels are counted once a step ran.
    expect(json.timings.host_to_device_bytes_per_decode_step).toBe(0);
    expect(json.timings.device_to_host_bytes_per_decode_step).toBe(0);
    if (json.output_ids.length > 1) expect(json.timings.kernels_per_decode_step).toBeGreaterThan(0);
    expect(json.timings).toHaveProperty('device_kernels_per_decode_step');

    // The dump holds the vocab-sized float32 LE logits at the last prompt position, equal to an in-process run.
    const bytes = await readFile(logitsFile);
    const engine = await InternVLEngine.load(builtDir, { threads: 1 });
    try {
      expect(bytes.length).toBe(engine.info.llm.vocab * 4);
      const dumped = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
      const image = await preprocessImage(new Uint8Array(await readFile(imageFile)), {
        maxTiles: 2,
        useThumbnail: true,
      });
      const direct = await engine.chat({
        question: golden.question,
        images: [image],
        keepPromptLogits: true,
        generation: { maxNewTokens: 3 },
      });
      expect(direct.inputIds).toEqual(expected);
      expect(Array.from(dumped)).toEqual(Array.from(direct.promptLogits!));
      expect(json.output_ids).toEqual(direct.outputIds);
      expect(json.text).toBe(direct.text);
    } finally {
      await engine.close();
    }
  });

  it('--video samples frames, asks about each as FrameK: <image> with one tile, and answers', async () => {
    const video = path.join(root, 'square.mp4');
    const clip = makeMovingSquare(new Rng(3), 24, 8);
    await writeMp4(clip.frames, clip.fps, video);
    const out = JSON.parse(
      await cli([
        '--model',
        builtDir,
        '--video',
        video,
        '--frames',
        '4',
        '--max-new-tokens',
        '3',
        '--json',
        'Where does it go?',
      ]),
    ) as { input_ids: number[]; tiles: number[]; text: string };
    // Video frames are tiled with max_num 1 (no thumbnail): one tile of 256 context tokens per frame.
    expect(out.tiles).toEqual([1, 1, 1, 1]);
    expect(out.input_ids.filter((id) => id === golden.img_context)).toHaveLength(4 * golden.num_image_token);
    expect(out.input_ids.filter((id) => id === golden.img_start)).toHaveLength(4);
    expect(typeof out.text).toBe('string');
  });

  it('--stream prints the same reply text as chat()', async () => {
    const streamed = await cli([
      '--model',
      builtDir,
      '--max-new-tokens',
      '6',
      '--threads',
      '1',
      '--stream',
      'Say something',
    ]);
    const engine = await InternVLEngine.load(builtDir, { threads: 1 });
    try {
      const direct = await engine.chat({ question: 'Say something', generation: { maxNewTokens: 6 } });
      expect(streamed).toBe(`${direct.text}\n`);
    } finally {
      await engine.close();
    }
  });
});
