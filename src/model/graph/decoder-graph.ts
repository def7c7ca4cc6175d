// decoder.onnx: the InternLM2 decoder with KV cache, with plain ONNX ops for attention so that ANY attention_mask
// (left-padded batches, padded past) and explicit position_ids are honoured (engine-contract.md):
//   inputs  inputs_embeds f32 [B,S,H], attention_mask i64 [B,P+S], position_ids i64 [B,S],
//           past_key_values.{i}.key/.value f32 [B,KV,P,D]
//   outputs logits f32 [B,1,V] (last position of each row; [B,S,V] with `allLogits`),
//           present.{i}.key/.value f32 [B,KV,P+S,D]
// Math: IVL `internlm2/modeling_internlm2.py` (model-runtime.md B.4-B.6).
import type { InternVLConfig } from '../checkpoint/config.ts';
import { linear, readChecked, rmsNorm, type LinearFormat, type WeightSource } from './layers.ts';
import { DataType, GraphBuilder } from './onnx-builder.ts';

/** Additive mask value for disallowed keys: float32 lowest, as HF's `torch.finfo(dtype).min`. */
export const MASK_MIN = -3.4028234663852886e38;

/**
 * Reorder the rows of InternLM2's packed `wqkv.weight` [(KV·(G+2))·D, hidden] from its per-KV-head grouping
 * `[Q 2g, Q 2g+1, …, K g, V g]` (IVL `InternLM2Attention.forward`: rearrange '(h gs d)', gs = G + 2) into
 * `[all Q heads | all K heads | all V heads]`, query head index = g·G + slot (B.5).
 */
export function regroupWqkv(
  w: Float32Array,
  kvHeads: number,
  groups: number,
  headDim: number,
  hidden: number,
): Float32Array {
  const rows = kvHeads * (groups + 2) * headDim;
  if (w.length !== rows * hidden) throw new Error(`wqkv: ${w.length} values, expected [${rows}, ${hidden}]`);
  const out = new Float32Array(w.length);
  const qRows = kvHeads * groups * headDim;
  const kvRows = kvHeads * headDim;
  const copyBlock = (srcBlock: number, dstRow: number) =>
    out.set(w.subarray(srcBlock * headDim * hidden, (srcBlock + 1) * headDim * hidden), dstRow * hidden);
  for (let g = 0; g < kvHeads; g++) {
    const base = g * (groups + 2);
    for (let slot = 0; slot < groups; slot++) copyBlock(base + slot, (g * groups + slot) * headDim);
    copyBlock(base + groups, qRows + g * headDim);
    copyBlock(base + groups + 1, qRows + kvRows + g * headDim);
  }
  return out;
}

/**
 * cos/sin tables [maxPositions, headDim/2]: angle(p, j) = p / theta^(2j/d) (B.6, plain theta: dynamic NTK changes
 * nothing up to max_position_embeddings). Computed in float64 then rounded once; HF computes in float32, which
 * differs by ~pos·1e-7 rad — we side with the exact math (and the float64 test reference).
 */
export function rotaryTables(
  maxPositions: number,
  headDim: number,
  theta: number,
): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const cos = new Float32Array(maxPositions * half);
  const sin = new Float32Array(maxPositions * half);
  for (let j = 0; j < half; j++) {
    const invFreq = 1 / Math.pow(theta, (2 * j) / headDim);
    for (let p = 0; p < maxPositions; p++) {
      cos[p * half + j] = Math.cos(p * invFreq);
      sin[p * half + j] = Math.sin(p * invFreq);
    }
  }
  return { cos, sin };
}

/** cos/sin for each (b, s) as [B, 1, S, D] (half-split: both halves use the same angles), gathered by position. */
export function rotaryInputs(
  g: GraphBuilder,
  positionIds: string,
  maxPositions: number,
  headDim: number,
  theta: number,
): { cos: string; sin: string } {
  const tables = rotaryTables(maxPositions, headDim, theta);
  const table = (name: string, values: Float32Array) => {
    const gathered = g.op('Gather', [g.initF32(name, [maxPositions, headDim / 2], values), positionIds], {
      axis: 0,
    });
    return g.op(
      'Unsqueeze',
      [g.op('Concat', [gathered, gathered], { axis: -1 }), g.constI64([1])],
      {},
      { name },
    );
  };
  return { cos: table('rotary_cos', tables.cos), sin: table('rotary_sin', tables.sin) };
}

