// Plain float64 building blocks of the reference forward, written from the math in
// ../shared/docs/model-runtime.md §B (not from the ONNX graphs). Readable first; fast enough for the tiny model.
// All matrices are row-major; an nn.Linear weight is [out, in].

/** erf to ~1e-14: Maclaurin series for |x| < 3, continued fraction of erfc beyond (no Math.erf in JS). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated bottom-up.
  let k = ax;
  for (let n = 60; n >= 1; n--) k = ax + n / 2 / k;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / k;
  return Math.sign(x) * (1 - erfc);
}

/** Exact (erf) GELU: transformers ACT2FN['gelu'] and nn.GELU() default (model-runtime.md B.2). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** y[n, o] = sum_i x[n, i] * W[o, i] + b[o]. */
export function linear(
  x: Float64Array,
  rows: number,
  inDim: number,
  weight: ArrayLike<number>,
  outDim: number,
  bias?: ArrayLike<number>,
): Float64Array {
  if (x.length !== rows * inDim)
    throw new Error(`linear: input has ${x.length} values, expected ${rows}x${inDim}`);
  if (weight.length !== outDim * inDim)
    throw new Error(`linear: weight has ${weight.length} values, expected ${outDim}x${inDim}`);
  const y = new Float64Array(rows * outDim);
  for (let n = 0; n < rows; n++) {
    const xo = n * inDim;
    for (let o = 0; o < outDim; o++) {
      const wo = o * inDim;
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < inDim; i++) s += x[xo + i] * weight[wo + i];
      y[n * outDim + o] = s;
    }
  }
  return y;
}

/** nn.LayerNorm over the last dim (biased variance), affine. */
export function layerNorm(
  x: Float64Array,
  dim: number,
  weight: ArrayLike<number>,
  bias: ArrayLike<number>,
  eps: number,
): Float64Array {
  const y = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += dim) {
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[o + i];
    mean /= dim;
    let v = 0;
    for (let i = 0; i < dim; i++) v += (x[o + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / dim + eps);
    for (let i = 0; i < dim; i++) y[o + i] = (x[o + i] - mean) * inv * weight[i] + bias[i];
  }
  return y;
}

/** InternLM2 RMSNorm: x * rsqrt(mean(x^2) + eps) * weight (no bias, no +1 offset; model-runtime.md B.4). */
export function rmsNorm(x: Float64Array, dim: number, weight: ArrayLike<number>, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += dim) {
    let ms = 0;
    for (let i = 0; i < dim; i++) ms += x[o + i] * x[o + i];
    const inv = 1 / Math.sqrt(ms / dim + eps);
    for (let i = 0; i < dim; i++) y[o + i] = x[o + i] * inv * weight[i];
  }
  return y;
}

/**
 * Rotary embedding, half-split (GPT-NeoX / HF rotate_half) convention (model-runtime.md B.6):
 * inv_freq[j] = theta^(-2j/d); x'[j] = x[j] cos - x[j+d/2] sin; x'[j+d/2] = x[j+d/2] cos + x[j] sin.
 * Angles in float64 (HF uses float32 angles; the difference is ~1e-7 relative at short positions).
 */
export function applyRotary(
  x: Float64Array,
  offset: number,
  headDim: number,
  position: number,
  theta: number,
): void {
  const half = headDim / 2;
  for (let j = 0; j < half; j++) {
    const angle = position * theta ** ((-2 * j) / headDim);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    const a = x[offset + j];
    const b = x[offset + j + half];
    x[offset + j] = a * c - b * s;
    x[offset + j + half] = b * c + a * s;
  }
}

/**
 * Split one token's packed wqkv output (model-runtime.md B.5): rows grouped per KV head g, each group
 * `[Q head g*G, ..., Q head g*G+G-1, K head g, V head g]` of headDim rows (G = query heads per KV head).
 */
export function splitPackedQkv(
  row: ArrayLike<number>,
  numHeads: number,
  numKvHeads: number,
  headDim: number,
): { q: Float64Array; k: Float64Array; v: Float64Array } {
  const groups = numHeads / numKvHeads;
  const gs = groups + 2;
  const q = new Float64Array(numHeads * headDim);
  const k = new Float64Array(numKvHeads * headDim);
  const v = new Float64Array(numKvHeads * headDim);
  for (let g = 0; g < numKvHeads; g++) {
    for (let slot = 0; slot < gs; slot++) {
      const src = (g * gs + slot) * headDim;
      let dst: Float64Array;
      let at: number;
      if (slot < groups) [dst, at] = [q, (g * groups + slot) * headDim];
      else if (slot === groups) [dst, at] = [k, g * headDim];
      else [dst, at] = [v, g * headDim];
      for (let d = 0; d < headDim; d++) dst[at + d] = row[src + d];
    }
  }
  return { q, k, v };
}

/** Row-major permutation of a 4-D array: out[idx permuted] = x[idx], torch `x.permute(perm)`. */
export function permute4(
  x: Float64Array,
  shape: [number, number, number, number],
  perm: [number, number, number, number],
) {
  const outShape = perm.map((p) => shape[p]) as [number, number, number, number];
  const out = new Float64Array(x.length);
  const inStride = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
  const idx = [0, 0, 0, 0];
  let o = 0;
  for (idx[0] = 0; idx[0] < outShape[0]; idx[0]++)
    for (idx[1] = 0; idx[1] < outShape[1]; idx[1]++)
      for (idx[2] = 0; idx[2] < outShape[2]; idx[2]++)
        for (idx[3] = 0; idx[3] < outShape[3]; idx[3]++) {
          let src = 0;
          for (let a = 0; a < 4; a++) src += idx[a] * inStride[perm[a]];
          out[o++] = x[src];
        }
  return { data: out, shape: outShape };
}

/**
 * IVL `InternVLChatModel.pixel_shuffle`, step by step as written (views are free in row-major order):
 * x [n, w, h, c] -> view [n, w, h*s, c/s] -> permute(0,2,1,3) -> view [n, h*s, w*s, c/s^2]
 * -> (ps_version v2 only) permute(0,2,1,3). Returns [n, w*s, h*s, c/s^2] for v2 (model-runtime.md B.3).
 */
export function pixelShuffle(
  x: Float64Array,
  n: number,
  w: number,
  h: number,
  c: number,
  scale: number,
  version: 'v1' | 'v2',
): Float64Array {
  const hs = h * scale;
  const ws = w * scale;
  const step = permute4(x, [n, w, hs, c / scale], [0, 2, 1, 3]); // -> [n, hs, w, c/s]
  if (version === 'v1') return step.data; // viewed as [n, hs, ws, c/s^2]
  return permute4(step.data, [n, hs, ws, c / (scale * scale)], [0, 2, 1, 3]).data;
}

/** Softmax in place over a[from, from+len). */
export function softmaxInPlace(a: Float64Array, from: number, len: number): void {
  let max = -Infinity;
  for (let i = 0; i < len; i++) max = Math.max(max, a[from + i]);
  let sum = 0;
  for (let i = 0; i < len; i++) {
    a[from + i] = Math.exp(a[from + i] - max);
    sum += a[from + i];
  }
  for (let i = 0; i < len; i++) a[from + i] /= sum;
}
