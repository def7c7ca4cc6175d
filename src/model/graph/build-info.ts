// build.json: what a built model folder holds (written last by build.ts, so its presence marks a complete build),
// and its one reader, used by the builder's cache check, the engine (engine/built-model.ts) and the run manifest.
import fs from 'node:fs';
import path from 'node:path';
import type { ComputeDtype } from './compute-dtype.ts';
import { isVariant, VARIANTS, type Variant } from './variants.ts';

export const BUILD_INFO_FILE = 'build.json';

/** Which positions `decoder.onnx` returns logits for (build.json `logits`). */
export type LogitsPositions = 'last' | 'all';

export type GraphFormat = 'fp32' | 'fp16' | 'int8' | 'int4';

export interface BuildInfo {
  builderVersion: string;
  variant: Variant;
  checkpointHash: string;
  quant: { blockSize: number; zeroPoint: boolean; accuracyLevel: number } | null;
  /** decoder.onnx `logits`: 'last' = [B, 1, vocab] (last position of each row), 'all' = [B, S, vocab]. */
  logits: LogitsPositions;
  /** Decoder compute precision (graph/compute-dtype.ts); absent in builds before it existed (= 'fp32'). */
  compute?: ComputeDtype;
  llm: {
    hidden: number;
    layers: number;
    heads: number;
    kvHeads: number;
    headDim: number;
    vocab: number;
    /** RoPE base (builder version 5 on: the engine rotates the keys it appends to its cache). */
    ropeTheta?: number;
  };
  vision: { imageSize: number; numImageToken: number };
  /** Graph file names inside the folder. */
  files: { vision: string; embed: string; decoder: string };
  /** Beyond the contract: the cache key, and how each part's weights are stored. */
  cacheKey: string;
  weights: { vision: GraphFormat; mlp1: GraphFormat; embed: GraphFormat; decoder: GraphFormat };
  /** Checkpoint files copied into the built folder. */
  copied: string[];
}

export function hasBuildInfo(dir: string): boolean {
  return fs.existsSync(path.join(dir, BUILD_INFO_FILE));
}

/**
 * Reads and checks `dir/build.json`: every field the engine relies on, and that the graph files exist. Errors name
 * the file and the field.
 */
export function readBuildInfo(dir: string): BuildInfo {
  const file = path.join(path.resolve(dir), BUILD_INFO_FILE);
  let json: any;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not a built model (${(err as Error).message})`);
  }
  const fail = (field: string, why: string): never => {
    throw new Error(`${file}: field '${field}' ${why}`);
  };
  const int = (obj: any, key: string, prefix: string): number => {
    const v = obj?.[key];
    if (!Number.isInteger(v) || v <= 0)
      fail(`${prefix}${key}`, `must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  if (typeof json?.builderVersion !== 'string') fail('builderVersion', 'must be a string');
  if (typeof json?.checkpointHash !== 'string') fail('checkpointHash', 'must be a string');
  const variant = json?.variant;
  if (typeof variant !== 'string' || !isVariant(variant))
    fail('variant', `must be one of ${VARIANTS.join('|')}, got ${JSON.stringify(variant)}`);
  const llm = {
    hidden: int(json?.llm, 'hidden', 'llm.'),
    layers: int(json?.llm, 'layers', 'llm.'),
    heads: int(json?.llm, 'heads', 'llm.'),
    kvHeads: int(json?.llm, 'kvHeads', 'llm.'),
    headDim: int(json?.llm, 'headDim', 'llm.'),
    vocab: int(json?.llm, 'vocab', 'llm.'),
    ...(json?.llm?.ropeTheta !== undefined ? { ropeTheta: json.llm.ropeTheta as number } : {}),
  };
  if (llm.ropeTheta !== undefined && !(typeof llm.ropeTheta === 'number' && llm.ropeTheta > 0))
    fail('llm.ropeTheta', `must be a positive number, got ${JSON.stringify(llm.ropeTheta)}`);
  const vision = {
    imageSize: int(json?.vision, 'imageSize', 'vision.'),
    numImageToken: int(json?.vision, 'numImageToken', 'vision.'),
  };
  const files = { vision: '', embed: '', decoder: '' };
  for (const key of ['vision', 'embed', 'decoder'] as const) {
    const name = json?.files?.[key];
    if (typeof name !== 'string' || name === '') fail(`files.${key}`, 'must name an ONNX file');
    const p = path.join(path.dirname(file), name as string);
    if (!fs.existsSync(p)) fail(`files.${key}`, `names ${p}, which does not exist`);
    files[key] = name as string;
  }
  // Builder version 1 had no `logits` field and always returned every position.
  const logits: LogitsPositions = json?.logits ?? 'all';
  if (logits !== 'last' && logits !== 'all')
    fail('logits', `must be 'last' or 'all', got ${JSON.stringify(logits)}`);
  return {
    ...json,
    builderVersion: json.builderVersion,
    variant: variant as Variant,
    checkpointHash: json.checkpointHash,
    quant: json?.quant ?? null,
    logits,
    llm,
    vision,
    files,
  } as BuildInfo;
}
