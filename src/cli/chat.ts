// `internvl-eval chat --model DIR|REPO [--image F]... [--video F] [--max-tiles N] [--max-new-tokens K] [--variant V]
// [--device D] [--stream] [--json] [--dump-logits FILE] QUESTION`: one question to the in-process engine
// (library: src/model/engine/engine.ts, chat-inputs.ts).
import { writeFile } from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import { chatResultJson, float32LE, loadChatImages } from '../model/engine/chat-inputs.ts';
import { InternVLEngine, type ChatRequest } from '../model/engine/engine.ts';
import { engineFlags, engineOptionsFromArgs, type EngineArgs } from './engine-flags.ts';

interface Args extends EngineArgs {
  question: string;
  model: string;
  image?: string[];
  video?: string;
  frames: number;
  'max-tiles': number;
  thumbnail: boolean;
  'max-new-tokens': number;
  'min-new-tokens': number;
  temperature: number;
  'top-p'?: number;
  'top-k'?: number;
  seed: number;
  system?: string;
  stream: boolean;
  json: boolean;
  'dump-logits'?: string;
}

export const chatCommand: CommandModule<object, Args> = {
  command: 'chat <question>',
  describe: 'Ask the model one question (optionally about images or a video) with the in-process ONNX engine',
  builder: (y) =>
    engineFlags(y)
      .positional('question', {
        type: 'string',
        demandOption: true,
        describe: 'The question (may hold <image>)',
      })
      .option('model', {
        type: 'string',
        demandOption: true,
        describe: 'Checkpoint folder, built model folder (build.json), or Hugging Face repo id',
      })
      .option('image', { type: 'string', array: true, describe: 'Image file (repeat for several images)' })
      .option('video', {
        type: 'string',
        describe: 'Video file: frames are asked about as Frame1: <image> ...',
      })
      .option('frames', { type: 'number', default: 8, describe: 'Frames sampled from --video' })
      .option('max-tiles', { type: 'number', default: 12, describe: 'Tile cap per image (max_num)' })
      .option('thumbnail', {
        type: 'boolean',
        default: true,
        describe: 'Append the thumbnail tile (--no-thumbnail)',
      })
      .option('max-new-tokens', { type: 'number', default: 1024 })
      .option('min-new-tokens', { type: 'number', default: 0 })
      .option('temperature', { type: 'number', default: 0, describe: '0: greedy (the reference)' })
      .option('top-p', { type: 'number' })
      .option('top-k', { type: 'number' })
      .option('seed', { type: 'number', default: 0, describe: 'Sampling seed' })
      .option('system', { type: 'string', describe: 'System message (default: the template one)' })
      .option('stream', { type: 'boolean', default: false, describe: 'Print the reply as it is generated' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe:
          'Print {input_ids, output_ids, text, tiles, finish_reason, timings} as JSON (timings include threads, kv_cache and decode_context_tokens)',
      })
      .option('dump-logits', {
        type: 'string',
        describe: 'Write float32 little-endian logits at the last prompt position to this file',
      }) as never,
  handler: async (args) => {
    const { question, images } = await loadChatImages(args.question, {
      images: args.image ?? [],
      ...(args.video ? { video: args.video } : {}),
      frames: args.frames,
      maxTiles: args['max-tiles'],
      useThumbnail: args.thumbnail,
    });
    const engine = await InternVLEngine.load(args.model, {
      ...engineOptionsFromArgs(args),
      onProgress: (msg) => process.stderr.write(`${msg}\n`),
    });
    try {
      const req: ChatRequest = {
        question,
        ...(images.length > 0 ? { images } : {}),
        ...(args.system !== undefined ? { systemMessage: args.system } : {}),
        keepPromptLogits: args['dump-logits'] !== undefined,
        generation: {
          maxNewTokens: args['max-new-tokens'],
          minNewTokens: args['min-new-tokens'],
          temperature: args.temperature,
          seed: args.seed,
          ...(args['top-p'] !== undefined ? { topP: args['top-p'] } : {}),
          ...(args['top-k'] !== undefined ? { topK: args['top-k'] } : {}),
        },
      };
      const streaming = args.stream && !args.json;
      const result = await engine.chat(req, streaming ? (piece) => process.stdout.write(piece) : undefined);
      if (args['dump-logits'] && result.promptLogits) {
        await writeFile(args['dump-logits'], float32LE(result.promptLogits));
      }
      if (args.json) process.stdout.write(`${JSON.stringify(chatResultJson(result, engine.info))}\n`);
      else if (streaming) process.stdout.write('\n');
      else process.stdout.write(`${result.text}\n`);
    } finally {
      await engine.close();
    }
  },
};
