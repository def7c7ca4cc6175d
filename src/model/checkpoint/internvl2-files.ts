// The JSON files of an InternVL2-2B Hugging Face checkpoint (config.json, generation_config.json, tokenizer configs),
// parameterised by size so the tiny maker writes the real key set with tiny widths. Values for InternVL2-2B are
// those of model-runtime.md A.1-A.3 and C (the exact file was not seen verbatim; keys follow the config classes).

import { internLM2TokenizerConfig } from '../inputs/tokenizer-config-json.ts';

export interface ModelSizes {
  vision: {
    hiddenSize: number;
    numHiddenLayers: number;
    numAttentionHeads: number;
    intermediateSize: number;
  };
  llm: {
    hiddenSize: number;
    numHiddenLayers: number;
    numAttentionHeads: number;
    numKeyValueHeads: number;
    intermediateSize: number;
  };
}

/** InternVL2-2B's own widths (InternViT-300M-448px + internlm2-chat-1_8b). */
export const INTERNVL2_2B_SIZES: ModelSizes = {
  vision: { hiddenSize: 1024, numHiddenLayers: 24, numAttentionHeads: 16, intermediateSize: 4096 },
  llm: {
    hiddenSize: 2048,
    numHiddenLayers: 24,
    numAttentionHeads: 16,
    numKeyValueHeads: 8,
    intermediateSize: 8192,
  },
};

/** InternLM2 vocabulary inside InternVL2: 92544 SentencePiece pieces + 9 added image/grounding tokens. */
export const INTERNVL2_VOCAB_SIZE = 92553;

export function internVL2ConfigJson(sizes: ModelSizes, vocabSize: number): Record<string, unknown> {
  const v = sizes.vision;
  const l = sizes.llm;
  return {
    _commit_hash: null,
    architectures: ['InternVLChatModel'],
    auto_map: {
      AutoConfig: 'configuration_internvl_chat.InternVLChatConfig',
      AutoModel: 'modeling_internvl_chat.InternVLChatModel',
      AutoModelForCausalLM: 'modeling_internvl_chat.InternVLChatModel',
    },
    downsample_ratio: 0.5,
    dynamic_image_size: true,
    force_image_size: 448,
    llm_config: {
      _name_or_path: 'internlm/internlm2-chat-1_8b',
      architectures: ['InternLM2ForCausalLM'],
      attn_implementation: 'eager',
      auto_map: {
        AutoConfig: 'configuration_internlm2.InternLM2Config',
        AutoModel: 'modeling_internlm2.InternLM2ForCausalLM',
        AutoModelForCausalLM: 'modeling_internlm2.InternLM2ForCausalLM',
      },
      bias: false,
      bos_token_id: 1,
      eos_token_id: 2,
      hidden_act: 'silu',
      hidden_size: l.hiddenSize,
      initializer_range: 0.02,
      intermediate_size: l.intermediateSize,
      max_position_embeddings: 32768,
      model_type: 'internlm2',
      num_attention_heads: l.numAttentionHeads,
      num_hidden_layers: l.numHiddenLayers,
      num_key_value_heads: l.numKeyValueHeads,
      pad_token_id: 2,
      rms_norm_eps: 1e-5,
      rope_scaling: { factor: 2.0, type: 'dynamic' },
      rope_theta: 1000000,
      tie_word_embeddings: false,
      torch_dtype: 'bfloat16',
      transformers_version: '4.37.2',
      use_bfloat16: true,
      use_cache: true,
      vocab_size: vocabSize,
    },
    max_dynamic_patch: 12,
    min_dynamic_patch: 1,
    model_type: 'internvl_chat',
    pad2square: false,
    ps_version: 'v2',
    select_layer: -1,
    template: 'internlm2-chat',
    torch_dtype: 'bfloat16',
    transformers_version: null,
    use_backbone_lora: 0,
    use_llm_lora: 0,
    use_thumbnail: true,
    vision_config: {
      architectures: ['InternVisionModel'],
      attention_dropout: 0.0,
      drop_path_rate: 0.0,
      dropout: 0.0,
      hidden_act: 'gelu',
      hidden_size: v.hiddenSize,
      image_size: 448,
      initializer_factor: 1.0,
      initializer_range: 0.02,
      intermediate_size: v.intermediateSize,
      layer_norm_eps: 1e-6,
      model_type: 'intern_vit_6b',
      norm_type: 'layer_norm',
      num_attention_heads: v.numAttentionHeads,
      num_channels: 3,
      num_hidden_layers: v.numHiddenLayers,
      patch_size: 14,
      qk_normalization: false,
      qkv_bias: true,
      torch_dtype: 'bfloat16',
      use_bfloat16: true,
      use_flash_attn: false,
    },
  };
}

/** `imEndId`: id of <|im_end|> in the checkpoint's tokenizer (92542 for InternLM2). */
export function generationConfigJson(imEndId = 92542): Record<string, unknown> {
  // chat() stops on the template separator <|im_end|>; the HF converter writes it as eos.
  return {
    _from_model_config: true,
    bos_token_id: 1,
    eos_token_id: [imEndId, 2],
    pad_token_id: 2,
    transformers_version: '4.37.2',
  };
}

/** Special tokens of InternVL2-2B's tokenizer_config.json `added_tokens_decoder` (model-runtime.md C). */
export const INTERNVL2_SPECIAL_TOKENS: ReadonlyArray<readonly [number, string]> = [
  [0, '<unk>'],
  [1, '<s>'],
  [2, '</s>'],
  [92538, '<|plugin|>'],
  [92539, '<|interpreter|>'],
  [92540, '<|action_end|>'],
  [92541, '<|action_start|>'],
  [92542, '<|im_end|>'],
  [92543, '<|im_start|>'],
  [92544, '<img>'],
  [92545, '</img>'],
  [92546, '<IMG_CONTEXT>'],
  [92547, '<quad>'],
  [92548, '</quad>'],
  [92549, '<ref>'],
  [92550, '</ref>'],
  [92551, '<box>'],
  [92552, '</box>'],
];

export function internVL2TokenizerConfigJson(): Record<string, unknown> {
  return internLM2TokenizerConfig(
    INTERNVL2_SPECIAL_TOKENS,
    INTERNVL2_SPECIAL_TOKENS.filter(([id]) => id >= 92538).map(([, c]) => c),
  );
}

/** added_tokens.json: the 9 tokens InternVL adds after the 92544 SentencePiece pieces. */
export function internVL2AddedTokensJson(): Record<string, number> {
  return Object.fromEntries(INTERNVL2_SPECIAL_TOKENS.filter(([id]) => id >= 92544).map(([id, c]) => [c, id]));
}
