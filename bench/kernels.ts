/**
 * The two onnxruntime CPU kernels a decode step is made of, timed alone on the decoder's own shapes (random data:
 * their cost does not depend on the values), for `npm run bench -- engine --full`. The bandwidth floor says what
 * the memory could feed; these say what ORT's kernels do with it on this machine, so the bench can tell the part of
 * a step the engine could still win from the part only a faster kernel would:
 * - MatMulNBits (int4/int8 GEMV, M = 1) over the five projections of a decoder layer, at the engine's threads and at
 *   one thread (a kernel that scales with threads is bound by its cores, not by the memory);
 * - GroupQueryAttention at a context, 24 layers, with the model's 16 query heads and with 8 (one per KV head): the
 *   CPU kernel runs one pass over the cache per *query* head (contrib_ops/cpu/bert/gqa_attention_base.h
 *   `ComputeAttentionProbs` / `ComputeVxAttentionScore`: a GEMV per head over its KV head's keys, then values), so
 *   with 2 query heads per KV head it streams the cache twice.
 * Both run through the engine's own C API path (ort-native.ts), cache bound in place as the engine binds it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NativeSession, type NativeTensor } from '../src/model/engine/ort-native.ts';
import { DataType, ExternalDataWriter, GraphBuilder, bytesOf } from '../src/model/graph/onnx-builder.ts';

/** The LLM's widths (InternVL2-2B: hidden 2048, 16 query heads, 8 KV heads of 128, FFN 8192, 24 layers). */
export interface DecoderShape {
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  layers: number;
}

export interface NbitsFormat {
  bits: 4 | 8;
  blockSize: number;
  accuracyLevel: number;
}

/** A fast deterministic byte source (xorshift32): 300 MiB of weights in about a second. */
function fillRandom(bytes: Uint8Array, seed: number): void {
  let x = seed | 1;
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
}

/** Bytes of one [n, k] MatMulNBits weight: packed values plus one float32 scale per block (no zero points). */
function nbitsBytes(n: number, k: number, f: NbitsFormat): number {
  const blocks = Math.ceil(k / f.blockSize);
  return n * blocks * ((f.blockSize * f.bits) / 8 + 4);
}

/** The [k, n] projections of one decoder layer: packed QKV, wo, w1, w3, w2. */
function layerProjections(s: DecoderShape): [number, number][] {
  const h = s.hidden;
  return [
    [h, (s.heads + 2 * s.kvHeads) * s.headDim],
    [s.heads * s.headDim, h],
    [h, s.intermediate],
    [h, s.intermediate],
    [s.intermediate, h],
  ];
}

/** A graph of `layers` × the layer's projections, each MatMulNBits reading its own weight from one shared input
 * per width (so every weight byte is read once per run, as in a decode step). */
function writeNbitsModel(file: string, s: DecoderShape, f: NbitsFormat, layers: number): void {
  const ext = new ExternalDataWriter(`${file}.data`);
  try {
    const g = new GraphBuilder({ name: 'nbits', externalData: ext });
    const inputs = new Map<number, string>();
    let seed = 1;
    for (let l = 0; l < layers; l++) {
      for (const [k, n] of layerProjections(s)) {
        if (!inputs.has(k)) inputs.set(k, g.input(`x${k}`, DataType.FLOAT, [1, 1, k]));
        const blocks = Math.ceil(k / f.blockSize);
        const q = new Uint8Array(n * blocks * ((f.blockSize * f.bits) / 8));
        fillRandom(q, seed++);
        const scales = new Float32Array(n * blocks).fill(0.01);
        const name = `l${l}_${k}x${n}_${seed}`;
        const y = g.op(
          'MatMulNBits',
          [
            inputs.get(k) as string,
            g.initializer(`${name}.q`, DataType.UINT8, [n, blocks, (f.blockSize * f.bits) / 8], q),
            g.initializer(`${name}.s`, DataType.FLOAT, [n, blocks], bytesOf(scales)),
          ],
          { K: k, N: n, bits: f.bits, block_size: f.blockSize, accuracy_level: f.accuracyLevel },
          { domain: 'com.microsoft', name },
        );
        g.output(y, `y_${name}`, DataType.FLOAT, [1, 1, n]);
      }
    }
    fs.writeFileSync(file, g.encode());
  } finally {
    ext.close();
  }
}

/** A graph of `layers` GroupQueryAttention nodes at decode (one new token), as decoder-graph.ts wires them: packed
 * QKV, rotary inside, caches as past and present, attention_bias. */
