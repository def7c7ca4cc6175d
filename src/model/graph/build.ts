// buildModel: HF checkpoint folder -> built model folder (vision.onnx, embed.onnx, decoder.onnx, their .onnx.data,
// build.json, tokenizer/config copies), cached on disk by checkpoint hash + variant + options + builder version
// (engine-contract.md). Weights stream tensor by tensor from the safetensors into the external data files.
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openCheckpoint, type Checkpoint } from '../checkpoint/checkpoint.ts';
import type { InternVLConfig } from '../checkpoint/config.ts';
import { computeDtype, type ComputeDtype } from './compute-dtype.ts';
import { buildDecoderGraph } from './decoder-graph.ts';
import { buildEmbedGraph } from './embed-graph.ts';
import type { LinearFormat, WeightSource } from './layers.ts';
import { ExternalDataWriter, GraphBuilder } from './onnx-builder.ts';
import { validateQuantOptions } from './quantize.ts';
import { variantSpec, type Variant } from './variants.ts';
import {
  BUILD_INFO_FILE,
  readBuildInfo,
  type BuildInfo,
  type GraphFormat,
  type LogitsPositions,
} from './build-info.ts';
import { buildVisionGraph } from './vision-graph.ts';

/** Bump whenever the graphs or their weights change: it is part of the cache key. */
// 2: decoder logits for the last position only by default (`allLogits`), `logits` in build.json.
// 3: int8/int4 quantize tok_embeddings (GatherBlockQuantized) by default (`quantizeEmbeddings`).
// 4: fused decoder (GroupQueryAttention, SkipSimplifiedLayerNormalization, new_key_values outputs, no position_ids).
// 5: the packed qkv projection of each layer is a graph output (the engine appends the cache from it), no Slice
//    nodes; build.json llm.ropeTheta.
// 6: decoder output `next_token` (ArgMax of the last-position logits) for device-resident greedy decoding.
export const BUILDER_VERSION = '6';

export { VARIANTS, type Variant } from './variants.ts';

export { BUILD_INFO_FILE, readBuildInfo, type BuildInfo, type GraphFormat, type LogitsPositions };

export interface BuildOptions {
  variant: Variant;
  /** Build into this folder instead of the cache. */
  outDir?: string;
  /** Root of the model cache (default `$INTERNVL_EVAL_CACHE/models` or `~/.cache/internvl-eval/models`). */
  cacheDir?: string;
  /** int8/int4: MatMulNBits block size (power of two >= 16), default 32. */
  blockSize?: number;
  /** int8/int4: asymmetric quantization with zero points (default symmetric). */
  zeroPoint?: boolean;
  /**
   * int8/int4: MatMulNBits accuracy_level, default 4 (int8 activations: ~100x faster int8 on the ORT CPU EP, see
   * DEFAULT_ACCURACY_LEVEL); 0 = exact float32 activations.
   */
  accuracyLevel?: number;
  /** int8/int4: quantize the ViT and mlp1 linears too (default false: they keep fp16 weights). */
  quantizeVision?: boolean;
  /**
   * int8/int4: store tok_embeddings block-quantized like the LLM linears (same bits, block size, zero points) and
   * read it with com.microsoft:GatherBlockQuantized (default true; false keeps the fp16 table). Part of the cache key.
   */
  quantizeEmbeddings?: boolean;
  /**
   * decoder.onnx returns logits for every position ([B, S, vocab]) instead of the last one only ([B, 1, vocab],
   * default). For tests and tools that need per-position logits; part of the cache key.
   */
  allLogits?: boolean;
  /**
   * Decoder compute precision (graph/compute-dtype.ts): 'fp16' for GPU providers (fp16 activations, KV cache,
   * cos/sin, norm weights, MatMulNBits scales; fp32 logits). Default 'fp32'. Part of the cache key when 'fp16'.
   */
  compute?: ComputeDtype;
  onProgress?: (msg: string) => void;
}

export interface BuildResult {
  dir: string;
  cached: boolean;
  info: BuildInfo;
}

const COPIED_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.model',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
];

export function defaultCacheDir(): string {
  const root = process.env['INTERNVL_EVAL_CACHE'] || path.join(os.homedir(), '.cache', 'internvl-eval');
  return path.join(root, 'models');
}

interface ResolvedOptions {
  variant: Variant;
  quant: BuildInfo['quant'];
  quantizeVision: boolean;
  quantizeEmbeddings: boolean;
  logits: LogitsPositions;
  compute: ComputeDtype;
}

