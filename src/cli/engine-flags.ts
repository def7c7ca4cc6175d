/**
 * The engine flags every command that runs the ONNX engine shares (run, sweep, chat, serve; the bench reads the
 * same names from its environment), and the one EngineOptionsInput they turn into. Choices come from the tables
 * (VARIANT_TABLE, ENGINE_DEVICES), so a new variant or device needs no CLI edit.
 */
import type { Argv } from 'yargs';
import type { EngineOptionsInput } from '../model/engine/engine-options.ts';
import { COMPUTE_DTYPES } from '../model/graph/compute-dtype.ts';
import { ENGINE_DEVICES } from '../model/engine/sessions.ts';
import { VARIANTS, variantChoicesHelp } from '../model/graph/variants.ts';

export interface EngineArgs {
  variant?: string;
  device?: string;
  threads?: number;
  'device-id'?: number;
  'block-size'?: number;
  'accuracy-level'?: number;
  'zero-point'?: boolean;
  'vision-batch'?: number;
  'cache-dir'?: string;
  compute?: string;
}

/** `--variant` etc.; `variantList` lets sweep take a comma-separated list instead of one choice. */
export function engineFlags<T>(y: Argv<T>, opts: { variantList?: boolean } = {}) {
  return y
    .option('variant', {
      type: 'string',
      ...(opts.variantList ? {} : { choices: VARIANTS as string[] }),
      describe: `onnx: build variant for a checkpoint (default fp32). ${variantChoicesHelp()}`,
    })
    .option('device', { type: 'string', choices: ENGINE_DEVICES as string[], describe: 'onnx: default cpu' })
    .option('threads', {
      type: 'number',
      describe: 'onnx: ORT intra-op threads per session (default: every core, os.availableParallelism())',
    })
    .option('device-id', { type: 'number', describe: 'onnx: CUDA device ordinal' })
    .option('block-size', {
      type: 'number',
      describe: "onnx int8/int4 builds: override the variant's block size",
    })
    .option('accuracy-level', {
      type: 'number',
      describe: 'onnx int8/int4 builds: MatMulNBits accuracy_level (default 4; 0 = float32 activations)',
    })
    .option('zero-point', { type: 'boolean', describe: 'onnx int8/int4 builds: asymmetric quantization' })
    .option('vision-batch', {
      type: 'number',
      describe:
        'onnx: tiles per vision-encoder run (default 4 on cpu; on GPU providers as many as fit a memory cap)',
    })
    .option('compute', {
      type: 'string',
      choices: COMPUTE_DTYPES as string[],
      describe:
        'onnx builds: decoder compute precision; fp16 is for GPU providers (--device webgpu); default fp32',
    })
    .option('cache-dir', { type: 'string', describe: 'onnx: built-model cache root' });
}

export function engineOptionsFromArgs(argv: EngineArgs): EngineOptionsInput {
  const pick: [keyof EngineOptionsInput, unknown][] = [
    ['variant', argv.variant],
    ['device', argv.device],
    ['threads', argv.threads],
    ['deviceId', argv['device-id']],
    ['blockSize', argv['block-size']],
    ['accuracyLevel', argv['accuracy-level']],
    ['zeroPoint', argv['zero-point']],
    ['visionBatch', argv['vision-batch']],
    ['cacheDir', argv['cache-dir']],
    ['compute', argv.compute],
  ];
  return Object.fromEntries(pick.filter(([, v]) => v !== undefined)) as EngineOptionsInput;
}
