// Building blocks shared by the vision and decoder graphs: linear layers in every weight format, norms, and the
// weight source the builders pull tensors from (one at a time, so a big checkpoint is streamed).
import { numberToF16Bits } from '../checkpoint/dtype.ts';
import { DataType, GraphBuilder, bytesOf, float } from './onnx-builder.ts';
import { quantizeMatrix, type Bits } from './quantize.ts';

/** Where graph builders read weights from: float32 values of a named tensor, plus its shape. */
export interface WeightSource {
  shape(name: string): number[];
  float32(name: string): Promise<Float32Array>;
}

/** How the weight of one linear layer is stored and multiplied. */
export type LinearFormat =
  | { kind: 'fp32' }
  /** fp16 weight, Cast to float32 in-graph: compute stays float32 (ORT CPU has few fp16 kernels). */
  | { kind: 'fp16' }
  /** com.microsoft MatMulNBits, weight-only, RTN. */
  | { kind: 'nbits'; bits: Bits; blockSize: number; zeroPoint: boolean; accuracyLevel: number };

/**
 * float32 -> fp16 bits, round to nearest even. Fast path on the raw bits for values in fp16's normal range; the
 * rest (subnormals, overflow, Inf/NaN) goes through the checkpoint module's exact `numberToF16Bits`.
 */
export function toFloat16Bits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i];
    const exp = (x >>> 23) & 0xff;
    // fp16 normal exponents 1..30 <=> float32 exponents 113..142 (rounding may carry into 143 -> Inf, handled below)
    if (exp >= 113 && exp <= 142) {
      const sign = (x >>> 16) & 0x8000;
      const rest = x & 0x1fff;
      let h = ((exp - 112) << 10) | ((x >>> 13) & 0x3ff);
      if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h += 1; // carries into the exponent correctly
      out[i] = sign | h;
    } else {
      out[i] = numberToF16Bits(values[i]);
    }
  }
  return out;
}

/** Transpose a row-major [rows, cols] matrix (in 16×16 tiles: power-of-two strides make bigger tiles thrash the cache). */
export function transpose2d(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  const T = 16;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(r0 + T, rows);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(c0 + T, cols);
      for (let r = r0; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = w[base + c];
      }
    }
  }
  return out;
}

/**
 * A float32 tensor initializer stored in `format` (fp32 or fp16 + Cast); returns the float32 value name.
 * Quantized formats store such tensors (embeddings, conv) as fp16.
 */
export function floatTensor(
  g: GraphBuilder,
  name: string,
  dims: number[],
  values: Float32Array,
  format: LinearFormat,
): string {
  if (format.kind === 'fp32') return g.initF32(name, dims, values);
  const h = g.initializer(name, DataType.FLOAT16, dims, bytesOf(toFloat16Bits(values)));
  return g.op('Cast', [h], { to: DataType.FLOAT }, { name: `${name}_f32` });
}

/**
 * y = x · Wᵀ (+ b) for a PyTorch Linear weight `w` [n, k]. `x` is float32 [..., k]; the result float32 [..., n].
 * Biases are always float32 (small).
 */
export function linear(
  g: GraphBuilder,
  x: string,
  name: string,
  w: Float32Array,
  n: number,
  k: number,
  bias: Float32Array | null,
  format: LinearFormat,
): string {
  if (w.length !== n * k)
    throw new Error(`linear ${name}: weight has ${w.length} values, expected [${n}, ${k}]`);
  let y: string;
  if (format.kind === 'nbits') {
    const q = quantizeMatrix(w, n, k, format);
    const inputs = [
      x,
      g.initializer(`${name}.qweight`, DataType.UINT8, [n, q.kBlocks, (q.blockSize * q.bits) / 8], q.data),
      g.initF32(`${name}.scales`, [n, q.kBlocks], q.scales),
    ];
    if (q.zeroPoints) {
      inputs.push(
        g.initializer(`${name}.zero_points`, DataType.UINT8, [n, q.zeroPoints.length / n], q.zeroPoints),
      );
    }
    y = g.op(
      'MatMulNBits',
      inputs,
      { K: k, N: n, bits: q.bits, block_size: q.blockSize, accuracy_level: format.accuracyLevel },
      { domain: 'com.microsoft', name },
    );
  } else {
    const wt = floatTensor(g, `${name}.weight`, [k, n], transpose2d(w, n, k), format);
    y = g.op('MatMul', [x, wt], {}, { name });
  }
  if (bias) {
    if (bias.length !== n) throw new Error(`linear ${name}: bias has ${bias.length} values, expected ${n}`);
    y = g.op('Add', [y, g.initF32(`${name}.bias`, [n], bias)], {}, { name: `${name}_bias` });
  }
  return y;
}

export function layerNorm(
  g: GraphBuilder,
  x: string,
  name: string,
  weight: Float32Array,
  bias: Float32Array,
  eps: number,
): string {
  return g.op(
    'LayerNormalization',
    [x, g.initF32(`${name}.weight`, [weight.length], weight), g.initF32(`${name}.bias`, [bias.length], bias)],
    { axis: -1, epsilon: float(eps) },
    { name },
  );
}

/** RMSNorm (`x * rsqrt(mean(x²) + eps) * w`) = ONNX-domain SimplifiedLayerNormalization (D.2; the com.microsoft one fails). */
export function rmsNorm(g: GraphBuilder, x: string, name: string, weight: Float32Array, eps: number): string {
  return g.op(
    'SimplifiedLayerNormalization',
    [x, g.initF32(`${name}.weight`, [weight.length], weight)],
    { axis: -1, epsilon: float(eps), stash_type: 1 },
    { name },
  );
}

/** Exact (erf) GELU: ONNX Gelu, default approximate="none" (B.2: matches erf-GELU to 3e-8 on ORT CPU). */
export function gelu(g: GraphBuilder, x: string, name: string): string {
  return g.op('Gelu', [x], {}, { name });
}

/** Read a tensor and check its shape against what the config implies. */
export async function readChecked(
  src: WeightSource,
  name: string,
  expected: number[],
): Promise<Float32Array> {
  const shape = src.shape(name);
  if (shape.length !== expected.length || shape.some((d, i) => d !== expected[i])) {
    throw new Error(
      `tensor "${name}" has shape ${JSON.stringify(shape)}, the config implies ${JSON.stringify(expected)}`,
    );
  }
  return src.float32(name);
}
