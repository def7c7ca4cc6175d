// Independent reference forward of InternVL2 (InternViT + pixel shuffle + mlp1 + InternLM2), plain TypeScript in
// float64, written from ../shared/docs/model-runtime.md §B. The engine's tests compare the built ONNX graphs to it.
// No KV cache, no batching, no padding: every call recomputes from scratch (that is the point of a reference).
import type { Checkpoint } from '../../../src/model/checkpoint/checkpoint.ts';
import type { InternVLConfig } from '../../../src/model/checkpoint/config.ts';
import {
  LLM_GLOBAL,
  MLP1,
  VISION_EMBEDDINGS,
  llmLayerNames,
  visionLayerNames,
} from '../../../src/model/checkpoint/tensor-names.ts';
import {
  applyRotary,
  gelu,
  layerNorm,
  linear,
  pixelShuffle,
  rmsNorm,
  silu,
  softmaxInPlace,
  splitPackedQkv,
} from './math.ts';

/** `<IMG_CONTEXT>` id of InternVL2 (model-runtime.md B.7). */
export const IMG_CONTEXT_ID = 92546;
/** mlp1.0 is nn.LayerNorm(…) with PyTorch's default eps, not the ViT's (model-runtime.md B.3). */
const MLP1_LAYER_NORM_EPS = 1e-5;

type Weights = Map<string, Float32Array>;

/** All tensors of a checkpoint as float32 (bf16/fp16 values are exact in float32), cached per checkpoint. */
const cache = new WeakMap<Checkpoint, Promise<Weights>>();
function weightsOf(ckpt: Checkpoint): Promise<Weights> {
  let w = cache.get(ckpt);
  if (!w) {
    w = (async () => {
      const m: Weights = new Map();
      for (const name of ckpt.tensorNames) m.set(name, await ckpt.tensor(name).toFloat32());
      return m;
    })();
    cache.set(ckpt, w);
  }
  return w;
}

function get(w: Weights, name: string): Float32Array {
  const t = w.get(name);
  if (!t) throw new Error(`reference forward: tensor "${name}" not in checkpoint`);
  return t;
}

// ---------------------------------------------------------------------------------------------------------------
// Vision: pixel_values [tiles, 3, S, S] -> image embeddings [tiles, numImageToken, llmHidden]

/**
 * InternViT embeddings + the first `layersUsed` encoder layers for one tile (model-runtime.md B.1, B.2).
 * Returns the hidden states [1 + grid², D], CLS first.
 */
