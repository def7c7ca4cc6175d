import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint, type Checkpoint } from '../../../src/model/checkpoint/checkpoint.ts';
import { randomTensors } from '../../../src/model/checkpoint/random-weights.ts';
import { writeSafetensors } from '../../../src/model/checkpoint/safetensors.ts';
import { makeTinyCheckpoint } from '../../../src/model/checkpoint/tiny.ts';
import { makeTinyTokenizer } from '../../../src/model/inputs/tiny-tokenizer.ts';
import { tempDir } from './helpers.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fixtureTokenizer = path.resolve(repoRoot, '../shared/fixtures/internlm2-tokenizer');

describe('makeTinyCheckpoint with the real InternLM2 tokenizer', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let ckpt: Checkpoint;
  beforeAll(async () => {
    tmp = await tempDir('tiny-');
    await makeTinyCheckpoint(path.join(tmp.dir, 'a'), { seed: 0, tokenizerDir: fixtureTokenizer });
    ckpt = await openCheckpoint(path.join(tmp.dir, 'a'));
  });
  afterAll(async () => {
    await ckpt?.close();
    await tmp?.cleanup();
  });

  it('opens and validates as an InternVL2 checkpoint with the real keys and tile geometry', () => {
    const c = ckpt.config;
    expect(c).toMatchObject({
      architectures: ['InternVLChatModel'],
      modelType: 'internvl_chat',
      template: 'internlm2-chat',
      psVersion: 'v2',
      downsampleRatio: 0.5,
      imageSize: 448,
      numImageToken: 256,
      useThumbnail: true,
      dynamicImageSize: true,
      maxDynamicPatch: 12,
      minDynamicPatch: 1,
      selectLayer: -1,
    });
    expect(c.vision).toMatchObject({
      hiddenSize: 32,
      numHiddenLayers: 2,
      numAttentionHeads: 2,
      patchSize: 14,
    });
    expect(c.llm).toMatchObject({
      hiddenSize: 64,
      numHiddenLayers: 2,
      numAttentionHeads: 4,
      numKeyValueHeads: 2,
    });
    expect(c.llm.headDim).toBe(16);
    expect(c.llm.vocabSize).toBe(92553);
    expect(c.raw['vision_config']).toMatchObject({ model_type: 'intern_vit_6b', norm_type: 'layer_norm' });
    expect(c.raw['llm_config']).toMatchObject({
      architectures: ['InternLM2ForCausalLM'],
      rope_theta: 1000000,
    });
    expect(ckpt.extraTensorNames).toEqual([]);
    expect(new Set(ckpt.tensorNames.map((n) => ckpt.tensor(n).dtype))).toEqual(new Set(['BF16']));
  });

  it('copies tokenizer.model and writes InternVL2-2B special tokens', async () => {
    // Buffer.equals: vitest's deep equality on megabyte buffers is pathologically slow.
    const copied = await readFile(ckpt.files.tokenizerModel!);
    expect(copied.equals(await readFile(path.join(fixtureTokenizer, 'tokenizer.model')))).toBe(true);
    const tc = JSON.parse(await readFile(ckpt.files.tokenizerConfig!, 'utf8'));
    expect(tc.added_tokens_decoder['92542'].content).toBe('<|im_end|>');
    expect(tc.added_tokens_decoder['92546'].content).toBe('<IMG_CONTEXT>');
    expect(tc.added_tokens_decoder['92552'].content).toBe('</box>');
    expect(Object.keys(tc.added_tokens_decoder)).toHaveLength(18);
    expect(JSON.parse(await readFile(ckpt.files.addedTokens!, 'utf8'))['<img>']).toBe(92544);
    expect(ckpt.files.generationConfig).not.toBeNull();
  });

  it('weights stay in a sane range: layer scales in [0.1, 1], norms near 1', async () => {
    const ls = await ckpt.tensor('vision_model.encoder.layers.1.ls2').toFloat32();
    expect(Math.min(...ls)).toBeGreaterThanOrEqual(0.1);
    expect(Math.max(...ls)).toBeLessThanOrEqual(1);
    const norm = await ckpt.tensor('language_model.model.norm.weight').toFloat32();
    expect(norm.every((v) => v > 0.5 && v < 1.5)).toBe(true);
  });

  it('is deterministic in the seed (small tokenizer keeps this fast)', async () => {
    const make = async (name: string, seed: number) => {
      await makeTinyCheckpoint(path.join(tmp.dir, name), { seed });
      return readFile(path.join(tmp.dir, name, 'model.safetensors'));
    };
    const first = await make('b', 0);
    expect((await make('c', 0)).equals(first)).toBe(true);
    expect((await make('d', 7)).equals(first)).toBe(false);
    const [c, d] = await Promise.all([
      openCheckpoint(path.join(tmp.dir, 'c')),
      openCheckpoint(path.join(tmp.dir, 'd')),
    ]);
    expect(await c.hash()).not.toBe(await d.hash());
    await Promise.all([c.close(), d.close()]);
  });

  it('is streamed: the file equals the in-memory writer of the same random tensors, byte for byte', async () => {
    const made = await makeTinyCheckpoint(path.join(tmp.dir, 'e'), { seed: 2 });
    const whole = path.join(tmp.dir, 'e-whole.safetensors');
    await writeSafetensors(whole, randomTensors(made.config, 2), { format: 'pt' });
    expect((await readFile(path.join(made.dir, 'model.safetensors'))).equals(await readFile(whole))).toBe(
      true,
    );
  });

  it('rejects a tokenizer folder without tokenizer.model', async () => {
    await expect(makeTinyCheckpoint(path.join(tmp.dir, 'e'), { tokenizerDir: tmp.dir })).rejects.toThrow(
      `${path.join(tmp.dir, 'tokenizer.model')}: no tokenizer.model in --tokenizer folder`,
    );
  });
});

describe('makeTinyCheckpoint with the self-made tiny tokenizer (default)', () => {
  it('writes its tokenizer, sizes the vocabulary to it and stops generation on its <|im_end|>', async () => {
    const tmp = await tempDir('tiny-tok-');
    try {
      const made = await makeTinyCheckpoint(tmp.dir, { seed: 3 });
      const tok = makeTinyTokenizer();
      expect(made.vocabSize).toBe(tok.vocabSize);
      const ckpt = await openCheckpoint(tmp.dir);
      expect(ckpt.config.llm.vocabSize).toBe(tok.vocabSize);
      expect(ckpt.tensor('language_model.output.weight').shape).toEqual([tok.vocabSize, 64]);
      expect(Buffer.from(await readFile(ckpt.files.tokenizerModel!)).equals(Buffer.from(tok.model))).toBe(
        true,
      );
      const tc = JSON.parse(await readFile(ckpt.files.tokenizerConfig!, 'utf8'));
      const imEnd = Object.entries(tc.added_tokens_decoder).find(
        ([, v]) => (v as { content: string }).content === '<|im_end|>',
      );
      const gen = JSON.parse(await readFile(ckpt.files.generationConfig!, 'utf8'));
      expect(gen.eos_token_id).toEqual([Number(imEnd![0]), 2]);
      await ckpt.close();
    } finally {
      await tmp.cleanup();
    }
  });
});
