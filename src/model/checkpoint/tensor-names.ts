// The tensor names and shapes an InternVL2 (InternViT + mlp1 + InternLM2) checkpoint must hold, derived from its
// config (model-runtime.md A.4; names follow the module paths of IVL `InternVLChatModel`, `InternVisionModel`,
// `InternLM2ForCausalLM`; nn.Linear weights are [out, in]).
import type { InternVLConfig } from './config.ts';

export interface ExpectedTensor {
  name: string;
  shape: number[];
}

export const VISION_PREFIX = 'vision_model.';
export const LLM_PREFIX = 'language_model.';

/** Names of one ViT encoder layer's tensors (layer-scale ls1/ls2 multiply the branch outputs). */
export function visionLayerNames(i: number) {
  const p = `vision_model.encoder.layers.${i}`;
  return {
    norm1Weight: `${p}.norm1.weight`,
    norm1Bias: `${p}.norm1.bias`,
    qkvWeight: `${p}.attn.qkv.weight`,
    qkvBias: `${p}.attn.qkv.bias`,
    projWeight: `${p}.attn.proj.weight`,
    projBias: `${p}.attn.proj.bias`,
    ls1: `${p}.ls1`,
    norm2Weight: `${p}.norm2.weight`,
    norm2Bias: `${p}.norm2.bias`,
    fc1Weight: `${p}.mlp.fc1.weight`,
    fc1Bias: `${p}.mlp.fc1.bias`,
    fc2Weight: `${p}.mlp.fc2.weight`,
    fc2Bias: `${p}.mlp.fc2.bias`,
    ls2: `${p}.ls2`,
  };
}

export const VISION_EMBEDDINGS = {
  classEmbedding: 'vision_model.embeddings.class_embedding',
  patchWeight: 'vision_model.embeddings.patch_embedding.weight',
  patchBias: 'vision_model.embeddings.patch_embedding.bias',
  positionEmbedding: 'vision_model.embeddings.position_embedding',
} as const;

/** mlp1 = Sequential(LayerNorm (index 0, eps 1e-5), Linear (1), GELU (2, no params), Linear (3)). */
export const MLP1 = {
  normWeight: 'mlp1.0.weight',
  normBias: 'mlp1.0.bias',
  fc1Weight: 'mlp1.1.weight',
  fc1Bias: 'mlp1.1.bias',
  fc2Weight: 'mlp1.3.weight',
  fc2Bias: 'mlp1.3.bias',
} as const;

/** Names of one InternLM2 decoder layer's tensors (no biases; wqkv is packed per KV head, model-runtime.md B.5). */
export function llmLayerNames(i: number) {
  const p = `language_model.model.layers.${i}`;
  return {
    attentionNorm: `${p}.attention_norm.weight`,
    wqkv: `${p}.attention.wqkv.weight`,
    wo: `${p}.attention.wo.weight`,
    ffnNorm: `${p}.ffn_norm.weight`,
    w1: `${p}.feed_forward.w1.weight`,
    w2: `${p}.feed_forward.w2.weight`,
    w3: `${p}.feed_forward.w3.weight`,
  };
}

export const LLM_GLOBAL = {
  tokEmbeddings: 'language_model.model.tok_embeddings.weight',
  norm: 'language_model.model.norm.weight',
  output: 'language_model.output.weight',
} as const;

/** Every tensor the config implies, in a stable order (vision, mlp1, LLM), with its shape. */
export function expectedTensors(config: InternVLConfig): ExpectedTensor[] {
  const v = config.vision;
  const l = config.llm;
  const D = v.hiddenSize;
  const out: ExpectedTensor[] = [
    { name: VISION_EMBEDDINGS.classEmbedding, shape: [1, 1, D] },
    { name: VISION_EMBEDDINGS.patchWeight, shape: [D, v.numChannels, v.patchSize, v.patchSize] },
    { name: VISION_EMBEDDINGS.patchBias, shape: [D] },
    { name: VISION_EMBEDDINGS.positionEmbedding, shape: [1, v.numPositions, D] },
  ];
  for (let i = 0; i < v.numHiddenLayers; i++) {
    const n = visionLayerNames(i);
    out.push(
      { name: n.norm1Weight, shape: [D] },
      { name: n.norm1Bias, shape: [D] },
      { name: n.qkvWeight, shape: [3 * D, D] },
      ...(v.qkvBias ? [{ name: n.qkvBias, shape: [3 * D] }] : []),
      { name: n.projWeight, shape: [D, D] },
      { name: n.projBias, shape: [D] },
      { name: n.ls1, shape: [D] },
      { name: n.norm2Weight, shape: [D] },
      { name: n.norm2Bias, shape: [D] },
      { name: n.fc1Weight, shape: [v.intermediateSize, D] },
      { name: n.fc1Bias, shape: [v.intermediateSize] },
      { name: n.fc2Weight, shape: [D, v.intermediateSize] },
      { name: n.fc2Bias, shape: [D] },
      { name: n.ls2, shape: [D] },
    );
  }
  const M = config.mlp1InputSize;
  const H = l.hiddenSize;
  out.push(
    { name: MLP1.normWeight, shape: [M] },
    { name: MLP1.normBias, shape: [M] },
    { name: MLP1.fc1Weight, shape: [H, M] },
    { name: MLP1.fc1Bias, shape: [H] },
    { name: MLP1.fc2Weight, shape: [H, H] },
    { name: MLP1.fc2Bias, shape: [H] },
    { name: LLM_GLOBAL.tokEmbeddings, shape: [l.vocabSize, H] },
  );
  for (let i = 0; i < l.numHiddenLayers; i++) {
    const n = llmLayerNames(i);
    out.push(
      { name: n.attentionNorm, shape: [H] },
      { name: n.wqkv, shape: [l.qkvRows, H] },
      { name: n.wo, shape: [H, l.numAttentionHeads * l.headDim] },
      { name: n.ffnNorm, shape: [H] },
      { name: n.w1, shape: [l.intermediateSize, H] },
      { name: n.w3, shape: [l.intermediateSize, H] },
      { name: n.w2, shape: [H, l.intermediateSize] },
    );
  }
  out.push({ name: LLM_GLOBAL.norm, shape: [H] }, { name: LLM_GLOBAL.output, shape: [l.vocabSize, H] });
  return out;
}
