// A tiny random InternVL2 checkpoint for the graph tests, written with the checkpoint module's own pieces (config
// JSON, random weights, safetensors writer) but without tokenizer files: the graphs do not need them, and a small
// vocabulary keeps the tests fast.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseInternVLConfig, type InternVLConfig } from '../../../src/model/checkpoint/config.ts';
import { internVL2ConfigJson, type ModelSizes } from '../../../src/model/checkpoint/internvl2-files.ts';
import { randomTensors, TINY_SIZES } from '../../../src/model/checkpoint/random-weights.ts';
import { writeSafetensors } from '../../../src/model/checkpoint/safetensors.ts';

export async function writeTinyCheckpoint(
  dir: string,
  opts: { seed?: number; vocabSize?: number; sizes?: ModelSizes; configPatch?: Record<string, unknown> } = {},
): Promise<InternVLConfig> {
  await mkdir(dir, { recursive: true });
  const json = {
    ...internVL2ConfigJson(opts.sizes ?? TINY_SIZES, opts.vocabSize ?? 512),
    ...opts.configPatch,
  };
  const config = parseInternVLConfig(json);
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(json, null, 2));
  await writeSafetensors(path.join(dir, 'model.safetensors'), randomTensors(config, opts.seed ?? 0), {
    format: 'pt',
  });
  return config;
}
