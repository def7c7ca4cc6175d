// Weight-only block quantization (round-to-nearest) into the layout of ORT's com.microsoft MatMulNBits
// (model-runtime.md D.3; onnxruntime docs/ContribOperators.md "MatMulNBits"):
//   B      uint8 [N, kBlocks, blockSize*bits/8]  — per output row n, K split into blocks; 4-bit: element k even in the
//                                                  LOW nibble, k odd in the high nibble; K is padded to kBlocks*blockSize
//   scales float32 [N, kBlocks]
//   zero_points (optional) uint8 [N, ceil(kBlocks*bits/8)] — 4-bit: block b even in the low nibble;
//                                                  when absent the kernel uses 2^(bits-1) (8 for 4-bit, 128 for 8-bit)
//   dequant(q) = (q - zp) * scale;  Y = A · W_deqᵀ with W in PyTorch's [N, K] layout.
// Symmetric mode copies MLAS's `MlasQuantizeBlockwise` choice (onnxruntime core/mlas/lib/q4_common.h): the value of
// largest magnitude maps to -2^(bits-1) (scale = signedMax / -2^(bits-1)), so the full range [0, 2^bits-1] is used and
// zp stays the kernel default. Asymmetric mode: range [min(0,lo), max(0,hi)] over 2^bits-1 steps, zp rounded.

export type Bits = 4 | 8;

export interface QuantOptions {
  bits: Bits;
  /** Power of two, >= 16 (MatMulNBits constraint). */
  blockSize: number;
  /** Asymmetric quantization with explicit zero points. */
  zeroPoint: boolean;
}

export interface QuantizedMatrix {
  n: number;
  k: number;
  bits: Bits;
  blockSize: number;
  kBlocks: number;
  /** [n, kBlocks, blockSize*bits/8] */
  data: Uint8Array;
  /** [n, kBlocks] */
  scales: Float32Array;
  /** [n, ceil(kBlocks*bits/8)] packed, or null when the default zero point 2^(bits-1) applies. */
  zeroPoints: Uint8Array | null;
}

export function validateQuantOptions(o: QuantOptions): void {
  if (o.bits !== 4 && o.bits !== 8)
    throw new Error(`quantization bits must be 4 or 8, got ${String(o.bits)}`);
  if (!Number.isInteger(o.blockSize) || o.blockSize < 16 || (o.blockSize & (o.blockSize - 1)) !== 0) {
    throw new Error(`block size must be a power of two >= 16 (MatMulNBits), got ${o.blockSize}`);
  }
}

