/**
 * Reads `build.json` of a built model folder (the contract in engine-contract.md between the graph builder and
 * the engine) and checks every field the engine relies on, naming the file and field when one is wrong.
 */
import fs from 'node:fs';
import path from 'node:path';

export type BuiltVariant = 'fp32' | 'fp16' | 'int8' | 'int4';

export interface BuiltModelInfo {
  readonly dir: string;
  readonly builderVersion: string;
  readonly variant: BuiltVariant;
  readonly checkpointHash: string;
  readonly quant: { blockSize: number; zeroPoint: boolean; accuracyLevel: number } | null;
  readonly llm: {
    hidden: number;
    layers: number;
    heads: number;
    kvHeads: number;
    headDim: number;
    vocab: number;
  };
  readonly vision: { imageSize: number; numImageToken: number };
  /** Absolute paths of the three graphs. */
  readonly files: { vision: string; embed: string; decoder: string };
}

export const BUILD_JSON = 'build.json';

export function isBuiltModelDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, BUILD_JSON));
}

export function readBuiltModelInfo(dir: string): BuiltModelInfo {
  const abs = path.resolve(dir);
  const file = path.join(abs, BUILD_JSON);
  let json: any;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: cannot read build info: ${(err as Error).message}`);
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
  const variant = json?.variant;
  if (!['fp32', 'fp16', 'int8', 'int4'].includes(variant))
    fail('variant', `must be fp32|fp16|int8|int4, got ${JSON.stringify(variant)}`);
  const llm = {
    hidden: int(json?.llm, 'hidden', 'llm.'),
    layers: int(json?.llm, 'layers', 'llm.'),
    heads: int(json?.llm, 'heads', 'llm.'),
    kvHeads: int(json?.llm, 'kvHeads', 'llm.'),
    headDim: int(json?.llm, 'headDim', 'llm.'),
    vocab: int(json?.llm, 'vocab', 'llm.'),
  };
  const vision = {
    imageSize: int(json?.vision, 'imageSize', 'vision.'),
    numImageToken: int(json?.vision, 'numImageToken', 'vision.'),
  };
  const files = { vision: '', embed: '', decoder: '' };
  for (const key of ['vision', 'embed', 'decoder'] as const) {
    const name = json?.files?.[key];
    if (typeof name !== 'string' || name === '') fail(`files.${key}`, 'must name an ONNX file');
    const p = path.join(abs, name as string);
    if (!fs.existsSync(p)) fail(`files.${key}`, `names ${p}, which does not exist`);
    files[key] = p;
  }
  const quant = json?.quant ?? null;
  return {
    dir: abs,
    builderVersion: String(json?.builderVersion ?? ''),
    variant: variant as BuiltVariant,
    checkpointHash: String(json?.checkpointHash ?? ''),
    quant,
    llm,
    vision,
    files,
  };
}
