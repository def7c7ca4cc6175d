// A tiny ONNX graph-construction API over onnx-proto (model-runtime.md D.6): nodes, value infos, constants and
// initializers, where big initializers go to an external data file beside the model (D.7) as they are added, so a
// multi-GB model is streamed tensor by tensor and never held in memory whole.
import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type ModelProto = onnxProto.onnx.IModelProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;

/** ONNX TensorProto.DataType values we use (UINT4 etc. are not needed: MatMulNBits takes packed uint8). */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
} as const;
export type DataTypeId = (typeof DataType)[keyof typeof DataType];

/** A dimension: a fixed size or a symbolic name ('batch', 'sequence', ...). */
export type Dim = number | string;

/** Attribute values: integers are told apart from floats by wrapping floats (JS numbers are ambiguous, D.6). */
export type AttrValue = number | bigint | string | number[] | { float: number } | { floats: number[] };

export const float = (v: number): { float: number } => ({ float: v });

/** Tensors at least this big go to the external data file; smaller ones stay inline in the .onnx. */
export const EXTERNAL_THRESHOLD_BYTES = 1024;
/** Tensors above 1 MB start at a 64 KiB boundary so ORT can mmap them (D.7, onnx_ir `_ALIGN_THRESHOLD`). */
export const ALIGN_THRESHOLD_BYTES = 1 << 20;
export const ALIGNMENT_BYTES = 1 << 16;

/**
 * Appends tensors to one data file (`<model>.onnx.data`), aligning big ones, and returns their ONNX
 * external-data entries. The location is the bare file name: ORT resolves it against the model's folder.
 */
export class ExternalDataWriter {
  private fd: number | null;
  private offset = 0;
  readonly location: string;

  constructor(readonly file: string) {
    this.location = path.basename(file);
    this.fd = openSync(file, 'w');
  }

  get bytesWritten(): number {
    return this.offset;
  }

  append(bytes: Uint8Array): { location: string; offset: number; length: number } {
    if (this.fd === null) throw new Error(`${this.file}: external data writer already closed`);
    if (bytes.byteLength > ALIGN_THRESHOLD_BYTES && this.offset % ALIGNMENT_BYTES !== 0) {
      const pad = ALIGNMENT_BYTES - (this.offset % ALIGNMENT_BYTES);
      writeAll(this.fd, new Uint8Array(pad));
      this.offset += pad;
    }
    const at = this.offset;
    writeAll(this.fd, bytes);
    this.offset += bytes.byteLength;
    return { location: this.location, offset: at, length: bytes.byteLength };
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.byteLength;) {
    done += writeSync(fd, bytes, done, bytes.byteLength - done);
  }
}

/** Little-endian bytes of a typed array (a view, no copy). */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export interface GraphOptions {
  name: string;
  /** External data sink; without one every initializer is inline (fine for small test graphs). */
  externalData?: ExternalDataWriter;
}

