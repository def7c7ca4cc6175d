// `internvl-eval make-checkpoint [--size tiny|full] --out DIR [--seed S] [--tokenizer PATH]`: write a random InternVL2
// checkpoint in the Hugging Face layout (library: src/model/checkpoint/tiny.ts), streamed to disk tensor by tensor.
import type { CommandModule } from 'yargs';
import { INTERNVL2_2B_SIZES } from '../model/checkpoint/internvl2-files.ts';
import { makeTinyCheckpoint, TINY_SIZES } from '../model/checkpoint/tiny.ts';

/** Checkpoint sizes: `full` has InternVL2-2B's real shapes (24 + 24 layers, 4.4 GB bf16). */
export const CHECKPOINT_SIZES = { tiny: TINY_SIZES, full: INTERNVL2_2B_SIZES } as const;
export type CheckpointSize = keyof typeof CHECKPOINT_SIZES;

interface Args {
  size: CheckpointSize;
  tiny?: boolean;
  out: string;
  seed: number;
  tokenizer?: string;
}

export const makeCheckpointCommand: CommandModule<object, Args> = {
  command: 'make-checkpoint',
  describe:
    'Write a random InternVL2 checkpoint (HF layout: config.json, bf16 model.safetensors, tokenizer), tiny by default',
  builder: (y) =>
    y
      .option('size', {
        choices: Object.keys(CHECKPOINT_SIZES) as CheckpointSize[],
        default: 'tiny' as CheckpointSize,
        describe:
          'tiny: ViT 32, LLM 64, 2 layers each (tests); full: InternVL2-2B shapes, 24 + 24 layers, 4.4 GB (scale tests, benchmarks). Real 448px tiles and 256 tokens per tile either way',
      })
      .option('tiny', { type: 'boolean', describe: 'Same as --size tiny' })
      .option('out', { type: 'string', demandOption: true, describe: 'Output folder (created)' })
      .option('seed', { type: 'number', default: 0, describe: 'Seed of the random weights' })
      .option('tokenizer', {
        type: 'string',
        describe:
          'Folder with a real InternLM2 tokenizer.model (vocab 92553); default: a small self-made tokenizer',
      })
      .check((a) => {
        if (a.tiny && a.size !== 'tiny') throw new Error(`--tiny contradicts --size ${a.size}`);
        return true;
      }) as never,
  handler: async (args) => {
    const result = await makeTinyCheckpoint(args.out, {
      seed: args.seed,
      tokenizerDir: args.tokenizer,
      sizes: CHECKPOINT_SIZES[args.size],
    });
    process.stdout.write(
      `wrote ${result.dir}: ${result.files.join(', ')} (${args.size}, vocab ${result.vocabSize}, seed ${args.seed})\n`,
    );
  },
};
