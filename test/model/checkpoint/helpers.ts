// Test helpers: temp folders and small checkpoints written without the tokenizer.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseInternVLConfig } from '../../../src/model/checkpoint/config.ts';
import { internVL2ConfigJson, type ModelSizes } from '../../../src/model/checkpoint/internvl2-files.ts';
import { randomTensors, TINY_SIZES } from '../../../src/model/checkpoint/random-weights.ts';
import { writeSafetensors, type TensorToWrite } from '../../../src/model/checkpoint/safetensors.ts';

export async function tempDir(prefix = 'ckpt-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Even smaller than the tiny model: small vocab, 1 layer each; enough for reader tests. */
export const MICRO_SIZES: ModelSizes = {
  vision: { hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 16 },
  llm: {
    hiddenSize: 16,
    numHiddenLayers: 1,
    numAttentionHeads: 2,
    numKeyValueHeads: 1,
    intermediateSize: 32,
  },
};

/**
 * Write config.json + model.safetensors for `sizes` into dir; `edit` may change the tensor map before writing.
 * Returns the tensors written.
 */
export async function writeCheckpoint(
  dir: string,
  opts: {
    sizes?: ModelSizes;
    vocabSize?: number;
    seed?: number;
    edit?: (t: Map<string, TensorToWrite>) => void;
    editConfig?: (c: Record<string, any>) => void;
  } = {},
): Promise<Map<string, TensorToWrite>> {
  const json = internVL2ConfigJson(opts.sizes ?? MICRO_SIZES, opts.vocabSize ?? 40);
  const config = parseInternVLConfig(json);
  const tensors = randomTensors(config, opts.seed ?? 0);
  opts.edit?.(tensors);
  opts.editConfig?.(json);
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(json));
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  return tensors;
}

export { TINY_SIZES };
