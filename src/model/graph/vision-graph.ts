// vision.onnx: pixel_values float32 [N, 3, S, S] -> image_embeds float32 [N, numImageToken, llmHidden].
// InternViT (IVL `modeling_intern_vit.py`) + extract_feature / pixel_shuffle / mlp1 (IVL `modeling_internvl_chat.py`),
// model-runtime.md B.1-B.3.
import type { InternVLConfig } from '../checkpoint/config.ts';
import {
  floatTensor,
  gelu,
  layerNorm,
  linear,
  readChecked,
  type LinearFormat,
  type WeightSource,
} from './layers.ts';
import { DataType, GraphBuilder } from './onnx-builder.ts';

/** mlp1.0 is a plain nn.LayerNorm(4096): PyTorch's default eps, not the ViT's 1e-6 (B.3). */
export const MLP1_LAYER_NORM_EPS = 1e-5;

export interface VisionGraphOptions {
  /** Format of the ViT and mlp1 linear weights. */
  linear: LinearFormat;
  /** Format of the other big float tensors (patch conv, position embedding): fp32 or fp16. */
  tensors: LinearFormat;
}

/**
 * Pixel shuffle as one Reshape -> Transpose -> Reshape on tokens [N, g*g, C] (row-major patch grid), scale factor f =
 * 1/downsample_ratio. The reference's view/permute chain (IVL `InternVLChatModel.pixel_shuffle`) works out to
 *   v2: out[n, i2*(g/f) + j2, dy*f*C + dx*C + c] = x[n, (f*i2+dy)*g + f*j2+dx, c]   (perm [0,1,3,2,4,5])
 *   v1: out[n, j2*(g/f) + i2, ...same channel...]                                  (perm [0,3,1,2,4,5]; the image
 *       comes out transposed — the original InternVL-1.5 quirk, kept because `ps_version: v1` checkpoints expect it)
 * when x is viewed as [n, i2, dy, j2, dx, c] (B.3; verified with numpy against the reference code).
 */
export function pixelShufflePerm(psVersion: 'v1' | 'v2'): number[] {
  return psVersion === 'v2' ? [0, 1, 3, 2, 4, 5] : [0, 3, 1, 2, 4, 5];
}

export function pixelShuffle(
  g: GraphBuilder,
  x: string,
  grid: number,
  channels: number,
  factor: number,
  psVersion: 'v1' | 'v2',
): string {
  if (grid % factor !== 0) throw new Error(`pixel shuffle: factor ${factor} does not divide grid ${grid}`);
  const h = grid / factor;
  const six = g.op('Reshape', [x, g.constI64([0, h, factor, h, factor, channels])], {}, { name: 'ps_split' });
  const t = g.op('Transpose', [six], { perm: pixelShufflePerm(psVersion) }, { name: 'ps_transpose' });
  return g.op('Reshape', [t, g.constI64([0, h * h, factor * factor * channels])], {}, { name: 'ps_merge' });
}

