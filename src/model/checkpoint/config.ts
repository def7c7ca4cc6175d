// InternVL2 `config.json` -> typed InternVLConfig. Defaults are those of the reference config classes, NOT those of
// InternVL2-2B: IVL `configuration_internvl_chat.py` (ps_version 'v1', max_dynamic_patch 6, ...),
// `configuration_intern_vit.py` (norm_type 'rms_norm', qk_normalization true, qkv_bias false, image_size 224, ...),
// `internlm2/configuration_internlm2.py` (bias true, rope_theta 10000, rms_norm_eps 1e-6, ...). A config that relies
// on a class default therefore gets the class's value, exactly as the Python model would (model-runtime.md A, F).
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const visionSchema = z.looseObject({
  model_type: z.string().optional(),
  num_channels: z.number().int().positive().default(3),
  patch_size: z.number().int().positive().default(14),
  image_size: z.number().int().positive().default(224),
  qkv_bias: z.boolean().default(false),
  hidden_size: z.number().int().positive().default(3200),
  num_attention_heads: z.number().int().positive().default(25),
  intermediate_size: z.number().int().positive().default(12800),
  qk_normalization: z.boolean().default(true),
  num_hidden_layers: z.number().int().positive().default(48),
  hidden_act: z.string().default('gelu'),
  norm_type: z.enum(['layer_norm', 'rms_norm']).default('rms_norm'),
  layer_norm_eps: z.number().positive().default(1e-6),
});

const ropeScalingSchema = z
  .looseObject({
    type: z.string().optional(),
    rope_type: z.string().optional(),
    factor: z.number().optional(),
  })
  .nullable()
  .default(null);

const llmSchema = z.looseObject({
  architectures: z.array(z.string()).min(1),
  vocab_size: z.number().int().positive().default(103168),
  hidden_size: z.number().int().positive().default(4096),
  intermediate_size: z.number().int().positive().default(11008),
  num_hidden_layers: z.number().int().positive().default(32),
  num_attention_heads: z.number().int().positive().default(32),
  num_key_value_heads: z.number().int().positive().nullable().default(null),
  hidden_act: z.string().default('silu'),
  max_position_embeddings: z.number().int().positive().default(2048),
  rms_norm_eps: z.number().positive().default(1e-6),
  pad_token_id: z.number().int().nullable().default(0),
  bos_token_id: z.number().int().nullable().default(1),
  eos_token_id: z
    .union([z.number().int(), z.array(z.number().int())])
    .nullable()
    .default(2),
  tie_word_embeddings: z.boolean().default(false),
  bias: z.boolean().default(true),
  rope_theta: z.number().positive().default(10000),
  rope_scaling: ropeScalingSchema,
});

const topSchema = z.looseObject({
  architectures: z.array(z.string()).optional(),
  model_type: z.string().optional(),
  vision_config: visionSchema.default(visionSchema.parse({})),
  llm_config: llmSchema,
  pad2square: z.boolean().default(false),
  select_layer: z.number().int().default(-1),
  force_image_size: z.number().int().positive().nullable().default(null),
  downsample_ratio: z.number().positive().max(1).default(0.5),
  template: z.string().nullable().default(null),
  dynamic_image_size: z.boolean().default(false),
  use_thumbnail: z.boolean().default(false),
  ps_version: z.enum(['v1', 'v2']).default('v1'),
  min_dynamic_patch: z.number().int().positive().default(1),
  max_dynamic_patch: z.number().int().positive().default(6),
  torch_dtype: z.string().optional(),
});

export interface VisionConfig {
  numChannels: number;
  patchSize: number;
  imageSize: number;
  hiddenSize: number;
  numAttentionHeads: number;
  /** hiddenSize / numAttentionHeads. */
  headDim: number;
  intermediateSize: number;
  numHiddenLayers: number;
  qkvBias: boolean;
  layerNormEps: number;
  normType: 'layer_norm';
  hiddenAct: 'gelu';
  /** imageSize / patchSize (32 for 448/14). */
  gridSize: number;
  /** gridSize² + 1 (CLS): rows of position_embedding. */
  numPositions: number;
  /**
   * How many encoder layers feed the projector: `hidden_states[select_layer]` of the reference, where
   * hidden_states[0] is the embedding output, so select_layer -1 -> all layers, k >= 0 -> the first k layers.
   */
  layersUsed: number;
}

