// safetensors reader/writer. Layout (model-runtime.md A.4): u64 LE header length N, N bytes of UTF-8 JSON
// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then the data; offsets are relative
// to byte 8 + N. Tensors are read lazily through a file handle: a 4.4 GB checkpoint is never loaded whole.
import { open, readFile, stat, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import {
  BYTES_PER_ELEMENT,
  SUPPORTED_DTYPES,
  bytesToFloat32,
  float32ToBytes,
  isSupportedDtype,
  type TensorDtype,
} from './dtype.ts';
import { pathExists } from '../../common/files.ts';

/** Same sanity limit as the Rust `safetensors` crate (MAX_HEADER_SIZE = 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;
export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';

/** Where one tensor's bytes are: absolute byte offset inside `file` (usable as ONNX external data). */
export interface TensorEntry {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  /** Absolute path of the .safetensors file holding the data. */
  file: string;
  /** Absolute offset inside `file` = 8 + headerLength + data_offsets[0]. */
  byteOffset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  file: string;
  fileSize: number;
  headerLength: number;
  /** The header bytes exactly as stored (for hashing). */
  headerBytes: Uint8Array;
  metadata: Record<string, string>;
  tensors: Map<string, TensorEntry>;
}

/** Read and validate the header of one .safetensors file (8 + N bytes only). */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const abs = path.resolve(file);
  const fh = await open(abs, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    if (fileSize < 8)
      throw new Error(`${abs}: truncated safetensors file (${fileSize} bytes, no header length)`);
    const lenBuf = Buffer.alloc(8);
    await readExactly(fh, lenBuf, 0, abs);
    const headerLength = Number(lenBuf.readBigUInt64LE(0));
    if (headerLength > MAX_HEADER_BYTES) {
      throw new Error(
        `${abs}: safetensors header length ${headerLength} exceeds ${MAX_HEADER_BYTES} bytes (not a safetensors file?)`,
      );
    }
    if (8 + headerLength > fileSize) {
      throw new Error(
        `${abs}: truncated safetensors file: header needs ${8 + headerLength} bytes, file has ${fileSize}`,
      );
    }
    const headerBytes = new Uint8Array(headerLength);
    await readExactly(fh, headerBytes, 8, abs);
    return parseHeader(abs, fileSize, headerBytes);
  } finally {
    await fh.close();
  }
}