/** Quantize a row-major [n, k] float matrix (PyTorch Linear weight layout). */
export function quantizeMatrix(w: Float32Array, n: number, k: number, o: QuantOptions): QuantizedMatrix {
  validateQuantOptions(o);
  if (w.length !== n * k) throw new Error(`quantizeMatrix: ${w.length} values is not [${n}, ${k}]`);
  const { bits, blockSize } = o;
  const kBlocks = Math.ceil(k / blockSize);
  const blockBytes = (blockSize * bits) / 8;
  const maxQ = (1 << bits) - 1;
  const defaultZp = 1 << (bits - 1);
  const data = new Uint8Array(n * kBlocks * blockBytes);
  const scales = new Float32Array(n * kBlocks);
  const zpBytesPerRow = Math.ceil((kBlocks * bits) / 8);
  const zeroPoints = o.zeroPoint ? new Uint8Array(n * zpBytesPerRow) : null;
  const q = new Uint8Array(blockSize);
  for (let row = 0; row < n; row++) {
    const rowBase = row * k;
    for (let b = 0; b < kBlocks; b++) {
      const start = b * blockSize;
      const end = Math.min(start + blockSize, k);
      let scale: number;
      let zp: number;
      if (zeroPoints) {
        let lo = 0;
        let hi = 0;
        for (let i = start; i < end; i++) {
          const v = w[rowBase + i];
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        scale = Math.fround((hi - lo) / maxQ);
        zp = scale === 0 ? defaultZp : clamp(Math.round(-lo / scale), 0, maxQ);
      } else {
        let signedMax = 0;
        for (let i = start; i < end; i++) {
          const v = w[rowBase + i];
          if (Math.abs(v) > Math.abs(signedMax)) signedMax = v;
        }
        scale = Math.fround(signedMax / -defaultZp);
        zp = defaultZp;
      }
      const inv = scale === 0 ? 0 : 1 / scale;
      q.fill(zp);
      for (let i = start; i < end; i++) q[i - start] = clamp(Math.round(w[rowBase + i] * inv) + zp, 0, maxQ);
      scales[row * kBlocks + b] = scale;
      const out = (row * kBlocks + b) * blockBytes;
      if (bits === 8) data.set(q, out);
      else for (let i = 0; i < blockSize; i += 2) data[out + i / 2] = q[i] | (q[i + 1] << 4);
      if (zeroPoints) {
        if (bits === 8) zeroPoints[row * zpBytesPerRow + b] = zp;
        else zeroPoints[row * zpBytesPerRow + (b >> 1)] |= b & 1 ? zp << 4 : zp;
      }
    }
  }
  return { n, k, bits, blockSize, kBlocks, data, scales, zeroPoints };
}

/** The quantized integer of element (row, i). */
export function quantizedValue(m: QuantizedMatrix, row: number, i: number): number {
  const b = Math.floor(i / m.blockSize);
  const within = i - b * m.blockSize;
  const blockBytes = (m.blockSize * m.bits) / 8;
  const base = (row * m.kBlocks + b) * blockBytes;
  if (m.bits === 8) return m.data[base + within];
  const byte = m.data[base + (within >> 1)];
  return within & 1 ? byte >> 4 : byte & 0x0f;
}

export function zeroPointOf(m: QuantizedMatrix, row: number, block: number): number {
  if (!m.zeroPoints) return 1 << (m.bits - 1);
  const perRow = Math.ceil((m.kBlocks * m.bits) / 8);
  if (m.bits === 8) return m.zeroPoints[row * perRow + block];
  const byte = m.zeroPoints[row * perRow + (block >> 1)];
  return block & 1 ? byte >> 4 : byte & 0x0f;
}

/** Dequantize back to a row-major [n, k] matrix: (q - zp) * scale, as MatMulNBits does. */
export function dequantizeMatrix(m: QuantizedMatrix): Float32Array {
  const out = new Float32Array(m.n * m.k);
  for (let row = 0; row < m.n; row++) {
    for (let i = 0; i < m.k; i++) {
      const b = Math.floor(i / m.blockSize);
      out[row * m.k + i] =
        (quantizedValue(m, row, i) - zeroPointOf(m, row, b)) * m.scales[row * m.kBlocks + b];
    }
  }
  return out;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * The quantized values in the layout of ORT's com.microsoft GatherBlockQuantized with uint8 data (contrib op, CPU
 * kernel `contrib_ops/cpu/quantization/gather_block_quantized.cc`; model-runtime.md D.2): `data` uint8
 * [n, ceil(k*bits/8)], i.e. each row's k values packed back to back WITHOUT MatMulNBits' padding of k to whole
 * blocks (the kernel finds element i's block as i / block_size on the unpadded row). Same nibble order (even element
 * in the low nibble), and the same scales [n, kBlocks] and packed zero points [n, ceil(kBlocks*bits/8)] (default
 * zero point 2^(bits-1) when absent), so `dequantizeMatrix` gives exactly what the op outputs (verified bit for bit
 * on ORT 1.30 CPU by test/model/graph/embed-quant.test.ts). When k is a multiple of the block size this is the
 * MatMulNBits buffer itself (no copy).
 */
export function unpaddedRows(m: QuantizedMatrix): Uint8Array {
  const rowBytes = Math.ceil((m.k * m.bits) / 8);
  const paddedRowBytes = (m.kBlocks * m.blockSize * m.bits) / 8;
  if (rowBytes === paddedRowBytes) return m.data;
  const out = new Uint8Array(m.n * rowBytes);
  for (let row = 0; row < m.n; row++) {
    out.set(m.data.subarray(row * paddedRowBytes, row * paddedRowBytes + rowBytes), row * rowBytes);
  }
  return out;
}