/** The whole vision graph. Weights are read from `src` one tensor at a time. */
export async function buildVisionGraph(
  g: GraphBuilder,
  config: InternVLConfig,
  src: WeightSource,
  opts: VisionGraphOptions,
): Promise<void> {
  const v = config.vision;
  const C = v.hiddenSize;
  const S = config.imageSize;
  const grid = v.gridSize;
  const P = v.patchSize;
  const pre = 'vision_model.embeddings';

  const pixels = g.input('pixel_values', DataType.FLOAT, ['num_tiles', v.numChannels, S, S]);

  // B.1 embeddings: Conv(k=s=patch) -> [N, C, g, g] -> [N, g*g, C] (token = row*g + col).
  const convW = floatTensor(
    g,
    `${pre}.patch_embedding.weight`,
    [C, v.numChannels, P, P],
    await readChecked(src, `${pre}.patch_embedding.weight`, [C, v.numChannels, P, P]),
    opts.tensors,
  );
  const convB = g.initF32(
    `${pre}.patch_embedding.bias`,
    [C],
    await readChecked(src, `${pre}.patch_embedding.bias`, [C]),
  );
  const conv = g.op(
    'Conv',
    [pixels, convW, convB],
    { kernel_shape: [P, P], strides: [P, P] },
    { name: 'patch_embedding' },
  );
  const flat = g.op('Reshape', [conv, g.constI64([0, C, grid * grid])]);
  const patches = g.op('Transpose', [flat], { perm: [0, 2, 1] });

  // Prepend the class token, expanded to the batch: shape [N, 1, C].
  const cls = g.initF32(
    `${pre}.class_embedding`,
    [1, 1, C],
    await readChecked(src, `${pre}.class_embedding`, [1, 1, C]),
  );
  const n = g.op(
    'Slice',
    [g.op('Shape', [pixels]), g.constI64([0]), g.constI64([1])],
    {},
    { name: 'num_tiles' },
  );
  const clsShape = g.op('Concat', [n, g.constI64([1, C])], { axis: 0 });
  const clsB = g.op('Expand', [cls, clsShape], {}, { name: 'cls_tokens' });
  const tokens = g.op('Concat', [clsB, patches], { axis: 1 });
  // 448/14 = stored grid: the bicubic position-embedding resample is the identity, just add (B.1 step 3).
  const pos = floatTensor(
    g,
    `${pre}.position_embedding`,
    [1, v.numPositions, C],
    await readChecked(src, `${pre}.position_embedding`, [1, v.numPositions, C]),
    opts.tensors,
  );
  let x = g.op('Add', [tokens, pos], {}, { name: 'embeddings' });

  // B.2 encoder layers; select_layer picks how many run (no final norm in InternVisionModel).
  for (let i = 0; i < v.layersUsed; i++) {
    const p = `vision_model.encoder.layers.${i}`;
    const read = (name: string, shape: number[]) => readChecked(src, `${p}.${name}`, shape);
    const h1 = layerNorm(
      g,
      x,
      `${p}.norm1`,
      await read('norm1.weight', [C]),
      await read('norm1.bias', [C]),
      v.layerNormEps,
    );
    const qkv = linear(
      g,
      h1,
      `${p}.attn.qkv`,
      await read('attn.qkv.weight', [3 * C, C]),
      3 * C,
      C,
      v.qkvBias ? await read('attn.qkv.bias', [3 * C]) : null,
      opts.linear,
    );
    // qkv rows are [q; k; v], each head-major (B.2): a plain 3-way split feeds MultiHeadAttention's [B, S, C] inputs.
    const [q, k, val] = g.node(
      'Split',
      [qkv, g.constI64([C, C, C])],
      { axis: -1 },
      { outputs: 3, name: `${p}.attn.split` },
    );
    // Non-causal, unmasked, scale 1/sqrt(head_dim) (the op's default).
    const att = g.op(
      'MultiHeadAttention',
      [q, k, val],
      { num_heads: v.numAttentionHeads },
      { domain: 'com.microsoft', name: `${p}.attn.mha` },
    );
    const proj = linear(
      g,
      att,
      `${p}.attn.proj`,
      await read('attn.proj.weight', [C, C]),
      C,
      C,
      await read('attn.proj.bias', [C]),
      opts.linear,
    );
    const ls1 = g.op('Mul', [proj, g.initF32(`${p}.ls1`, [C], await read('ls1', [C]))]);
    x = g.op('Add', [x, ls1], {}, { name: `${p}.residual1` });
    const h2 = layerNorm(
      g,
      x,
      `${p}.norm2`,
      await read('norm2.weight', [C]),
      await read('norm2.bias', [C]),
      v.layerNormEps,
    );
    const f1 = linear(
      g,
      h2,
      `${p}.mlp.fc1`,
      await read('mlp.fc1.weight', [v.intermediateSize, C]),
      v.intermediateSize,
      C,
      await read('mlp.fc1.bias', [v.intermediateSize]),
      opts.linear,
    );
    const f2 = linear(
      g,
      gelu(g, f1, `${p}.mlp.act`),
      `${p}.mlp.fc2`,
      await read('mlp.fc2.weight', [C, v.intermediateSize]),
      C,
      v.intermediateSize,
      await read('mlp.fc2.bias', [C]),
      opts.linear,
    );
    const ls2 = g.op('Mul', [f2, g.initF32(`${p}.ls2`, [C], await read('ls2', [C]))]);
    x = g.op('Add', [x, ls2], {}, { name: `${p}.residual2` });
  }

  // B.3: drop CLS, pixel shuffle, mlp1.
  const noCls = g.op(
    'Slice',
    [x, g.constI64([1]), g.constI64([v.numPositions]), g.constI64([1])],
    {},
    { name: 'drop_cls' },
  );
  const factor = Math.round(1 / config.downsampleRatio);
  const shuffled = pixelShuffle(g, noCls, grid, C, factor, config.psVersion);
  const M = config.mlp1InputSize;
  const H = config.llm.hiddenSize;
  const ln = layerNorm(
    g,
    shuffled,
    'mlp1.0',
    await readChecked(src, 'mlp1.0.weight', [M]),
    await readChecked(src, 'mlp1.0.bias', [M]),
    MLP1_LAYER_NORM_EPS,
  );
  const m1 = linear(
    g,
    ln,
    'mlp1.1',
    await readChecked(src, 'mlp1.1.weight', [H, M]),
    H,
    M,
    await readChecked(src, 'mlp1.1.bias', [H]),
    opts.linear,
  );
  const m3 = linear(
    g,
    gelu(g, m1, 'mlp1.2'),
    'mlp1.3',
    await readChecked(src, 'mlp1.3.weight', [H, H]),
    H,
    H,
    await readChecked(src, 'mlp1.3.bias', [H]),
    opts.linear,
  );
  g.output(m3, 'image_embeds', DataType.FLOAT, ['num_tiles', config.numImageToken, H]);
}