export interface LlmConfig {
  architecture: 'InternLM2ForCausalLM';
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  /** hiddenSize / numAttentionHeads. */
  headDim: number;
  /** numAttentionHeads / numKeyValueHeads: query heads per KV head (the `gs - 2` of the packed wqkv). */
  kvGroups: number;
  /** Rows of wqkv: (numAttentionHeads + 2 * numKeyValueHeads) * headDim. */
  qkvRows: number;
  rmsNormEps: number;
  ropeTheta: number;
  /**
   * rope_scaling as written. Only `dynamic` (NTK) is accepted; it changes nothing for sequences up to
   * maxPositionEmbeddings (model-runtime.md B.6), so consumers use plain ropeTheta within that length.
   */
  ropeScaling: { type: string; factor: number } | null;
  maxPositionEmbeddings: number;
  hiddenAct: 'silu';
  tieWordEmbeddings: boolean;
  bosTokenId: number | null;
  /** All eos ids from llm_config (the chat stop token <|im_end|> comes from the template, not from here). */
  eosTokenIds: number[];
  padTokenId: number | null;
}

export interface InternVLConfig {
  architectures: string[];
  modelType: string;
  vision: VisionConfig;
  llm: LlmConfig;
  selectLayer: number;
  /** force_image_size ?? vision.imageSize: the tile side fed to the ViT (448). */
  imageSize: number;
  downsampleRatio: number;
  psVersion: 'v1' | 'v2';
  template: string | null;
  dynamicImageSize: boolean;
  useThumbnail: boolean;
  minDynamicPatch: number;
  maxDynamicPatch: number;
  pad2square: boolean;
  /** (imageSize / patchSize)² · downsampleRatio² = 256 tokens per tile (IVL `InternVLChatModel.__init__`). */
  numImageToken: number;
  /** Side of the token grid after pixel shuffle: gridSize · downsampleRatio (16). */
  shuffledGridSize: number;
  /** Width of the projector input: vision.hiddenSize / downsampleRatio² (4096). */
  mlp1InputSize: number;
  torchDtype: string | null;
  /** The parsed JSON as written, for tools that must copy it. */
  raw: Record<string, unknown>;
}

