import { describe, expect, it } from 'vitest';
import { parseInternVLConfig } from '../../../src/model/checkpoint/config.ts';
import {
  INTERNVL2_2B_SIZES,
  INTERNVL2_VOCAB_SIZE,
  internVL2ConfigJson,
} from '../../../src/model/checkpoint/internvl2-files.ts';
import { expectedTensors } from '../../../src/model/checkpoint/tensor-names.ts';

const real = () => internVL2ConfigJson(INTERNVL2_2B_SIZES, INTERNVL2_VOCAB_SIZE) as Record<string, any>;

describe('parseInternVLConfig on the InternVL2-2B config', () => {
  const c = parseInternVLConfig(real());
  it('derives the computed sizes', () => {
    expect(c.numImageToken).toBe(256);
    expect(c.imageSize).toBe(448);
    expect(c.shuffledGridSize).toBe(16);
    expect(c.mlp1InputSize).toBe(4096);
    expect(c.vision).toMatchObject({
      headDim: 64,
      gridSize: 32,
      numPositions: 1025,
      layersUsed: 24,
      qkvBias: true,
    });
    expect(c.llm).toMatchObject({
      headDim: 128,
      kvGroups: 2,
      qkvRows: 4096,
      ropeTheta: 1e6,
      rmsNormEps: 1e-5,
    });
    expect(c.llm.ropeScaling).toEqual({ type: 'dynamic', factor: 2 });
    expect(c).toMatchObject({
      psVersion: 'v2',
      template: 'internlm2-chat',
      maxDynamicPatch: 12,
      useThumbnail: true,
    });
  });

  it('implies the A.4 tensor list (InternVL2-2B ≈ 2.206 B parameters)', () => {
    const list = expectedTensors(c);
    const params = list.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
    expect(params / 1e9).toBeCloseTo(2.206, 2);
    const byName = new Map(list.map((t) => [t.name, t.shape]));
    expect(byName.get('language_model.model.layers.23.attention.wqkv.weight')).toEqual([4096, 2048]);
    expect(byName.get('vision_model.embeddings.position_embedding')).toEqual([1, 1025, 1024]);
    expect(byName.get('mlp1.1.weight')).toEqual([2048, 4096]);
    expect(byName.get('language_model.output.weight')).toEqual([92553, 2048]);
    expect(list.length).toBe(4 + 24 * 14 + 6 + 1 + 24 * 7 + 2);
  });
});

describe('class defaults (not InternVL2-2B values) when keys are absent', () => {
  it('ps_version defaults to v1, max_dynamic_patch to 6, select_layer to -1', () => {
    const j = real();
    delete j.ps_version;
    delete j.max_dynamic_patch;
    delete j.select_layer;
    delete j.use_thumbnail;
    const c = parseInternVLConfig(j);
    expect(c).toMatchObject({ psVersion: 'v1', maxDynamicPatch: 6, selectLayer: -1, useThumbnail: false });
  });

  it('norm_type defaults to rms_norm, which is rejected', () => {
    const j = real();
    delete j.vision_config.norm_type;
    expect(() => parseInternVLConfig(j, 'x/config.json')).toThrow(
      'x/config.json: config key "vision_config.norm_type": "rms_norm" is not supported (InternViT-6B only); expected "layer_norm"',
    );
  });

  it('num_key_value_heads defaults to num_attention_heads (MHA)', () => {
    const j = real();
    delete j.llm_config.num_key_value_heads;
    expect(parseInternVLConfig(j).llm).toMatchObject({ numKeyValueHeads: 16, kvGroups: 1, qkvRows: 6144 });
  });
});

describe('select_layer', () => {
  it.each([
    [-1, 24],
    [-2, 23],
    [-24, 1],
    [5, 5],
    [24, 24],
  ])('%s uses %s layers', (sel, used) => {
    const j = real();
    j.select_layer = sel;
    expect(parseInternVLConfig(j).vision.layersUsed).toBe(used);
  });
  it.each([0, -25, 25])('%s is rejected', (sel) => {
    const j = real();
    j.select_layer = sel;
    expect(() => parseInternVLConfig(j)).toThrow(
      `config key "select_layer": ${sel} does not select an encoder layer output`,
    );
  });
});

describe('bad config keys: error names the key', () => {
  const cases: Array<[string, (j: Record<string, any>) => void, string]> = [
    ['wrong type', (j) => (j.llm_config.hidden_size = '2048'), 'config key "llm_config.hidden_size": '],
    ['missing llm_config', (j) => delete j.llm_config, 'config key "llm_config": '],
    ['bad ps_version', (j) => (j.ps_version = 'v3'), 'config key "ps_version": '],
    [
      'qk_normalization',
      (j) => (j.vision_config.qk_normalization = true),
      'config key "vision_config.qk_normalization": true is not supported',
    ],
    [
      'llm architecture',
      (j) => (j.llm_config.architectures = ['Qwen2ForCausalLM']),
      'config key "llm_config.architectures": "Qwen2ForCausalLM" is not supported; expected "InternLM2ForCausalLM"',
    ],
    [
      'llm bias',
      (j) => delete j.llm_config.bias,
      'config key "llm_config.bias": true (linear biases in the LLM) is not supported',
    ],
    [
      'force_image_size',
      (j) => (j.force_image_size = 224),
      'config key "force_image_size": 224 differs from vision_config.image_size 448',
    ],
    ['downsample_ratio', (j) => (j.downsample_ratio = 0.3), 'config key "downsample_ratio": 0.3 must be 1/k'],
    [
      'heads',
      (j) => (j.llm_config.num_key_value_heads = 3),
      'config key "llm_config.num_key_value_heads": 3 does not divide num_attention_heads 16',
    ],
    [
      'rope scaling',
      (j) => (j.llm_config.rope_scaling = { type: 'linear', factor: 2 }),
      'config key "llm_config.rope_scaling.type": "linear" is not supported',
    ],
    [
      'model_type',
      (j) => (j.model_type = 'llava'),
      'config key "model_type": expected "internvl_chat", got "llava"',
    ],
  ];
  it.each(cases)('%s', (_name, edit, message) => {
    const j = real();
    edit(j);
    expect(() => parseInternVLConfig(j, 'm/config.json')).toThrow(`m/config.json: ${message}`);
  });
});