export function resolveOptions(opts: BuildOptions): ResolvedOptions {
  // The variant's row of VARIANT_TABLE (throws on an unknown name): quantized rows carry bits and the defaults.
  const spec = variantSpec(String(opts.variant));
  const quantized = spec.bits !== undefined;
  if (
    !quantized &&
    (opts.blockSize !== undefined ||
      opts.zeroPoint ||
      opts.accuracyLevel !== undefined ||
      opts.quantizeVision ||
      opts.quantizeEmbeddings)
  ) {
    throw new Error(
      `--block-size, --zero-point, --accuracy-level, quantizeVision and quantizeEmbeddings apply to int8/int4 only, not ${opts.variant}`,
    );
  }
  const logits: LogitsPositions = opts.allLogits ? 'all' : 'last';
  const compute = computeDtype(opts.compute ?? 'fp32');
  if (spec.bits === undefined || spec.blockSize === undefined || spec.accuracyLevel === undefined) {
    return {
      variant: opts.variant,
      quant: null,
      quantizeVision: false,
      quantizeEmbeddings: false,
      logits,
      compute,
    };
  }
  const quant = {
    blockSize: opts.blockSize ?? spec.blockSize,
    zeroPoint: opts.zeroPoint ?? false,
    accuracyLevel: opts.accuracyLevel ?? spec.accuracyLevel,
  };
  validateQuantOptions({
    bits: spec.bits,
    blockSize: quant.blockSize,
    zeroPoint: quant.zeroPoint,
  });
  if (![0, 1, 2, 3, 4].includes(quant.accuracyLevel)) {
    throw new Error(`accuracy level must be 0..4 (MatMulNBits accuracy_level), got ${quant.accuracyLevel}`);
  }
  return {
    variant: opts.variant,
    quant,
    quantizeVision: opts.quantizeVision ?? false,
    quantizeEmbeddings: opts.quantizeEmbeddings ?? true,
    logits,
    compute,
  };
}

/** `<variant>-<16 hex>` over everything that changes the built bytes. */
export function cacheKey(checkpointHash: string, r: ResolvedOptions): string {
  const h = createHash('sha256')
    .update(
      JSON.stringify({
        builderVersion: BUILDER_VERSION,
        checkpointHash,
        variant: r.variant,
        quant: r.quant,
        quantizeVision: r.quantizeVision,
        quantizeEmbeddings: r.quantizeEmbeddings,
        logits: r.logits,
        // Only fp16 compute enters the key, so fp32 builds keep their cached folders.
        ...(r.compute === 'fp16' ? { compute: r.compute } : {}),
      }),
    )
    .digest('hex');
  return `${r.variant}-${h.slice(0, 16)}`;
}

function formats(r: ResolvedOptions): {
  vision: LinearFormat;
  visionTensors: LinearFormat;
  embed: LinearFormat;
  decoder: LinearFormat;
} {
  if (r.variant === 'fp32' || r.variant === 'fp16') {
    const f: LinearFormat = { kind: r.variant };
    return { vision: f, visionTensors: f, embed: f, decoder: f };
  }
  const q = r.quant!;
  const nbits: LinearFormat = { kind: 'nbits', bits: r.variant === 'int8' ? 8 : 4, ...q };
  const fp16: LinearFormat = { kind: 'fp16' };
  return {
    vision: r.quantizeVision ? nbits : fp16,
    visionTensors: fp16,
    embed: r.quantizeEmbeddings ? nbits : fp16,
    decoder: nbits,
  };
}

function formatName(f: LinearFormat): GraphFormat {
  return f.kind === 'nbits' ? (f.bits === 8 ? 'int8' : 'int4') : f.kind;
}