/** Parse a config.json object. `source` names the file in error messages. */
export function parseInternVLConfig(json: unknown, source = 'config.json'): InternVLConfig {
  const parsed = topSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.map(String).join('.') || '(root)';
    throw new Error(`${source}: config key "${key}": ${issue.message}`);
  }
  const c = parsed.data;
  const v = c.vision_config;
  const l = c.llm_config;
  const bad = (key: string, why: string): never => {
    throw new Error(`${source}: config key "${key}": ${why}`);
  };

  if (c.model_type !== undefined && c.model_type !== 'internvl_chat') {
    bad('model_type', `expected "internvl_chat", got "${c.model_type}"`);
  }
  // Vision tower: only what InternViT-300M uses (model-runtime.md A.2).
  if (v.qk_normalization)
    bad('vision_config.qk_normalization', 'true is not supported (InternViT-6B only); expected false');
  if (v.norm_type !== 'layer_norm') {
    bad(
      'vision_config.norm_type',
      `"${v.norm_type}" is not supported (InternViT-6B only); expected "layer_norm"`,
    );
  }
  if (v.hidden_act !== 'gelu')
    bad('vision_config.hidden_act', `"${v.hidden_act}" is not supported; expected "gelu"`);
  if (v.hidden_size % v.num_attention_heads !== 0) {
    bad(
      'vision_config.num_attention_heads',
      `${v.num_attention_heads} does not divide hidden_size ${v.hidden_size}`,
    );
  }
  if (v.image_size % v.patch_size !== 0) {
    bad('vision_config.patch_size', `${v.patch_size} does not divide image_size ${v.image_size}`);
  }
  const imageSize = c.force_image_size ?? v.image_size;
  if (imageSize !== v.image_size) {
    // Another size needs bicubic resampling of the position embedding (IVL `_get_pos_embed`); not implemented.
    bad(
      'force_image_size',
      `${imageSize} differs from vision_config.image_size ${v.image_size}; not supported`,
    );
  }
  const gridSize = v.image_size / v.patch_size;
  const scale = 1 / c.downsample_ratio;
  if (!Number.isInteger(scale) || gridSize % scale !== 0) {
    bad(
      'downsample_ratio',
      `${c.downsample_ratio} must be 1/k with k an integer dividing the patch grid ${gridSize}`,
    );
  }
  const L = v.num_hidden_layers;
  if (c.select_layer < -L - 1 || c.select_layer > L || c.select_layer === 0 || c.select_layer === -L - 1) {
    bad('select_layer', `${c.select_layer} does not select an encoder layer output (vision has ${L} layers)`);
  }
  const layersUsed = c.select_layer < 0 ? L + 1 + c.select_layer : c.select_layer;

  // Language model: InternLM2 only.
  if (l.architectures[0] !== 'InternLM2ForCausalLM') {
    bad(
      'llm_config.architectures',
      `"${l.architectures[0]}" is not supported; expected "InternLM2ForCausalLM"`,
    );
  }
  if (l.bias) bad('llm_config.bias', 'true (linear biases in the LLM) is not supported; expected false');
  if (l.hidden_act !== 'silu')
    bad('llm_config.hidden_act', `"${l.hidden_act}" is not supported; expected "silu"`);
  if (l.tie_word_embeddings) {
    // IVL InternVLChatConfig forces tie_word_embeddings false; a checkpoint always has its own `output.weight`.
    bad('llm_config.tie_word_embeddings', 'true is not supported; InternVL checkpoints store output.weight');
  }
  const kvHeads = l.num_key_value_heads ?? l.num_attention_heads;
  if (l.hidden_size % l.num_attention_heads !== 0) {
    bad(
      'llm_config.num_attention_heads',
      `${l.num_attention_heads} does not divide hidden_size ${l.hidden_size}`,
    );
  }
  if (l.num_attention_heads % kvHeads !== 0) {
    bad(
      'llm_config.num_key_value_heads',
      `${kvHeads} does not divide num_attention_heads ${l.num_attention_heads}`,
    );
  }
  const headDim = l.hidden_size / l.num_attention_heads;
  if (headDim % 2 !== 0) bad('llm_config.num_attention_heads', `head_dim ${headDim} must be even for rotary`);
  let ropeScaling: LlmConfig['ropeScaling'] = null;
  if (l.rope_scaling) {
    const type = l.rope_scaling.type ?? l.rope_scaling.rope_type ?? '';
    if (type !== 'dynamic')
      bad(
        'llm_config.rope_scaling.type',
        `"${type}" is not supported; expected "dynamic" or no rope_scaling`,
      );
    ropeScaling = { type, factor: l.rope_scaling.factor ?? 1 };
  }

  const shuffledGridSize = gridSize / scale;
  return {
    architectures: c.architectures ?? ['InternVLChatModel'],
    modelType: c.model_type ?? 'internvl_chat',
    vision: {
      numChannels: v.num_channels,
      patchSize: v.patch_size,
      imageSize: v.image_size,
      hiddenSize: v.hidden_size,
      numAttentionHeads: v.num_attention_heads,
      headDim: v.hidden_size / v.num_attention_heads,
      intermediateSize: v.intermediate_size,
      numHiddenLayers: L,
      qkvBias: v.qkv_bias,
      layerNormEps: v.layer_norm_eps,
      normType: 'layer_norm',
      hiddenAct: 'gelu',
      gridSize,
      numPositions: gridSize * gridSize + 1,
      layersUsed,
    },
    llm: {
      architecture: 'InternLM2ForCausalLM',
      vocabSize: l.vocab_size,
      hiddenSize: l.hidden_size,
      intermediateSize: l.intermediate_size,
      numHiddenLayers: l.num_hidden_layers,
      numAttentionHeads: l.num_attention_heads,
      numKeyValueHeads: kvHeads,
      headDim,
      kvGroups: l.num_attention_heads / kvHeads,
      qkvRows: (l.num_attention_heads + 2 * kvHeads) * headDim,
      rmsNormEps: l.rms_norm_eps,
      ropeTheta: l.rope_theta,
      ropeScaling,
      maxPositionEmbeddings: l.max_position_embeddings,
      hiddenAct: 'silu',
      tieWordEmbeddings: l.tie_word_embeddings,
      bosTokenId: l.bos_token_id,
      eosTokenIds:
        l.eos_token_id === null ? [] : Array.isArray(l.eos_token_id) ? l.eos_token_id : [l.eos_token_id],
      padTokenId: l.pad_token_id,
    },
    selectLayer: c.select_layer,
    imageSize,
    downsampleRatio: c.downsample_ratio,
    psVersion: c.ps_version,
    template: c.template,
    dynamicImageSize: c.dynamic_image_size,
    useThumbnail: c.use_thumbnail,
    minDynamicPatch: c.min_dynamic_patch,
    maxDynamicPatch: c.max_dynamic_patch,
    pad2square: c.pad2square,
    // int((image_size // patch_size) ** 2 * (downsample_ratio ** 2)) in the reference.
    numImageToken: Math.floor(gridSize * gridSize * c.downsample_ratio * c.downsample_ratio),
    shuffledGridSize,
    mlp1InputSize: v.hidden_size * scale * scale,
    torchDtype: c.torch_dtype ?? null,
    raw: json as Record<string, unknown>,
  };
}

/** Read and parse `<file>` (a config.json). */
export async function readInternVLConfig(file: string): Promise<InternVLConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read config: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: invalid JSON: ${(e as Error).message}`);
  }
  return parseInternVLConfig(json, file);
}
