// A random InternVL2 checkpoint in the exact Hugging Face layout of OpenGVLab/InternVL2-2B (official tensor names,
// bf16 model.safetensors, config with the real keys), with tiny widths. The tile geometry stays real (448px tiles,
// 14px patches, 256 tokens per tile) so preprocessing, prompts and the engine run exactly as for the real model.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseInternVLConfig, type InternVLConfig } from './config.ts';
import {
  generationConfigJson,
  internVL2AddedTokensJson,
  internVL2ConfigJson,
  internVL2TokenizerConfigJson,
  INTERNVL2_VOCAB_SIZE,
  type ModelSizes,
} from './internvl2-files.ts';
import { randomValues, TINY_SIZES } from './random-weights.ts';
import { writeSafetensorsStreaming, type StreamedTensor } from './safetensors.ts';
import { float32ToBytes } from './dtype.ts';
import { expectedTensors } from './tensor-names.ts';
import { makeTinyTokenizer } from '../inputs/tiny-tokenizer.ts';

/** Tokenizer files to put in the checkpoint. */
export interface TokenizerFiles {
  /** tokenizer.model bytes (SentencePiece ModelProto). */
  model: Uint8Array;
  tokenizerConfig: object;
  vocabSize: number;
  /** Further JSON files to write (name -> content), e.g. added_tokens.json. */
  extraJson?: Record<string, object>;
}
export { TINY_SIZES };

export interface TinyCheckpointOptions {
  seed?: number;
  /** Folder with a real InternLM2 tokenizer.model (e.g. ../shared/fixtures/internlm2-tokenizer): vocab 92553. */
  tokenizerDir?: string;
  /** Tokenizer files given directly (wins over tokenizerDir); default: the self-made tiny tokenizer. */
  tokenizer?: TokenizerFiles;
  /** Widths (default TINY_SIZES; bench uses InternVL2-2B widths with fewer layers). */
  sizes?: ModelSizes;
}

export interface TinyCheckpointResult {
  dir: string;
  config: InternVLConfig;
  vocabSize: number;
  files: string[];
}

export async function makeTinyCheckpoint(
  outDir: string,
  options: TinyCheckpointOptions = {},
): Promise<TinyCheckpointResult> {
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new Error(`seed must be a non-negative integer, got ${seed}`);
  const sizes = options.sizes ?? TINY_SIZES;
  const tokenizer =
    options.tokenizer ??
    (options.tokenizerDir ? await realTokenizerFiles(options.tokenizerDir) : tinyTokenizerFiles());
  const dir = path.resolve(outDir);
  await mkdir(dir, { recursive: true });

  const configJson = internVL2ConfigJson(sizes, tokenizer.vocabSize);
  const config = parseInternVLConfig(configJson, path.join(dir, 'config.json'));

  const written: string[] = [];
  const writeJson = async (name: string, value: unknown) => {
    await writeFile(path.join(dir, name), JSON.stringify(value, null, 2) + '\n');
    written.push(name);
  };
  await writeJson('config.json', configJson);
  await writeJson(
    'generation_config.json',
    generationConfigJson(specialTokenId(tokenizer, '<|im_end|>') ?? 92542),
  );
  await writeSafetensorsStreaming(path.join(dir, 'model.safetensors'), streamedRandomTensors(config, seed), {
    format: 'pt',
  });
  written.push('model.safetensors');
  await writeFile(path.join(dir, 'tokenizer.model'), tokenizer.model);
  written.push('tokenizer.model');
  await writeJson('tokenizer_config.json', tokenizer.tokenizerConfig);
  for (const [name, value] of Object.entries(tokenizer.extraJson ?? {})) await writeJson(name, value);
  return { dir, config, vocabSize: tokenizer.vocabSize, files: written };
}

/** Values per chunk of a streamed tensor (4 MiB of float32): the largest tensor never sits in memory whole. */
const CHUNK_VALUES = 1 << 20;

/**
 * The random bf16 tensors of `config` (the values of randomTensors), produced a chunk at a time: a full-size
 * InternVL2-2B checkpoint (4.4 GB) is written with a few MB of buffers instead of ~13 GB of arrays.
 */
export function streamedRandomTensors(config: InternVLConfig, seed: number): StreamedTensor[] {
  return expectedTensors(config).map(({ name, shape }) => ({
    name,
    dtype: 'BF16' as const,
    shape,
    produce: async (write) => {
      const next = randomValues(config, seed, name, shape);
      const total = shape.reduce((a, b) => a * b, 1);
      const chunk = new Float32Array(Math.min(CHUNK_VALUES, total));
      for (let done = 0; done < total; done += chunk.length) {
        const part = chunk.subarray(0, Math.min(chunk.length, total - done));
        next(part);
        await write(float32ToBytes('BF16', part));
      }
    },
  }));
}

async function realTokenizerFiles(tokenizerDir: string): Promise<TokenizerFiles> {
  const src = path.resolve(tokenizerDir, 'tokenizer.model');
  const model = await readFile(src).catch(() => {
    throw new Error(`${src}: no tokenizer.model in --tokenizer folder`);
  });
  return {
    model,
    tokenizerConfig: internVL2TokenizerConfigJson(),
    vocabSize: INTERNVL2_VOCAB_SIZE,
    extraJson: {
      'added_tokens.json': internVL2AddedTokensJson(),
      'special_tokens_map.json': {
        additional_special_tokens: (internVL2TokenizerConfigJson() as { additional_special_tokens: string[] })
          .additional_special_tokens,
        bos_token: '<s>',
        eos_token: '</s>',
        pad_token: '</s>',
        unk_token: '<unk>',
      },
    },
  };
}

function tinyTokenizerFiles(): TokenizerFiles {
  const t = makeTinyTokenizer();
  return { model: t.model, tokenizerConfig: t.tokenizerConfig, vocabSize: t.vocabSize };
}

/** Id of a special token in tokenizer_config.json's added_tokens_decoder. */
function specialTokenId(tokenizer: TokenizerFiles, content: string): number | undefined {
  const decoder = (
    tokenizer.tokenizerConfig as { added_tokens_decoder?: Record<string, { content?: string }> }
  ).added_tokens_decoder;
  const hit = Object.entries(decoder ?? {}).find(([, v]) => v.content === content);
  return hit ? Number(hit[0]) : undefined;
}
