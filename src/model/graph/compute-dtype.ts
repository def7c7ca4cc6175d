// The decoder's compute precision. 'fp32' is the default everywhere. 'fp16' (for GPU providers) keeps the
// activations, the KV cache (past/present, and the per-layer qkv output), the rotary cos/sin tables, the norm weights, the linear
// weights (no Cast) and MatMulNBits scales in float16, with the graph boundary in float32 where the host touches it:
// `inputs_embeds` comes in as float32 (one Cast at the start) and `logits` goes out as float32 (one Cast at the
// end), as onnxruntime-genai builds fp16 models for WebGPU/CUDA (`builders/base.py`: io dtype fp16, logits fp32 for
// bf16 models). CUDA's GroupQueryAttention is fp16/bf16 only (model-runtime.md "Fused decoder and device
// residency"); the engine refuses an fp16-compute build on the CPU provider (onnx-model.ts), naming --device.
import { DataType, GraphBuilder, bytesOf, type DataTypeId } from './onnx-builder.ts';
import { linear, toFloat16Bits, transpose2d, type LinearFormat } from './layers.ts';
import { quantizeMatrix } from './quantize.ts';

export type ComputeDtype = 'fp32' | 'fp16';

export const COMPUTE_DTYPES: readonly ComputeDtype[] = ['fp32', 'fp16'];

/** A compute dtype by name (build options, engine options), or an error naming the choices. */
export function computeDtype(name: string): ComputeDtype {
  if (!(COMPUTE_DTYPES as readonly string[]).includes(name)) {
    throw new Error(`unknown compute dtype '${name}' (expected one of ${COMPUTE_DTYPES.join(', ')})`);
  }
  return name as ComputeDtype;
}

export function elemType(dt: ComputeDtype): DataTypeId {
  return dt === 'fp16' ? DataType.FLOAT16 : DataType.FLOAT;
}

/** Additive-mask value for hidden keys: the dtype's lowest finite value, as HF's `torch.finfo(dtype).min`. */
export function maskMin(dt: ComputeDtype): number {
  return dt === 'fp16' ? -65504 : -3.4028234663852886e38;
}

/** A float initializer in the compute dtype. */
export function initFloat(
  g: GraphBuilder,
  name: string,
  dims: number[],
  values: Float32Array,
  dt: ComputeDtype,
): string {
  if (dt === 'fp32') return g.initF32(name, dims, values);
  return g.initializer(name, DataType.FLOAT16, dims, bytesOf(toFloat16Bits(values)));
}

/** A scalar constant in the compute dtype (deduplicated by name). */
export function scalar(g: GraphBuilder, name: string, value: number, dt: ComputeDtype): string {
  return initFloat(g, name, [], Float32Array.of(value), dt);
}

/**
 * y = x · Wᵀ for a PyTorch Linear weight [n, k] in the compute dtype. fp32 compute: layers.ts `linear` (weights
 * cast up in-graph when stored fp16). fp16 compute: the weight is stored fp16 and multiplied as is; MatMulNBits
 * gets fp16 scales (its scales take the type of its input).
 */
export function computeLinear(
  g: GraphBuilder,
  x: string,
  name: string,
  w: Float32Array,
  n: number,
  k: number,
  format: LinearFormat,
  dt: ComputeDtype,
): string {
  if (dt === 'fp32') return linear(g, x, name, w, n, k, null, format);
  if (w.length !== n * k)
    throw new Error(`linear ${name}: weight has ${w.length} values, expected [${n}, ${k}]`);
  if (format.kind === 'nbits') {
    const q = quantizeMatrix(w, n, k, format);
    const inputs = [
      x,
      g.initializer(`${name}.qweight`, DataType.UINT8, [n, q.kBlocks, (q.blockSize * q.bits) / 8], q.data),
      initFloat(g, `${name}.scales`, [n, q.kBlocks], q.scales, 'fp16'),
    ];
    if (q.zeroPoints) {
      inputs.push(
        g.initializer(`${name}.zero_points`, DataType.UINT8, [n, q.zeroPoints.length / n], q.zeroPoints),
      );
    }
    return g.op(
      'MatMulNBits',
      inputs,
      { K: k, N: n, bits: q.bits, block_size: q.blockSize, accuracy_level: format.accuracyLevel },
      { domain: 'com.microsoft', name },
    );
  }
  const wt = initFloat(g, `${name}.weight`, [k, n], transpose2d(w, n, k), 'fp16');
  return g.op('MatMul', [x, wt], {}, { name });
}
