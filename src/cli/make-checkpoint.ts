// `internvl-eval make-checkpoint --tiny --out DIR [--seed S] [--tokenizer PATH]`: write a random InternVL2 checkpoint
// in the Hugging Face layout (library: src/model/checkpoint/tiny.ts).
import type { CommandModule } from 'yargs';
import { makeTinyCheckpoint } from '../model/checkpoint/tiny.ts';

interface Args {
  tiny: boolean;
  out: string;
  seed: number;
  tokenizer?: string;
}

export const makeCheckpointCommand: CommandModule<object, Args> = {
  command: 'make-checkpoint',
  describe:
    'Write a random tiny InternVL2 checkpoint (HF layout: config.json, bf16 model.safetensors, tokenizer)',
  builder: (y) =>
    y
      .option('tiny', {
        type: 'boolean',
        default: false,
        describe: 'Tiny widths (ViT 32, LLM 64, 2 layers each; real 448px tiles and 256 tokens per tile)',
      })
      .option('out', { type: 'string', demandOption: true, describe: 'Output folder (created)' })
      .option('seed', { type: 'number', default: 0, describe: 'Seed of the random weights' })
      .option('tokenizer', {
        type: 'string',
        describe:
          'Folder with a real InternLM2 tokenizer.model (vocab 92553); default: a small self-made tokenizer',
      })
      .check((a) => {
        if (!a.tiny) throw new Error('only --tiny checkpoints can be made; pass --tiny');
        return true;
      }) as never,
  handler: async (args) => {
    const result = await makeTinyCheckpoint(args.out, { seed: args.seed, tokenizerDir: args.tokenizer });
    process.stdout.write(
      `wrote ${result.dir}: ${result.files.join(', ')} (vocab ${result.vocabSize}, seed ${args.seed})\n`,
    );
  },
};
