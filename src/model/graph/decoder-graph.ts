// decoder.onnx: the InternLM2 decoder on fused contrib ops (onnxruntime-genai's layout, model-runtime.md D.4 and
// "Fused decoder and device residency"):
//   inputs  inputs_embeds f32 [B,S,H], attention_mask i64 [B,T] (T = past + S slots, real or padded),
//           past_key_values.{i}.key/.value f32 [B,KV,C,D] (C >= T - S: a cache whose first T - S slots are written;
//           a larger preallocated buffer is fine, GQA reads only the slots seqlens_k implies)
//   outputs logits f32 [B,1,V] (last position of each row; [B,S,V] with `allLogits`),
//           language_model.model.layers.{i}.attention.wqkv f32 [B,S,(NH+2·KV)·D]: the packed [Q | K | V] projection
//             of the S new tokens, before rotary (what a static cache appends: V as is, K rotated by slot, see
//             appendFromQkv in engine/onnx-model.ts, the 'append' host binding; a graph output costs no node),
//           present.{i}.key/.value f32 [B,KV,max(T,C),D] (the whole cache, for callers that let it grow; the engine
//             binds its cache here and as past — on the CPU through the C API, on WebGPU as device tensors — so
//             GQA appends in place),
//           next_token i64 [B,1] (ArgMax of the last-position logits; not in `allLogits` builds)
// Per layer after ORT's fusions (10 nodes; ORT 1.30 does not fuse the int4 MLP): SkipSimplifiedLayerNormalization ->
// packed QKV MatMul(NBits) -> GroupQueryAttention (rotary inside, pads hidden by attention_bias) -> wo ->
// SkipSimplifiedLayerNormalization -> w1, w3 -> QuickGelu (ORT's fusion of x·sigmoid(x)) -> Mul -> w2.
// Math: IVL `internlm2/modeling_internlm2.py` (model-runtime.md B.4-B.6).
import type { InternVLConfig } from '../checkpoint/config.ts';
import { readChecked, type LinearFormat, type WeightSource } from './layers.ts';
import { computeLinear, elemType, initFloat, maskMin, scalar, type ComputeDtype } from './compute-dtype.ts';
import { DataType, GraphBuilder, float } from './onnx-builder.ts';

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
  /**
   * Compute precision (compute-dtype.ts): 'fp16' keeps activations, KV cache, cos/sin, norm weights and linear
   * weights/scales in float16, with float32 `inputs_embeds` and `logits` at the boundary. Default 'fp32'.
   */
  compute?: ComputeDtype;
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
  // Compute dtype (issue 15): every float the layers see is in `dt`; the fp32 build is unchanged.
  const dt: ComputeDtype = opts.compute ?? 'fp32';
  const FT = elemType(dt);
  const linear = (
    x: string,
    name: string,
    w: Float32Array,
    n: number,
    k: number,
    _b: null,
    f: LinearFormat,
  ) => computeLinear(g, x, name, w, n, k, f, dt);
  if (D % 16 !== 0) {
    // ORT's CPU GroupQueryAttention with do_rotary=1 refuses other head sizes (model-runtime.md D.3).
    throw new Error(`head_dim ${D} is not a multiple of 16, which GroupQueryAttention with rotary needs`);
  }

  const embedsIn = g.input('inputs_embeds', DataType.FLOAT, ['batch', 'sequence', H]);
  const embeds =
    dt === 'fp32' ? embedsIn : g.op('Cast', [embedsIn], { to: FT }, { name: 'inputs_embeds_fp16' });
  const mask = g.input('attention_mask', DataType.INT64, ['batch', 'total_sequence']);
  const past: [string, string][] = [];
  for (let i = 0; i < l.numHiddenLayers; i++) {
    past.push([
      g.input(`past_key_values.${i}.key`, FT, ['batch', KV, 'past_sequence', D]),
      g.input(`past_key_values.${i}.value`, FT, ['batch', KV, 'past_sequence', D]),
    ]);
  }

  // Left padding (engine contract): a pad is a real cache slot that no query may see. Every row therefore has the
  // same length T, so GQA's own right-padding model (seqlens_k = real length - 1 per row) is told T - 1 for all
  // rows, and the pads are hidden by an additive attention_bias [B, 1, S, T] (0 or float32 lowest, as HF's
  // finfo.min). GQA applies the causal limit itself. A query that sees only pads gets a uniform softmax (finite).
  const scalarIdx = (t: string, i: number) =>
    g.op('Gather', [g.op('Shape', [t]), g.constI64([i], [])], { axis: 0 });
  const T = scalarIdx(mask, 1);
  const B = g.op('Shape', [embeds], { start: 0, end: 1 });
  const S = g.op('Shape', [embeds], { start: 1, end: 2 });
  const totalLength = g.op('Cast', [T], { to: DataType.INT32 }, { name: 'total_sequence_length' });
  const seqlensK = g.op(
    'Expand',
    [g.op('Sub', [totalLength, g.constI32([1], [])]), B],
    {},
    { name: 'seqlens_k' },
  );
  const notPad = g.op('Unsqueeze', [g.op('Cast', [mask], { to: DataType.BOOL }), g.constI64([1, 2])]); // [B,1,1,T]
  const biasShape = g.op('Concat', [B, g.constI64([1]), S, g.op('Unsqueeze', [T, g.constI64([0])])], {
    axis: 0,
  });
  const bias = g.op(
    'Expand',
    [
      g.op(
        'Where',
        dt === 'fp32'
          ? [notPad, g.constF32([0], []), g.constF32([MASK_MIN], [])]
          : [notPad, scalar(g, 'bias_zero', 0, dt), scalar(g, 'bias_min', maskMin(dt), dt)],
      ),
      biasShape,
    ],
    {},
    { name: 'attention_bias' },
  );

  // Rotary inside GQA (do_rotary, half-split). GQA takes the position of a token to be its cache slot
  // (seqlens_k - S + 1 + s), not HF's `cumsum(attention_mask) - 1`: in a left-padded row the two differ by the
  // row's pad count, the same constant for every query and key of the row, and RoPE scores depend only on position
  // differences, so the attention is the same (up to float rounding); unpadded rows get exactly HF's positions.
  const maxPositions = opts.maxPositions ?? l.maxPositionEmbeddings;
  const tables = rotaryTables(maxPositions, D, l.ropeTheta);
  const cosCache = initFloat(g, 'rotary_cos_cache', [maxPositions, D / 2], tables.cos, dt);
  const sinCache = initFloat(g, 'rotary_sin_cache', [maxPositions, D / 2], tables.sin, dt);

  // The residual stream travels as (branch output, residual) into SkipSimplifiedLayerNormalization, which returns
  // the normalised sum and the sum itself (output 3) for the next block, as onnxruntime-genai's builder chains them.
  let branch: string | null = null;
  let residual = embeds;
  const skipNorm = (name: string, weight: Float32Array): string => {
    const w = initFloat(g, `${name}.weight`, [H], weight, dt);
    if (branch === null) {
      return g.op(
        'SimplifiedLayerNormalization',
        [residual, w],
        { axis: -1, epsilon: float(eps), stash_type: 1 },
        { name },
      );
    }
    const [y, , , sum] = g.node(
      'SkipSimplifiedLayerNormalization',
      [branch, residual, w],
      { epsilon: float(eps) },
      { domain: 'com.microsoft', outputs: [name, '', '', `${name}_residual`], name },
    );
    residual = sum;
    return y;
  };

  for (let i = 0; i < l.numHiddenLayers; i++) {
    const p = `language_model.model.layers.${i}`;
    const read = (name: string, shape: number[]) => readChecked(src, `${p}.${name}`, shape);
    const h = skipNorm(`${p}.attention_norm`, await read('attention_norm.weight', [H]));
    const wqkv = regroupWqkv(await read('attention.wqkv.weight', [l.qkvRows, H]), KV, G, D, H);
    const qkv = linear(h, `${p}.attention.wqkv`, wqkv, l.qkvRows, H, null, opts.linear);
    g.output(qkv, qkv, FT, ['batch', 'sequence', l.qkvRows]);
    // Packed [Q | K | V] input (key/value omitted). Past and present may be one buffer: the kernel then writes only
    // the new slots in place (model-runtime.md D.3), which is how the engine runs it (sessions.ts HostKvBinding);
    // the 'append' fallback feeds the cache as past and writes the new slots itself from the qkv output.
    const [attn] = g.node(
      'GroupQueryAttention',
      [qkv, '', '', past[i][0], past[i][1], seqlensK, totalLength, cosCache, sinCache, '', bias],
      { num_heads: NH, kv_num_heads: KV, do_rotary: 1, rotary_interleaved: 0 },
      {
        domain: 'com.microsoft',
        outputs: [`${p}.attention`, `present.${i}.key`, `present.${i}.value`],
        name: `${p}.gqa`,
      },
    );
    for (const kv of ['key', 'value']) {
      const present = `present.${i}.${kv}`;
      g.output(present, present, FT, ['batch', KV, 'present_sequence', D]);
    }
    branch = linear(
      attn,
      `${p}.attention.wo`,
      await read('attention.wo.weight', [H, NH * D]),
      H,
      NH * D,
      null,
      opts.linear,
    );

    const f = skipNorm(`${p}.ffn_norm`, await read('ffn_norm.weight', [H]));
    const gate = linear(
      f,
      `${p}.feed_forward.w1`,
      await read('feed_forward.w1.weight', [I, H]),
      I,
      H,
      null,
      opts.linear,
    );
    const up = linear(
      f,
      `${p}.feed_forward.w3`,
      await read('feed_forward.w3.weight', [I, H]),
      I,
      H,
      null,
      opts.linear,
    );
    // x·sigmoid(x)·up: the pattern ORT fuses (QuickGelu, and MatMulNBitsMlp for int4 MatMulNBits).
    const act = g.op(
      'Mul',
      [g.op('Mul', [gate, g.op('Sigmoid', [gate])], {}, { name: `${p}.silu` }), up],
      {},
      {
        name: `${p}.swiglu`, // named after its layer, so kernel counts per layer see it (kernel-profile.ts)
      },
    );
    branch = linear(
      act,
      `${p}.feed_forward.w2`,
      await read('feed_forward.w2.weight', [H, I]),
      H,
      I,
      null,
      opts.linear,
    );
  }
  // Last position only: with LEFT padding the last position of every row is a real token. The final norm and the
  // head act per position, so slicing before them gives the same values as slicing after.
  const last = (t: string, name: string) =>
    opts.allLogits
      ? t
      : g.op(
          'Slice',
          [t, g.constI64([-1]), g.constI64([Number.MAX_SAFE_INTEGER]), g.constI64([1])],
          {},
          { name },
        );
  branch = last(branch!, 'last_position');
  residual = last(residual, 'last_position_residual');
  const final = skipNorm(
    'language_model.model.norm',
    await readChecked(src, 'language_model.model.norm.weight', [H]),
  );
  const head = linear(
    final,
    'language_model.output',
    await readChecked(src, 'language_model.output.weight', [l.vocabSize, H]),
    l.vocabSize,
    H,
    null,
    opts.linear,
  );
  // fp16 compute: one Cast so the logits the host reads are float32.
  const logits = dt === 'fp32' ? head : g.op('Cast', [head], { to: DataType.FLOAT }, { name: 'logits_fp32' });
  g.output(logits, 'logits', DataType.FLOAT, ['batch', opts.allLogits ? 'sequence' : 1, l.vocabSize]);
  if (!opts.allLogits) {
    // The greedy token of each row (first index of the maximum, as the engine's argmax): a device-resident engine
    // fetches these 8 bytes per row instead of the logits when it needs no more (generate.ts `needLogits`).
    const next = g.op('ArgMax', [logits], { axis: -1, keepdims: 0 }, { name: 'next_token' });
    g.output(next, 'next_token', DataType.INT64, ['batch', 1]);
  }
}