/** Builds one GraphProto / ModelProto. Names given to `node` outputs are made unique automatically. */
export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly used = new Set<string>();
  /** Names handed out by `fresh` and not yet bound to an input/initializer. */
  private readonly reserved = new Set<string>();
  private counter = 0;
  private readonly constCache = new Map<string, string>();

  constructor(readonly opts: GraphOptions) {}

  /** A fresh value name with the given prefix. */
  fresh(prefix: string): string {
    let name = prefix;
    while (this.used.has(name)) name = `${prefix}_${++this.counter}`;
    this.used.add(name);
    this.reserved.add(name);
    return name;
  }

  input(name: string, elemType: DataTypeId, dims: Dim[]): string {
    this.claim(name);
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** Declare `value` a graph output named `name` (an Identity node renames it when the names differ). */
  output(value: string, name: string, elemType: DataTypeId, dims: Dim[]): string {
    if (value !== name) {
      this.claim(name);
      this.bound(name);
      this.nodes.push({
        opType: 'Identity',
        domain: '',
        input: [value],
        output: [name],
        name: `${name}_identity`,
      });
    }
    this.outputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /**
   * Add a node; returns its output names (one per requested output; '' requests an omitted output).
   * `outputs` is a count or a list of name prefixes.
   */
  node(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    opts: { domain?: string; outputs?: number | string[]; name?: string } = {},
  ): string[] {
    const prefixes =
      typeof opts.outputs === 'number' || opts.outputs === undefined
        ? Array.from({ length: opts.outputs ?? 1 }, (_, i) => `${opts.name ?? opType}${i ? `_out${i}` : ''}`)
        : opts.outputs;
    const outputs = prefixes.map((p) => (p === '' ? '' : this.bound(this.fresh(p))));
    this.nodes.push({
      opType,
      domain: opts.domain ?? '',
      input: inputs,
      output: outputs,
      name: this.bound(this.fresh(`n_${opts.name ?? opType}`)),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outputs;
  }

  /** Single-output shorthand for `node`. */
  op(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    opts: { domain?: string; name?: string } = {},
  ): string {
    return this.node(opType, inputs, attrs, { ...opts, outputs: 1 })[0];
  }

  /** An initializer from raw little-endian bytes: inline when small, external data otherwise. */
  initializer(name: string, dataType: DataTypeId, dims: number[], bytes: Uint8Array): string {
    this.claim(name);
    const expected = dims.reduce((a, b) => a * b, 1) * bytesPerElement(dataType);
    if (bytes.byteLength !== expected) {
      throw new Error(
        `initializer "${name}": ${bytes.byteLength} bytes, but dims ${JSON.stringify(dims)} need ${expected}`,
      );
    }
    const ext = this.opts.externalData;
    if (ext && bytes.byteLength >= EXTERNAL_THRESHOLD_BYTES) {
      const at = ext.append(bytes);
      this.initializers.push({
        name,
        dataType,
        dims,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: at.location },
          { key: 'offset', value: String(at.offset) },
          { key: 'length', value: String(at.length) },
        ],
      });
    } else {
      // Copy: the caller's buffer may be reused.
      this.initializers.push({ name, dataType, dims, rawData: bytes.slice() });
    }
    return name;
  }

  initF32(name: string, dims: number[], data: Float32Array): string {
    return this.initializer(name, DataType.FLOAT, dims, bytesOf(data));
  }

  /** An int64 constant (deduplicated), e.g. a shape for Reshape or axes for Unsqueeze. */
  constI64(values: number[], dims: number[] = [values.length]): string {
    return this.constant(
      DataType.INT64,
      dims,
      bytesOf(BigInt64Array.from(values.map((v) => BigInt(v)))),
      `i64_${values.join('_')}`,
    );
  }

  /** An int32 constant (deduplicated), e.g. GroupQueryAttention's length arithmetic. */
  constI32(values: number[], dims: number[] = [values.length]): string {
    return this.constant(DataType.INT32, dims, bytesOf(Int32Array.from(values)), `i32_${values.join('_')}`);
  }

  /** A scalar (dims []) or 1-D float32 constant (deduplicated). */
  constF32(values: number[], dims: number[] = [values.length]): string {
    return this.constant(DataType.FLOAT, dims, bytesOf(Float32Array.from(values)), `f32`);
  }

  private constant(dataType: DataTypeId, dims: number[], bytes: Uint8Array, prefix: string): string {
    const key = `${dataType}|${dims.join(',')}|${Buffer.from(bytes).toString('base64')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.fresh(`const_${prefix}`.slice(0, 48));
    this.initializer(name, dataType, dims, bytes);
    this.constCache.set(key, name);
    return name;
  }

  private bound(name: string): string {
    this.reserved.delete(name);
    return name;
  }

  private claim(name: string): void {
    if (this.reserved.delete(name)) return;
    if (this.used.has(name)) throw new Error(`graph "${this.opts.name}": value name "${name}" used twice`);
    this.used.add(name);
  }

  toModel(opsets: Record<string, number> = { '': 21, 'com.microsoft': 1 }): ModelProto {
    return {
      irVersion: 10,
      producerName: 'internvl-eval',
      opsetImport: Object.entries(opsets).map(([domain, version]) => ({ domain, version })),
      graph: {
        name: this.opts.name,
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
      },
    };
  }

  encode(opsets?: Record<string, number>): Uint8Array {
    return onnx.ModelProto.encode(onnx.ModelProto.fromObject(this.toModel(opsets))).finish();
  }
}

export function bytesPerElement(dataType: DataTypeId): number {
  switch (dataType) {
    case DataType.FLOAT:
    case DataType.INT32:
      return 4;
    case DataType.INT64:
      return 8;
    case DataType.FLOAT16:
      return 2;
    case DataType.UINT8:
    case DataType.INT8:
    case DataType.BOOL:
      return 1;
  }
}

function valueInfo(name: string, elemType: DataTypeId, dims: Dim[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttrValue): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'bigint') return { name, type: T.INT, i: Number(v) };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}=${v}: wrap float attributes with float()`);
    return { name, type: T.INT, i: v };
  }
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.FLOATS, floats: v.floats };
}