export function visionEncoderTile(
  config: InternVLConfig,
  w: Weights,
  pixels: Float32Array,
  tileOffset: number,
): Float64Array {
  const v = config.vision;
  const D = v.hiddenSize;
  const P = v.patchSize;
  const G = v.gridSize;
  const S = v.imageSize;
  const C = v.numChannels;
  const T = 1 + G * G;
  const x = new Float64Array(T * D);

  // 1. Conv2d(C -> D, kernel P, stride P); token 1 + row*G + col.
  const pw = get(w, VISION_EMBEDDINGS.patchWeight);
  const pb = get(w, VISION_EMBEDDINGS.patchBias);
  for (let row = 0; row < G; row++) {
    for (let col = 0; col < G; col++) {
      const t = 1 + row * G + col;
      for (let d = 0; d < D; d++) {
        let s = pb[d];
        for (let ch = 0; ch < C; ch++) {
          for (let ky = 0; ky < P; ky++) {
            const pixRow = tileOffset + (ch * S + row * P + ky) * S + col * P;
            const wRow = ((d * C + ch) * P + ky) * P;
            for (let kx = 0; kx < P; kx++) s += pw[wRow + kx] * pixels[pixRow + kx];
          }
        }
        x[t * D + d] = s;
      }
    }
  }
  // 2. CLS token first; 3. + position embedding (stored grid == conv grid: no interpolation).
  const cls = get(w, VISION_EMBEDDINGS.classEmbedding);
  for (let d = 0; d < D; d++) x[d] = cls[d];
  const pos = get(w, VISION_EMBEDDINGS.positionEmbedding);
  for (let i = 0; i < T * D; i++) x[i] += pos[i];

  // Encoder layers: x += ls1 * proj(MHA(LN1 x)); x += ls2 * fc2(gelu(fc1(LN2 x))).
  const heads = v.numAttentionHeads;
  const hd = v.headDim;
  const scale = hd ** -0.5;
  const scores = new Float64Array(T);
  for (let l = 0; l < v.layersUsed; l++) {
    const n = visionLayerNames(l);
    const h = layerNorm(x, D, get(w, n.norm1Weight), get(w, n.norm1Bias), v.layerNormEps);
    const qkv = linear(h, T, D, get(w, n.qkvWeight), 3 * D, v.qkvBias ? get(w, n.qkvBias) : undefined);
    // qkv row = [q (D) | k (D) | v (D)], head j = dims j*hd .. j*hd+hd-1 within each (B.2).
    const attn = new Float64Array(T * D);
    const q = new Float64Array(T * hd);
    const k = new Float64Array(T * hd);
    const val = new Float64Array(T * hd);
    for (let head = 0; head < heads; head++) {
      for (let t = 0; t < T; t++) {
        for (let d = 0; d < hd; d++) {
          q[t * hd + d] = qkv[t * 3 * D + head * hd + d];
          k[t * hd + d] = qkv[t * 3 * D + D + head * hd + d];
          val[t * hd + d] = qkv[t * 3 * D + 2 * D + head * hd + d];
        }
      }
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < T; j++) {
          let s = 0;
          for (let d = 0; d < hd; d++) s += q[i * hd + d] * k[j * hd + d];
          scores[j] = s * scale;
        }
        softmaxInPlace(scores, 0, T); // non-causal, no mask
        for (let d = 0; d < hd; d++) {
          let s = 0;
          for (let j = 0; j < T; j++) s += scores[j] * val[j * hd + d];
          attn[i * D + head * hd + d] = s;
        }
      }
    }
    const o = linear(attn, T, D, get(w, n.projWeight), D, get(w, n.projBias));
    const ls1 = get(w, n.ls1);
    for (let i = 0; i < T * D; i++) x[i] += ls1[i % D] * o[i];

    const h2 = layerNorm(x, D, get(w, n.norm2Weight), get(w, n.norm2Bias), v.layerNormEps);
    const f1 = linear(h2, T, D, get(w, n.fc1Weight), v.intermediateSize, get(w, n.fc1Bias));
    for (let i = 0; i < f1.length; i++) f1[i] = gelu(f1[i]);
    const f2 = linear(f1, T, v.intermediateSize, get(w, n.fc2Weight), D, get(w, n.fc2Bias));
    const ls2 = get(w, n.ls2);
    for (let i = 0; i < T * D; i++) x[i] += ls2[i % D] * f2[i];
  }
  return x; // no final norm (A.2)
}

/**
 * Image embeddings for `tiles` tiles of pixel_values (float32 [tiles, 3, S, S], already normalised):
 * ViT -> drop CLS -> pixel shuffle (ps_version of the config) -> mlp1. Returns [tiles, numImageToken, llmHidden].
 */