/** x·cos + rotate_half(x)·sin on [B, heads, S, D], rotate_half(x) = cat(-x[D/2:], x[:D/2]) (B.6). */
export function applyRotary(
  g: GraphBuilder,
  x: string,
  r: { cos: string; sin: string },
  headDim: number,
  name: string,
): string {
  const halves = g.constI64([headDim / 2, headDim / 2]);
  const [x1, x2] = g.node('Split', [x, halves], { axis: -1 }, { outputs: 2, name: `${name}_split` });
  const rot = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: -1 });
  return g.op('Add', [g.op('Mul', [x, r.cos]), g.op('Mul', [rot, r.sin])], {}, { name });
}

export interface DecoderGraphOptions {
  /** Format of every LLM linear (wqkv, wo, w1, w2, w3) and of the output head. */
  linear: LinearFormat;
  /** Rows of the rotary tables (default: max_position_embeddings). */
  maxPositions?: number;
  /**
   * Output logits for every position ([B, S, V]) instead of only the last one ([B, 1, V], the default). Generation
   * only needs the last position, and the head is the largest single cost of a long prefill (InternVL2-2B, 1800
   * prompt tokens: 1800×2048×92553 ≈ 340 GFLOP and ~670 MB of logits); tests and tools may want them all.
   */
  allLogits?: boolean;
}