function parseHeader(file: string, fileSize: number, headerBytes: Uint8Array): SafetensorsHeader {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    throw new Error(`${file}: safetensors header is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(json)) throw new Error(`${file}: safetensors header is not a JSON object`);
  const dataStart = 8 + headerBytes.byteLength;
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(raw)) throw new Error(`${file}: __metadata__ is not an object`);
      metadata = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)]));
      continue;
    }
    const where = `${file}: tensor "${name}"`;
    if (!isPlainObject(raw)) throw new Error(`${where}: header entry is not an object`);
    const {
      dtype,
      shape,
      data_offsets: offsets,
    } = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string') throw new Error(`${where}: missing "dtype"`);
    if (!isSupportedDtype(dtype)) {
      throw new Error(`${where}: unsupported dtype ${dtype} (supported: ${SUPPORTED_DTYPES.join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(
        `${where}: "shape" must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
      );
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[1] < offsets[0]
    ) {
      throw new Error(
        `${where}: "data_offsets" must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`,
      );
    }
    const [begin, end] = offsets as [number, number];
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = elements * BYTES_PER_ELEMENT[dtype];
    if (end - begin !== expected) {
      throw new Error(
        `${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} ${JSON.stringify(shape)} needs ${expected}`,
      );
    }
    if (end > dataSize) {
      throw new Error(
        `${where}: truncated safetensors file: data ends at byte ${dataStart + end} but the file has ${fileSize} bytes`,
      );
    }
    tensors.set(name, {
      name,
      dtype,
      shape: shape as number[],
      file,
      byteOffset: dataStart + begin,
      byteLength: end - begin,
    });
  }
  return { file, fileSize, headerLength: headerBytes.byteLength, headerBytes, metadata, tensors };
}

/**
 * A set of safetensors files seen as one name -> tensor map: a single `model.safetensors`, a sharded checkpoint
 * (`model.safetensors.index.json` with `weight_map`), or one explicit file. File handles open on first read.
 */
export class SafetensorsStore {
  private readonly handles = new Map<string, Promise<FileHandle>>();

  private constructor(
    /** Headers in file order (the order of the index's shards, or the single file). */
    readonly headers: SafetensorsHeader[],
    readonly tensors: Map<string, TensorEntry>,
  ) {}

  /** `target` is a directory (index or model.safetensors inside) or a .safetensors / index .json file. */
  static async open(target: string): Promise<SafetensorsStore> {
    const abs = path.resolve(target);
    const st = await stat(abs).catch(() => {
      throw new Error(`${abs}: no such file or directory`);
    });
    if (!st.isDirectory()) {
      if (abs.endsWith('.json')) return SafetensorsStore.openIndex(abs);
      const header = await readSafetensorsHeader(abs);
      return new SafetensorsStore([header], new Map(header.tensors));
    }
    const index = path.join(abs, INDEX_FILE);
    if (await pathExists(index)) return SafetensorsStore.openIndex(index);
    const single = path.join(abs, SINGLE_FILE);
    if (await pathExists(single)) return SafetensorsStore.open(single);
    throw new Error(`${abs}: no ${SINGLE_FILE} or ${INDEX_FILE} in this folder`);
  }

  private static async openIndex(indexFile: string): Promise<SafetensorsStore> {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(indexFile, 'utf8'));
    } catch (e) {
      throw new Error(`${indexFile}: cannot read the safetensors index: ${(e as Error).message}`);
    }
    const weightMap = isPlainObject(json) ? json['weight_map'] : undefined;
    if (!isPlainObject(weightMap)) throw new Error(`${indexFile}: missing "weight_map" object`);
    const dir = path.dirname(indexFile);
    const shardNames: string[] = [];
    for (const [name, shard] of Object.entries(weightMap)) {
      if (typeof shard !== 'string')
        throw new Error(`${indexFile}: weight_map["${name}"] is not a file name`);
      if (!shardNames.includes(shard)) shardNames.push(shard);
    }
    const headers = await Promise.all(
      shardNames.map((s) => {
        const shardPath = path.resolve(dir, s);
        return pathExists(shardPath).then((ok) => {
          if (!ok)
            throw new Error(`${indexFile}: shard ${s} listed in weight_map does not exist (${shardPath})`);
          return readSafetensorsHeader(shardPath);
        });
      }),
    );
    const byShard = new Map(shardNames.map((s, i) => [s, headers[i]]));
    const tensors = new Map<string, TensorEntry>();
    for (const [name, shard] of Object.entries(weightMap as Record<string, string>)) {
      const entry = byShard.get(shard)!.tensors.get(name);
      if (!entry)
        throw new Error(
          `${indexFile}: weight_map puts tensor "${name}" in ${shard}, but that file has no such tensor`,
        );
      tensors.set(name, entry);
    }
    return new SafetensorsStore(headers, tensors);
  }

  get names(): string[] {
    return [...this.tensors.keys()];
  }

  entry(name: string): TensorEntry {
    const e = this.tensors.get(name);
    if (!e)
      throw new Error(
        `tensor "${name}" is not in the checkpoint (${this.headers.map((h) => h.file).join(', ')})`,
      );
    return e;
  }

  /** The raw little-endian bytes of one tensor (a fresh, 8-byte aligned buffer). */
  async readBytes(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    const fh = await this.handle(e.file);
    const out = new Uint8Array(e.byteLength);
    // fh.read takes at most 2 GiB per call: read big tensors in chunks.
    const CHUNK = 1 << 30;
    for (let done = 0; done < e.byteLength;) {
      const len = Math.min(CHUNK, e.byteLength - done);
      const { bytesRead } = await fh.read(out, done, len, e.byteOffset + done);
      if (bytesRead === 0) {
        throw new Error(
          `${e.file}: truncated safetensors file: tensor "${name}" data ends past the end of the file`,
        );
      }
      done += bytesRead;
    }
    return out;
  }

  async toFloat32(name: string): Promise<Float32Array> {
    return bytesToFloat32(this.entry(name).dtype, await this.readBytes(name));
  }

  async close(): Promise<void> {
    const hs = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(hs.map(async (h) => (await h).close()));
  }

  private handle(file: string): Promise<FileHandle> {
    let h = this.handles.get(file);
    if (!h) {
      h = open(file, 'r');
      this.handles.set(file, h);
    }
    return h;
  }
}

/** A tensor to write: `values` are encoded to `dtype` (rounded to nearest even), or `bytes` are written as is. */
export type TensorToWrite =
  | { dtype: TensorDtype; shape: number[]; values: ArrayLike<number> }
  | { dtype: TensorDtype; shape: number[]; bytes: Uint8Array };

/**
 * Write one .safetensors file. Tensors are stored in the given order; the header is padded with spaces to a multiple
 * of 8 bytes (as the reference writer does) so the data section starts aligned.
 */
export async function writeSafetensors(
  file: string,
  tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>,
  metadata: Record<string, string> = {},
): Promise<void> {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    const elements = t.shape.reduce((a, b) => a * b, 1);
    const bytes = 'bytes' in t ? t.bytes : float32ToBytes(t.dtype, t.values);
    const expected = elements * BYTES_PER_ELEMENT[t.dtype];
    if (bytes.byteLength !== expected) {
      throw new Error(
        `writeSafetensors ${file}: tensor "${name}" has ${bytes.byteLength} bytes, ${t.dtype} ${JSON.stringify(t.shape)} needs ${expected}`,
      );
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    blobs.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  const jsonBytes = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (jsonBytes % 8)) % 8);
  const headerBuf = Buffer.from(json, 'utf8');
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(headerBuf.byteLength));
  await writeFile(file, [lenBuf, headerBuf, ...blobs]);
}

/** One tensor of a streamed write: its header entry and a producer of its bytes, called in order, chunk by chunk. */
export interface StreamedTensor {
  readonly name: string;
  readonly dtype: TensorDtype;
  readonly shape: number[];
  /** Writes the tensor's bytes, in order, through `write` (any number of calls; total = the tensor's size). */
  produce(write: (bytes: Uint8Array) => Promise<void>): Promise<void>;
}

/**
 * writeSafetensors for checkpoints too big for memory: the header is computed from the shapes, then each tensor's
 * bytes are written as they are produced (peak memory = one producer chunk, not the model). Same file layout.
 */
export async function writeSafetensorsStreaming(
  file: string,
  tensors: readonly StreamedTensor[],
  metadata: Record<string, string> = {},
): Promise<void> {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    sizes.push(size);
    offset += size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json, 'utf8') % 8)) % 8);
  const headerBuf = Buffer.from(json, 'utf8');
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(headerBuf.byteLength));
  const fh = await open(file, 'w');
  try {
    await fh.write(lenBuf);
    await fh.write(headerBuf);
    for (let i = 0; i < tensors.length; i++) {
      let written = 0;
      await tensors[i].produce(async (bytes) => {
        written += bytes.byteLength;
        if (written > sizes[i])
          throw new Error(
            `writeSafetensorsStreaming ${file}: tensor "${tensors[i].name}" produced too many bytes`,
          );
        let done = 0;
        while (done < bytes.byteLength)
          done += (await fh.write(bytes, done, bytes.byteLength - done)).bytesWritten;
      });
      if (written !== sizes[i]) {
        throw new Error(
          `writeSafetensorsStreaming ${file}: tensor "${tensors[i].name}" produced ${written} bytes, expected ${sizes[i]}`,
        );
      }
    }
  } finally {
    await fh.close();
  }
}

async function readExactly(fh: FileHandle, buf: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < buf.byteLength) {
    const { bytesRead } = await fh.read(buf, done, buf.byteLength - done, position + done);
    if (bytesRead === 0) throw new Error(`${file}: unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