export async function referenceVisionEmbeds(
  ckpt: Checkpoint,
  pixelValues: Float32Array,
  tiles: number,
): Promise<Float64Array> {
  const config = ckpt.config;
  const w = await weightsOf(ckpt);
  const v = config.vision;
  const tileSize = v.numChannels * v.imageSize * v.imageSize;
  if (pixelValues.length !== tiles * tileSize) {
    throw new Error(
      `referenceVisionEmbeds: ${pixelValues.length} pixel values, expected ${tiles}x${tileSize}`,
    );
  }
  const D = v.hiddenSize;
  const G = v.gridSize;
  const H = config.llm.hiddenSize;
  const M = config.mlp1InputSize;
  const N = config.numImageToken;
  const out = new Float64Array(tiles * N * H);
  for (let t = 0; t < tiles; t++) {
    const hidden = visionEncoderTile(config, w, pixelValues, t * tileSize);
    const patches = hidden.subarray(D); // drop CLS -> [G*G, D] viewed as [1, G, G, D]
    const shuffled = pixelShuffle(patches, 1, G, G, D, config.downsampleRatio, config.psVersion); // [N, M]
    const normed = layerNorm(
      shuffled,
      M,
      get(w, MLP1.normWeight),
      get(w, MLP1.normBias),
      MLP1_LAYER_NORM_EPS,
    );
    const a = linear(normed, N, M, get(w, MLP1.fc1Weight), H, get(w, MLP1.fc1Bias));
    for (let i = 0; i < a.length; i++) a[i] = gelu(a[i]);
    out.set(linear(a, N, H, get(w, MLP1.fc2Weight), H, get(w, MLP1.fc2Bias)), t * N * H);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Language model

export interface ReferenceLogitsOptions {
  /** Image embeddings [k, llmHidden] written over the rows whose id is `imageContextTokenId`, in order (B.7). */
  imageEmbeds?: ArrayLike<number>;
  imageContextTokenId?: number;
  /** Which positions to return logits for: 'last' (default), 'all', or a list. */
  positions?: 'last' | 'all' | number[];
}

/** The input embeddings: token embedding rows, IMG_CONTEXT rows overwritten by the image embeddings in order. */
export function inputEmbeddings(
  config: InternVLConfig,
  w: Weights,
  inputIds: number[],
  imageEmbeds?: ArrayLike<number>,
  imageContextTokenId = IMG_CONTEXT_ID,
): Float64Array {
  const H = config.llm.hiddenSize;
  const emb = get(w, LLM_GLOBAL.tokEmbeddings);
  const x = new Float64Array(inputIds.length * H);
  let next = 0;
  const available = imageEmbeds ? imageEmbeds.length / H : 0;
  inputIds.forEach((id, n) => {
    if (!Number.isInteger(id) || id < 0 || id >= config.llm.vocabSize) {
      throw new Error(`reference forward: token id ${id} at position ${n} is outside the vocabulary`);
    }
    if (imageEmbeds && id === imageContextTokenId) {
      if (next >= available)
        throw new Error(`reference forward: more context tokens than the ${available} image embeddings`);
      for (let d = 0; d < H; d++) x[n * H + d] = imageEmbeds[next * H + d];
      next++;
    } else {
      for (let d = 0; d < H; d++) x[n * H + d] = emb[id * H + d];
    }
  });
  if (imageEmbeds && next !== available) {
    throw new Error(
      `reference forward: ${available} image embeddings but ${next} context tokens in input_ids`,
    );
  }
  return x;
}

/** Final hidden states (after model.norm) of the whole sequence [N, hidden], positions 0..N-1. */
export function decoderHidden(config: InternVLConfig, w: Weights, embeds: Float64Array): Float64Array {
  const l = config.llm;
  const H = l.hiddenSize;
  const N = embeds.length / H;
  if (N > l.maxPositionEmbeddings)
    throw new Error(`reference forward: ${N} tokens exceed max_position_embeddings`);
  const hd = l.headDim;
  const nh = l.numAttentionHeads;
  const nkv = l.numKeyValueHeads;
  const x = Float64Array.from(embeds);
  const scores = new Float64Array(N);
  for (let layer = 0; layer < l.numHiddenLayers; layer++) {
    const n = llmLayerNames(layer);
    const h = rmsNorm(x, H, get(w, n.attentionNorm), l.rmsNormEps);
    const qkv = linear(h, N, H, get(w, n.wqkv), l.qkvRows);
    const q = new Float64Array(N * nh * hd);
    const k = new Float64Array(N * nkv * hd);
    const v = new Float64Array(N * nkv * hd);
    for (let t = 0; t < N; t++) {
      const parts = splitPackedQkv(qkv.subarray(t * l.qkvRows, (t + 1) * l.qkvRows), nh, nkv, hd);
      for (let j = 0; j < nh; j++) applyRotary(parts.q, j * hd, hd, t, l.ropeTheta);
      for (let j = 0; j < nkv; j++) applyRotary(parts.k, j * hd, hd, t, l.ropeTheta);
      q.set(parts.q, t * nh * hd);
      k.set(parts.k, t * nkv * hd);
      v.set(parts.v, t * nkv * hd);
    }
    // Causal attention; query head j reads KV head floor(j / kvGroups) (repeat_kv).
    const attn = new Float64Array(N * nh * hd);
    const scale = 1 / Math.sqrt(hd);
    for (let j = 0; j < nh; j++) {
      const g = Math.floor(j / l.kvGroups);
      for (let i = 0; i < N; i++) {
        for (let t = 0; t <= i; t++) {
          let s = 0;
          for (let d = 0; d < hd; d++) s += q[(i * nh + j) * hd + d] * k[(t * nkv + g) * hd + d];
          scores[t] = s * scale;
        }
        softmaxInPlace(scores, 0, i + 1);
        for (let d = 0; d < hd; d++) {
          let s = 0;
          for (let t = 0; t <= i; t++) s += scores[t] * v[(t * nkv + g) * hd + d];
          attn[(i * nh + j) * hd + d] = s;
        }
      }
    }
    const o = linear(attn, N, nh * hd, get(w, n.wo), H);
    for (let i = 0; i < x.length; i++) x[i] += o[i];

    const h2 = rmsNorm(x, H, get(w, n.ffnNorm), l.rmsNormEps);
    const gate = linear(h2, N, H, get(w, n.w1), l.intermediateSize);
    const up = linear(h2, N, H, get(w, n.w3), l.intermediateSize);
    for (let i = 0; i < gate.length; i++) gate[i] = silu(gate[i]) * up[i];
    const down = linear(gate, N, l.intermediateSize, get(w, n.w2), H);
    for (let i = 0; i < x.length; i++) x[i] += down[i];
  }
  return rmsNorm(x, H, get(w, LLM_GLOBAL.norm), l.rmsNormEps);
}

/** Logits [positions, vocab] (row-major) for input ids, optionally with image embeddings spliced in. */
export async function referenceLogits(
  ckpt: Checkpoint,
  inputIds: number[],
  options: ReferenceLogitsOptions = {},
): Promise<Float64Array> {
  if (inputIds.length === 0) throw new Error('reference forward: empty input_ids');
  const config = ckpt.config;
  const w = await weightsOf(ckpt);
  const H = config.llm.hiddenSize;
  const V = config.llm.vocabSize;
  const embeds = inputEmbeddings(config, w, inputIds, options.imageEmbeds, options.imageContextTokenId);
  const hidden = decoderHidden(config, w, embeds);
  const N = inputIds.length;
  const pos = options.positions ?? 'last';
  const rows = pos === 'last' ? [N - 1] : pos === 'all' ? [...Array(N).keys()] : pos;
  const picked = new Float64Array(rows.length * H);
  rows.forEach((r, i) => {
    if (!Number.isInteger(r) || r < 0 || r >= N)
      throw new Error(`reference forward: position ${r} outside 0..${N - 1}`);
    picked.set(hidden.subarray(r * H, (r + 1) * H), i * H);
  });
  return linear(picked, rows.length, H, get(w, LLM_GLOBAL.output), V);
}

/** First index of the maximum (torch.argmax's tie rule on CPU). */
export function argmax(a: ArrayLike<number>, from = 0, len = a.length - from): number {
  let best = 0;
  for (let i = 1; i < len; i++) if (a[from + i] > a[from + best]) best = i;
  return best;
}

/**
 * Greedy decoding by full recompute at every step. Returns the generated ids; a stop id, when produced, is the
 * last element (as HF generate() returns it). Image embeddings replace context tokens of the prompt only: a
 * generated id gets its plain token embedding (HF generate embeds new tokens with tok_embeddings).
 */
export async function referenceGreedy(
  ckpt: Checkpoint,
  inputIds: number[],
  imageEmbeds: ArrayLike<number> | undefined,
  maxNewTokens: number,
  stopIds: number[],
  imageContextTokenId = IMG_CONTEXT_ID,
): Promise<number[]> {
  const config = ckpt.config;
  const w = await weightsOf(ckpt);
  const H = config.llm.hiddenSize;
  const V = config.llm.vocabSize;
  const tok = get(w, LLM_GLOBAL.tokEmbeddings);
  let embeds = inputEmbeddings(config, w, inputIds, imageEmbeds, imageContextTokenId);
  const out: number[] = [];
  for (let step = 0; step < maxNewTokens; step++) {
    const hidden = decoderHidden(config, w, embeds);
    const N = embeds.length / H;
    const logits = linear(hidden.subarray((N - 1) * H), 1, H, get(w, LLM_GLOBAL.output), V);
    const next = argmax(logits);
    out.push(next);
    if (stopIds.includes(next)) break;
    const grown = new Float64Array(embeds.length + H);
    grown.set(embeds);
    for (let d = 0; d < H; d++) grown[embeds.length + d] = tok[next * H + d];
    embeds = grown;
  }
  return out;
}
