// `internvl-eval build --model DIR --variant V [--out DIR] [--cache-dir DIR] [--block-size N] [--zero-point]
// [--accuracy-level N] [--quantize-vision] [--no-quantize-embeddings] [--all-logits] [--compute fp16] [--json]`: build the ONNX graphs of a checkpoint (library:
// src/model/graph/build.ts), or report the cached build.
import type { CommandModule } from 'yargs';
import { buildModel, VARIANTS, type Variant } from '../model/graph/build.ts';
import { COMPUTE_DTYPES, type ComputeDtype } from '../model/graph/compute-dtype.ts';

interface Args {
  model: string;
  variant: Variant;
  out?: string;
  'cache-dir'?: string;
  'block-size'?: number;
  'zero-point'?: boolean;
  'accuracy-level'?: number;
  'quantize-vision'?: boolean;
  'quantize-embeddings'?: boolean;
  'all-logits'?: boolean;
  compute?: ComputeDtype;
  json: boolean;
}

export const buildCommand: CommandModule<object, Args> = {
  command: 'build',
  describe: 'Build the ONNX graphs (vision, embed, decoder) of an InternVL2 checkpoint, cached on disk',
  builder: (y) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'Checkpoint folder (HF layout)' })
      .option('variant', { choices: VARIANTS, default: 'fp32' as Variant, describe: 'Weight format' })
      .option('out', { type: 'string', describe: 'Build into this folder instead of the cache' })
      .option('cache-dir', {
        type: 'string',
        describe: 'Model cache root (default $INTERNVL_EVAL_CACHE/models or ~/.cache/internvl-eval/models)',
      })
      .option('block-size', {
        type: 'number',
        describe: 'int8/int4: quantization block size (power of 2 >= 16, default 32)',
      })
      .option('zero-point', {
        type: 'boolean',
        describe: 'int8/int4: asymmetric quantization with zero points',
      })
      .option('accuracy-level', {
        type: 'number',
        describe:
          'int8/int4: MatMulNBits accuracy_level, default 4 (int8 activations, as onnxruntime-genai on CPU: ' +
          'int8 is ~100x faster than at 0 on the ORT CPU EP); 0 = exact fp32 activations (weight rounding error only)',
      })
      .option('quantize-vision', {
        type: 'boolean',
        describe: 'int8/int4: quantize the ViT and mlp1 linears too',
      })
      .option('quantize-embeddings', {
        type: 'boolean',
        describe:
          'int8/int4: block-quantize the token-embedding table like the LLM linears (GatherBlockQuantized; ' +
          'default on); --no-quantize-embeddings keeps it fp16',
      })
      .option('all-logits', {
        type: 'boolean',
        describe:
          'decoder.onnx returns logits for every position [B,S,vocab] (default: last position only [B,1,vocab])',
      })
      .option('compute', {
        choices: COMPUTE_DTYPES,
        describe:
          'decoder compute precision: fp16 (activations, KV cache, norms, scales in float16; fp32 logits) is for ' +
          'GPU providers (--device webgpu); default fp32',
      })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'Print {dir, cached, info} as JSON',
      }) as never,
  handler: async (args) => {
    const result = await buildModel(args.model, {
      variant: args.variant,
      outDir: args.out,
      cacheDir: args['cache-dir'],
      blockSize: args['block-size'],
      zeroPoint: args['zero-point'],
      accuracyLevel: args['accuracy-level'],
      quantizeVision: args['quantize-vision'],
      quantizeEmbeddings: args['quantize-embeddings'],
      allLogits: args['all-logits'],
      compute: args.compute,
      onProgress: args.json ? undefined : (msg) => process.stderr.write(`${msg}\n`),
    });
    if (args.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    } else {
      process.stdout.write(`${result.cached ? 'cached' : 'built'} ${result.info.variant}: ${result.dir}\n`);
    }
  },
};
