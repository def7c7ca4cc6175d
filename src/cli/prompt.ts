/**
 * `internvl-eval prompt --task TASK --question Q [--tiles N] [--tokenizer PATH] [--json]`: the exact prompt the
 * model gets for a question under a task's recipe (template + expanded image tokens), and its ids.
 */
import type { CommandModule } from 'yargs';
import type { Sample } from '../datasets/sample.ts';
import { loadTask } from '../datasets/task-config.ts';
import { buildSamplePrompt, compactImageTokens } from '../model/inputs/sample-prompt.ts';
import { InternLM2Tokenizer } from '../model/inputs/tokenizer.ts';

interface PromptArgs {
  task: string;
  question: string;
  option?: string[];
  hint?: string;
  tiles: number;
  'image-tokens': number;
  tokenizer?: string;
  'config-dir'?: string;
  compact: boolean;
  json: boolean;
}

/** `A=text` → ['A', 'text']. */
function parseOption(s: string): [string, string] {
  const m = /^([A-Z])=(.*)$/s.exec(s);
  if (!m) throw new Error(`--option must look like A=text, got "${s}"`);
  return [m[1], m[2]];
}

export const promptCommand: CommandModule<object, PromptArgs> = {
  command: 'prompt',
  describe: "Print the exact prompt (and ids) a task's recipe gives for a question",
  builder: (y) =>
    y
      .option('task', { type: 'string', demandOption: true, describe: 'task name (configs/tasks/NAME.yaml)' })
      .option('question', {
        type: 'string',
        demandOption: true,
        describe: 'the question as the dataset holds it',
      })
      .option('option', { type: 'string', array: true, describe: 'MCQ option, repeatable: --option "A=red"' })
      .option('hint', { type: 'string', describe: 'MCQ hint (MMBench)' })
      .option('tiles', {
        type: 'number',
        default: 1,
        describe: 'tiles of the image incl. thumbnail (video tasks: tiles per frame)',
      })
      .option('image-tokens', { type: 'number', default: 256, describe: '<IMG_CONTEXT> tokens per tile' })
      .option('tokenizer', { type: 'string', describe: 'tokenizer.model or folder: also print the ids' })
      .option('config-dir', { type: 'string', describe: 'folder of task YAMLs (default configs/tasks)' })
      .option('compact', {
        type: 'boolean',
        default: false,
        describe: 'write <IMG_CONTEXT> runs as <IMG_CONTEXT>×N',
      })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'print {"task","userText","prompt","ids"}',
      }),
  handler: async (args) => {
    const task = await loadTask(args.task, { configDir: args['config-dir'] });
    const recipe = task.prompt;
    const video = recipe.kind === 'mvbench' || recipe.kind === 'videomme';
    const frames = video ? recipe.frames : 0;
    const choices = args.option?.length ? Object.fromEntries(args.option.map(parseOption)) : undefined;
    const sample: Sample = {
      id: 'cli',
      task: task.name,
      images: video ? [] : [{ origin: '(prompt command)', load: async () => new Uint8Array(0) }],
      question: args.question,
      answers: [],
      choices,
      hint: args.hint,
      meta: {},
    };
    const numPatchesList = video ? Array.from({ length: frames }, () => args.tiles) : [args.tiles];
    const { userText, prompt } = buildSamplePrompt(recipe, sample, numPatchesList, args['image-tokens']);
    const ids = args.tokenizer
      ? (await InternLM2Tokenizer.fromDir(args.tokenizer)).encode(prompt)
      : undefined;
    const shown = args.compact ? compactImageTokens(prompt) : prompt;
    if (args.json) {
      process.stdout.write(JSON.stringify({ task: task.name, userText, prompt: shown, ids }) + '\n');
      return;
    }
    process.stdout.write(shown + '\n');
    if (ids) process.stdout.write(`\n${ids.length} tokens:\n${JSON.stringify(ids)}\n`);
  },
};
