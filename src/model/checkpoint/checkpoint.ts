// An InternVL2 checkpoint folder in the Hugging Face layout: config.json, model.safetensors (or shards with
// model.safetensors.index.json), tokenizer files. Opening it validates every tensor the config implies.
import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseInternVLConfig, type InternVLConfig } from './config.ts';
import { bytesToFloat32 } from './dtype.ts';
import { SafetensorsStore, type TensorEntry } from './safetensors.ts';
import { expectedTensors } from './tensor-names.ts';

export interface TensorRef extends TensorEntry {
  /** The raw little-endian bytes (fresh buffer). */
  readBytes(): Promise<Uint8Array>;
  /** Decoded to float32 (bf16 exact, fp16 exact). */
  toFloat32(): Promise<Float32Array>;
}

/** Paths of the tokenizer-related files found in the folder (null when absent). */
export interface CheckpointFiles {
  config: string;
  tokenizerModel: string | null;
  tokenizerConfig: string | null;
  specialTokensMap: string | null;
  addedTokens: string | null;
  generationConfig: string | null;
  /** The .safetensors files, in index order. */
  safetensors: string[];
}

export interface Checkpoint {
  dir: string;
  config: InternVLConfig;
  files: CheckpointFiles;
  /** Every tensor name stored, in file order. */
  tensorNames: string[];
  /** Stored tensors the config does not explain (kept, not an error). */
  extraTensorNames: string[];
  has(name: string): boolean;
  /** Throws naming the tensor when it is not stored. */
  tensor(name: string): TensorRef;
  /**
   * Cache key of the checkpoint, sha256 hex of: config.json bytes, and for each safetensors file its name, size,
   * header bytes and 64 evenly spaced 4 KiB samples of its data (cheap: < 300 KiB read per file, yet two random
   * checkpoints with equal headers differ). `{ full: true }` hashes every byte of the data instead.
   */
  hash(options?: { full?: boolean }): Promise<string>;
  close(): Promise<void>;
}

const TOKENIZER_FILES = {
  tokenizerModel: 'tokenizer.model',
  tokenizerConfig: 'tokenizer_config.json',
  specialTokensMap: 'special_tokens_map.json',
  addedTokens: 'added_tokens.json',
  generationConfig: 'generation_config.json',
} as const;

export async function openCheckpoint(dir: string): Promise<Checkpoint> {
  const abs = path.resolve(dir);
  const st = await stat(abs).catch(() => null);
  if (!st?.isDirectory()) throw new Error(`${abs}: checkpoint folder does not exist`);
  const configPath = path.join(abs, 'config.json');
  const configBytes = await readFile(configPath).catch(() => {
    throw new Error(`${abs}: no config.json in the checkpoint folder`);
  });
  let json: unknown;
  try {
    json = JSON.parse(configBytes.toString('utf8'));
  } catch (e) {
    throw new Error(`${configPath}: invalid JSON: ${(e as Error).message}`);
  }
  const config = parseInternVLConfig(json, configPath);
  const store = await SafetensorsStore.open(abs);
  try {
    validateTensors(abs, config, store);
  } catch (e) {
    await store.close();
    throw e;
  }

  const found = async (name: string) => {
    const p = path.join(abs, name);
    return (await stat(p).catch(() => null))?.isFile() ? p : null;
  };
  const files: CheckpointFiles = {
    config: configPath,
    tokenizerModel: await found(TOKENIZER_FILES.tokenizerModel),
    tokenizerConfig: await found(TOKENIZER_FILES.tokenizerConfig),
    specialTokensMap: await found(TOKENIZER_FILES.specialTokensMap),
    addedTokens: await found(TOKENIZER_FILES.addedTokens),
    generationConfig: await found(TOKENIZER_FILES.generationConfig),
    safetensors: store.headers.map((h) => h.file),
  };
  const expectedNames = new Set(expectedTensors(config).map((t) => t.name));

  return {
    dir: abs,
    config,
    files,
    tensorNames: store.names,
    extraTensorNames: store.names.filter((n) => !expectedNames.has(n)),
    has: (name) => store.tensors.has(name),
    tensor(name) {
      const e = store.tensors.get(name);
      if (!e) throw new Error(`${abs}: checkpoint has no tensor "${name}"`);
      return {
        ...e,
        readBytes: () => store.readBytes(name),
        toFloat32: async () => bytesToFloat32(e.dtype, await store.readBytes(name)),
      };
    },
    hash: (options) => hashCheckpoint(configBytes, store, options?.full ?? false),
    close: () => store.close(),
  };
}

/** Every expected tensor present with its expected shape; all problems in one message, each naming its tensor. */
function validateTensors(dir: string, config: InternVLConfig, store: SafetensorsStore): void {
  const problems: string[] = [];
  for (const t of expectedTensors(config)) {
    const e = store.tensors.get(t.name);
    if (!e) problems.push(`tensor "${t.name}" is missing (expected shape [${t.shape.join(', ')}])`);
    else if (e.shape.length !== t.shape.length || e.shape.some((d, i) => d !== t.shape[i])) {
      problems.push(
        `tensor "${t.name}" has shape [${e.shape.join(', ')}], expected [${t.shape.join(', ')}] from config.json`,
      );
    }
  }
  if (problems.length === 0) return;
  const shown = problems.slice(0, 10);
  const more = problems.length > shown.length ? `; ... and ${problems.length - shown.length} more` : '';
  throw new Error(`${dir}: invalid checkpoint: ${shown.join('; ')}${more}`);
}

const SAMPLES = 64;
const SAMPLE_BYTES = 4096;

async function hashCheckpoint(
  configBytes: Uint8Array,
  store: SafetensorsStore,
  full: boolean,
): Promise<string> {
  const h = createHash('sha256');
  h.update('internvl-checkpoint-hash-v1\0');
  h.update(configBytes);
  for (const header of store.headers) {
    h.update(`\0${path.basename(header.file)}\0${header.fileSize}\0`);
    h.update(header.headerBytes);
    const dataStart = 8 + header.headerLength;
    const dataSize = header.fileSize - dataStart;
    const fh = await open(header.file, 'r');
    try {
      const buf = new Uint8Array(full ? 1 << 24 : SAMPLE_BYTES);
      if (full) {
        for (let pos = dataStart; pos < header.fileSize;) {
          const { bytesRead } = await fh.read(buf, 0, Math.min(buf.byteLength, header.fileSize - pos), pos);
          if (bytesRead === 0) break;
          h.update(buf.subarray(0, bytesRead));
          pos += bytesRead;
        }
      } else {
        for (let i = 0; i < SAMPLES; i++) {
          const pos = dataStart + Math.floor(((dataSize - SAMPLE_BYTES) * i) / (SAMPLES - 1));
          const start = Math.max(dataStart, pos);
          const len = Math.min(SAMPLE_BYTES, header.fileSize - start);
          const { bytesRead } = await fh.read(buf, 0, len, start);
          h.update(buf.subarray(0, bytesRead));
        }
      }
    } finally {
      await fh.close();
    }
  }
  return h.digest('hex');
}