export async function buildModel(checkpointDir: string, opts: BuildOptions): Promise<BuildResult> {
  const r = resolveOptions(opts);
  const progress = opts.onProgress ?? (() => {});
  const ckpt = await openCheckpoint(checkpointDir);
  try {
    const checkpointHash = await ckpt.hash();
    const key = cacheKey(checkpointHash, r);
    const dir = path.resolve(opts.outDir ?? path.join(opts.cacheDir ?? defaultCacheDir(), key));
    const existing = await tryReadBuildInfo(dir);
    if (existing?.cacheKey === key) {
      progress(`cached: ${dir}`);
      return { dir, cached: true, info: existing };
    }
    if (existing === null && (await isNonEmptyDir(dir))) {
      throw new Error(`${dir}: output folder exists and is not a built model; refusing to overwrite it`);
    }

    await mkdir(path.dirname(dir), { recursive: true });
    const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    await mkdir(tmp);
    try {
      const info = await buildInto(tmp, ckpt, checkpointHash, key, r, progress);
      // A previous build with another key (outDir reuse) is replaced; a concurrent identical build may have won.
      const raced = await tryReadBuildInfo(dir);
      if (raced?.cacheKey === key) {
        await rm(tmp, { recursive: true, force: true });
        return { dir, cached: true, info: raced };
      }
      if (raced) await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
      progress(`built: ${dir}`);
      return { dir, cached: false, info };
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  } finally {
    await ckpt.close();
  }
}

async function buildInto(
  dir: string,
  ckpt: Checkpoint,
  checkpointHash: string,
  key: string,
  r: ResolvedOptions,
  progress: (msg: string) => void,
): Promise<BuildInfo> {
  const config: InternVLConfig = ckpt.config;
  const f = formats(r);
  const total = ckpt.tensorNames.length - ckpt.extraTensorNames.length;
  let done = 0;
  const src: WeightSource = {
    shape: (name) => ckpt.tensor(name).shape,
    float32: (name) => {
      done++;
      if (done % 16 === 0 || done === total) progress(`weights ${done}/${total} (${name})`);
      return ckpt.tensor(name).toFloat32();
    },
  };
  const files = { vision: 'vision.onnx', embed: 'embed.onnx', decoder: 'decoder.onnx' };
  progress(`building ${r.variant} into ${dir}`);
  if (r.variant === 'int8' && r.quant?.accuracyLevel === 0) {
    // See DEFAULT_ACCURACY_LEVEL: ~3 s against ~30 ms per decode step at InternVL2-2B widths (ORT 1.30 CPU).
    progress(
      'note: int8 with accuracy level 0 is very slow on the ORT CPU EP; the default level 4 is ~100x faster',
    );
  }
  await writeGraph(dir, files.vision, (g) =>
    buildVisionGraph(g, config, src, { linear: f.vision, tensors: f.visionTensors }),
  );
  await writeGraph(dir, files.embed, (g) => buildEmbedGraph(g, config, src, f.embed));
  await writeGraph(dir, files.decoder, (g) =>
    buildDecoderGraph(g, config, src, {
      linear: f.decoder,
      allLogits: r.logits === 'all',
      compute: r.compute,
    }),
  );

  const copied: string[] = [];
  for (const name of COPIED_FILES) {
    const from = path.join(ckpt.dir, name);
    if (await isFile(from)) {
      await copyFile(from, path.join(dir, name));
      copied.push(name);
    }
  }
  const l = config.llm;
  const info: BuildInfo = {
    builderVersion: BUILDER_VERSION,
    variant: r.variant,
    checkpointHash,
    quant: r.quant,
    logits: r.logits,
    compute: r.compute,
    llm: {
      hidden: l.hiddenSize,
      layers: l.numHiddenLayers,
      heads: l.numAttentionHeads,
      kvHeads: l.numKeyValueHeads,
      headDim: l.headDim,
      vocab: l.vocabSize,
      ropeTheta: l.ropeTheta,
    },
    vision: { imageSize: config.imageSize, numImageToken: config.numImageToken },
    files,
    cacheKey: key,
    weights: {
      vision: formatName(f.vision),
      mlp1: formatName(f.vision),
      embed: formatName(f.embed),
      decoder: formatName(f.decoder),
    },
    copied,
  };
  // build.json last: its presence marks a complete build.
  await writeFile(path.join(dir, BUILD_INFO_FILE), JSON.stringify(info, null, 2) + '\n');
  return info;
}

async function writeGraph(
  dir: string,
  file: string,
  build: (g: GraphBuilder) => Promise<void>,
): Promise<void> {
  const data = new ExternalDataWriter(path.join(dir, `${file}.data`));
  try {
    const g = new GraphBuilder({ name: file.replace(/\.onnx$/, ''), externalData: data });
    await build(g);
    await writeFile(path.join(dir, file), g.encode());
  } finally {
    data.close();
  }
}

async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null))?.isFile() ?? false;
}

async function isNonEmptyDir(p: string): Promise<boolean> {
  const st = await stat(p).catch(() => null);
  if (!st) return false;
  if (!st.isDirectory()) return true;
  const { readdir } = await import('node:fs/promises');
  return (await readdir(p)).length > 0;
}

/** build.json of `dir`, or null when there is none or it is not a complete build (cache checks). */
async function tryReadBuildInfo(dir: string): Promise<BuildInfo | null> {
  try {
    return readBuildInfo(dir);
  } catch {
    return null;
  }
}