export async function buildDecoderGraph(
  g: GraphBuilder,
  config: InternVLConfig,
  src: WeightSource,
  opts: DecoderGraphOptions,
): Promise<void> {
  const l = config.llm;
  const H = l.hiddenSize;
  const NH = l.numAttentionHeads;
  const KV = l.numKeyValueHeads;
  const G = l.kvGroups;
  const D = l.headDim;
  const I = l.intermediateSize;
  const eps = l.rmsNormEps;

  const embeds = g.input('inputs_embeds', DataType.FLOAT, ['batch', 'sequence', H]);
  const mask = g.input('attention_mask', DataType.INT64, ['batch', 'total_sequence']);
  const positionIds = g.input('position_ids', DataType.INT64, ['batch', 'sequence']);
  const past: [string, string][] = [];
  for (let i = 0; i < l.numHiddenLayers; i++) {
    past.push([
      g.input(`past_key_values.${i}.key`, DataType.FLOAT, ['batch', KV, 'past_sequence', D]),
      g.input(`past_key_values.${i}.value`, DataType.FLOAT, ['batch', KV, 'past_sequence', D]),
    ]);
  }

  // Additive attention bias [B, 1, S, T]: key j is visible to query i (absolute index P+i) iff j <= P+i and
  // attention_mask[b, j] == 1. Fully masked rows (query pads) get a uniform softmax — finite, and ignored.
  const scalarIdx = (t: string, i: number) =>
    g.op('Gather', [g.op('Shape', [t]), g.constI64([i], [])], { axis: 0 });
  const T = scalarIdx(mask, 1);
  const S = scalarIdx(embeds, 1);
  const P = g.op('Sub', [T, S], {}, { name: 'past_length' });
  const one = g.constI64([1], []);
  const keyIdx = g.op('Unsqueeze', [g.op('Range', [g.constI64([0], []), T, one]), g.constI64([0])]);
  const queryIdx = g.op('Unsqueeze', [g.op('Range', [P, T, one]), g.constI64([1])]);
  const causal = g.op('LessOrEqual', [keyIdx, queryIdx], {}, { name: 'causal' });
  const notPad = g.op('Unsqueeze', [g.op('Cast', [mask], { to: DataType.BOOL }), g.constI64([1, 2])]);
  const allowed = g.op('And', [causal, notPad], {}, { name: 'allowed' });
  const bias = g.op(
    'Where',
    [allowed, g.constF32([0], []), g.constF32([MASK_MIN], [])],
    {},
    { name: 'attention_bias' },
  );

  const rotary = rotaryInputs(g, positionIds, opts.maxPositions ?? l.maxPositionEmbeddings, D, l.ropeTheta);
  const rope = (x: string, name: string) => applyRotary(g, x, rotary, D, name);
  const scale = g.constF32([1 / Math.sqrt(D)], []);

  let x = embeds;
  for (let i = 0; i < l.numHiddenLayers; i++) {
    const p = `language_model.model.layers.${i}`;
    const read = (name: string, shape: number[]) => readChecked(src, `${p}.${name}`, shape);
    const h = rmsNorm(g, x, `${p}.attention_norm`, await read('attention_norm.weight', [H]), eps);
    const wqkv = regroupWqkv(await read('attention.wqkv.weight', [l.qkvRows, H]), KV, G, D, H);
    const qkv = linear(g, h, `${p}.attention.wqkv`, wqkv, l.qkvRows, H, null, opts.linear);
    const [q, k, v] = g.node(
      'Split',
      [qkv, g.constI64([NH * D, KV * D, KV * D])],
      { axis: -1 },
      { outputs: 3, name: `${p}.qkv_split` },
    );
    const heads = (t: string, n: number) =>
      g.op('Transpose', [g.op('Reshape', [t, g.constI64([0, 0, n, D])])], { perm: [0, 2, 1, 3] });
    const qh = rope(heads(q, NH), `${p}.q_rot`); // [B, NH, S, D]
    const kh = rope(heads(k, KV), `${p}.k_rot`); // [B, KV, S, D]
    const vh = heads(v, KV);
    const presentK = g.op('Concat', [past[i][0], kh], { axis: 2 }, { name: `${p}.present_key` });
    const presentV = g.op('Concat', [past[i][1], vh], { axis: 2 }, { name: `${p}.present_value` });
    g.output(presentK, `present.${i}.key`, DataType.FLOAT, ['batch', KV, 'total_sequence', D]);
    g.output(presentV, `present.${i}.value`, DataType.FLOAT, ['batch', KV, 'total_sequence', D]);
    // GQA without repeating K/V: query heads of one KV head are adjacent (head j uses kv head j // G, as repeat_kv),
    // so [B, NH, S, D] viewed as [B, KV, G·S, D] multiplies straight against [B, KV, D, T].
    const qg = g.op('Reshape', [qh, g.constI64([0, KV, -1, D])]);
    const kT = g.op('Transpose', [presentK], { perm: [0, 1, 3, 2] });
    const scores = g.op('Reshape', [g.op('MatMul', [qg, kT]), g.constI64([0, NH, -1, 0])]); // [B, NH, S, T]
    const masked = g.op('Add', [g.op('Mul', [scores, scale]), bias]);
    const probs = g.op('Softmax', [masked], { axis: -1 }, { name: `${p}.softmax` });
    const ctx = g.op('MatMul', [g.op('Reshape', [probs, g.constI64([0, KV, -1, 0])]), presentV]); // [B, KV, G·S, D]
    const merged = g.op('Reshape', [
      g.op('Transpose', [g.op('Reshape', [ctx, g.constI64([0, NH, -1, D])])], { perm: [0, 2, 1, 3] }),
      g.constI64([0, 0, NH * D]),
    ]);
    const o = linear(
      g,
      merged,
      `${p}.attention.wo`,
      await read('attention.wo.weight', [H, NH * D]),
      H,
      NH * D,
      null,
      opts.linear,
    );
    x = g.op('Add', [x, o], {}, { name: `${p}.residual1` });

    const f = rmsNorm(g, x, `${p}.ffn_norm`, await read('ffn_norm.weight', [H]), eps);
    const gate = linear(
      g,
      f,
      `${p}.feed_forward.w1`,
      await read('feed_forward.w1.weight', [I, H]),
      I,
      H,
      null,
      opts.linear,
    );
    const up = linear(
      g,
      f,
      `${p}.feed_forward.w3`,
      await read('feed_forward.w3.weight', [I, H]),
      I,
      H,
      null,
      opts.linear,
    );
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])], {}, { name: `${p}.silu` }), up]);
    const down = linear(
      g,
      act,
      `${p}.feed_forward.w2`,
      await read('feed_forward.w2.weight', [H, I]),
      H,
      I,
      null,
      opts.linear,
    );
    x = g.op('Add', [x, down], {}, { name: `${p}.residual2` });
  }
  // Last position only: with LEFT padding (engine-contract.md) the last position of every row is a real token. The
  // final norm and the head act per position, so slicing before them gives the same values as slicing after.
  const headInput = opts.allLogits
    ? x
    : g.op(
        'Slice',
        [x, g.constI64([-1]), g.constI64([Number.MAX_SAFE_INTEGER]), g.constI64([1])],
        {},
        { name: 'last_position' },
      );
  const final = rmsNorm(
    g,
    headInput,
    'language_model.model.norm',
    await readChecked(src, 'language_model.model.norm.weight', [H]),
    eps,
  );
  const logits = linear(
    g,
    final,
    'language_model.output',
    await readChecked(src, 'language_model.output.weight', [l.vocabSize, H]),
    l.vocabSize,
    H,
    null,
    opts.linear,
  );
  g.output(logits, 'logits', DataType.FLOAT, ['batch', opts.allLogits ? 'sequence' : 1, l.vocabSize]);
}