function writeGqaModel(file: string, s: DecoderShape, heads: number, capacity: number): void {
  const g = new GraphBuilder({ name: 'gqa' });
  const qkv = g.input('qkv', DataType.FLOAT, [1, 1, (heads + 2 * s.kvHeads) * s.headDim]);
  const seqlens = g.input('seqlens_k', DataType.INT32, [1]);
  const total = g.input('total_sequence_length', DataType.INT32, []);
  const bias = g.input('attention_bias', DataType.FLOAT, [1, 1, 1, 'total']);
  const half = (capacity * s.headDim) / 2;
  const cos = g.initializer(
    'cos',
    DataType.FLOAT,
    [capacity, s.headDim / 2],
    bytesOf(new Float32Array(half).fill(1)),
  );
  const sin = g.initializer(
    'sin',
    DataType.FLOAT,
    [capacity, s.headDim / 2],
    bytesOf(new Float32Array(half)),
  );
  const cache = [1, s.kvHeads, capacity, s.headDim];
  for (let l = 0; l < s.layers; l++) {
    const pk = g.input(`past.${l}.key`, DataType.FLOAT, cache);
    const pv = g.input(`past.${l}.value`, DataType.FLOAT, cache);
    const [o] = g.node(
      'GroupQueryAttention',
      [qkv, '', '', pk, pv, seqlens, total, cos, sin, '', bias],
      { num_heads: heads, kv_num_heads: s.kvHeads, do_rotary: 1, rotary_interleaved: 0 },
      {
        domain: 'com.microsoft',
        outputs: [`o${l}`, `present.${l}.key`, `present.${l}.value`],
        name: `gqa${l}`,
      },
    );
    g.output(o, `o${l}`, DataType.FLOAT, [1, 1, heads * s.headDim]);
    g.output(`present.${l}.key`, `present.${l}.key`, DataType.FLOAT, cache);
    g.output(`present.${l}.value`, `present.${l}.value`, DataType.FLOAT, cache);
  }
  fs.writeFileSync(file, g.encode());
}

/** Best of `reps` runs of `session`, in seconds (the first run, which sets the arena up, is not timed). */
async function best(
  session: NativeSession,
  inputs: Record<string, NativeTensor>,
  bound: Record<string, NativeTensor>,
  reps: number,
): Promise<number> {
  await session.run(inputs, bound, []);
  let t = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await session.run(inputs, bound, []);
    t = Math.min(t, performance.now() - t0);
  }
  return t / 1000;
}

/** A kernel graph opened once with its feeds, timed as often as asked (so it can interleave with the engine). */
export interface KernelProbe {
  /** Seconds per run, best of `reps`. */
  time(reps?: number): Promise<number>;
  release(): void;
}

/**
 * MatMulNBits over `layers` layers' projections (~40 MiB of int4 per layer, each weight byte read once per run, as
 * in a decode step). The model is written once into `dir`.
 */
export async function nbitsProbe(
  dir: string,
  s: DecoderShape,
  f: NbitsFormat,
  layers: number,
  threads: number,
): Promise<KernelProbe & { readonly bytes: number }> {
  const file = path.join(dir, `nbits-${f.bits}b-${f.blockSize}-acc${f.accuracyLevel}-${layers}l.onnx`);
  if (!fs.existsSync(file)) writeNbitsModel(file, s, f, layers);
  const session = await NativeSession.open(file, { threads });
  const inputs: Record<string, NativeTensor> = {};
  for (const name of session.inputNames) {
    const k = Number(name.slice(1));
    inputs[name] = { data: Float32Array.from({ length: k }, (_, i) => Math.sin(i)), dims: [1, 1, k] };
  }
  const bound: Record<string, NativeTensor> = {};
  for (const name of session.outputNames) {
    const n = Number(/x(\d+)_/.exec(name)?.[1]);
    bound[name] = { data: new Float32Array(n), dims: [1, 1, n] };
  }
  return {
    bytes: layers * layerProjections(s).reduce((sum, [k, n]) => sum + nbitsBytes(n, k, f), 0),
    time: (reps = 8) => best(session, inputs, bound, reps),
    release: () => session.release(),
  };
}

/** GroupQueryAttention over `s.layers` layers at `context` (one new token after `context` cached), with `heads`
 * query heads; the caches are bound as past and present, as the engine binds them. */
export async function gqaProbe(
  dir: string,
  s: DecoderShape,
  heads: number,
  context: number,
  threads: number,
): Promise<KernelProbe> {
  const capacity = context + 16;
  const file = path.join(dir, `gqa-${heads}h-${s.layers}l-${capacity}.onnx`);
  if (!fs.existsSync(file)) writeGqaModel(file, s, heads, capacity);
  const session = await NativeSession.open(file, { threads });
  const total = context + 1;
  const width = (heads + 2 * s.kvHeads) * s.headDim;
  const inputs: Record<string, NativeTensor> = {
    qkv: { data: Float32Array.from({ length: width }, (_, i) => Math.sin(i) * 0.1), dims: [1, 1, width] },
    seqlens_k: { data: Int32Array.from([total - 1]), dims: [1] },
    total_sequence_length: { data: Int32Array.from([total]), dims: [] },
    attention_bias: { data: new Float32Array(total), dims: [1, 1, 1, total] },
  };
  const bound: Record<string, NativeTensor> = {};
  const dims = [1, s.kvHeads, capacity, s.headDim];
  for (let l = 0; l < s.layers; l++) {
    for (const kv of ['key', 'value']) {
      const cache = { data: new Float32Array(s.kvHeads * capacity * s.headDim).fill(0.01), dims };
      inputs[`past.${l}.${kv}`] = cache;
      bound[`present.${l}.${kv}`] = cache;
    }
  }
  return {
    time: (reps = 8) => best(session, inputs, bound, reps),
    release: () => session.release(),
  };
}
