/**
 * `internvl-eval tokenize --tokenizer PATH (--text T | --input FILE.jsonl) [--raw]`: token ids as JSON, as
 * InternVL's tokenizer gives them (BOS + added tokens split out), or plain SentencePiece with --raw.
 */
import { readFile } from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import { InternLM2Tokenizer } from '../model/inputs/tokenizer.ts';
import { tokenizeJsonl, tokenizeText } from '../model/inputs/tokenize-jsonl.ts';

interface TokenizeArgs {
  tokenizer: string;
  text?: string;
  input?: string;
  raw: boolean;
}

export const tokenizeCommand: CommandModule<object, TokenizeArgs> = {
  command: 'tokenize',
  describe:
    'Print the token ids of a text (or of each {"text"} line of a JSONL file) as InternVL2 tokenizes it',
  builder: (y) =>
    y
      .option('tokenizer', {
        type: 'string',
        demandOption: true,
        describe: 'tokenizer.model file, or a folder with tokenizer.model [+ tokenizer_config.json]',
      })
      .option('text', { type: 'string', describe: 'text to tokenize' })
      .option('input', {
        type: 'string',
        describe: 'JSONL file; each line {"text": ...} is printed back with "ids"',
      })
      .option('raw', {
        type: 'boolean',
        default: false,
        describe: 'plain SentencePiece: no BOS, no added-token splitting',
      })
      .conflicts('text', 'input')
      .check((a) => {
        if (a.text === undefined && a.input === undefined) throw new Error('Give --text or --input.');
        return true;
      }),
  handler: async (args) => {
    const tok = await InternLM2Tokenizer.fromDir(args.tokenizer);
    if (args.text !== undefined) {
      process.stdout.write(JSON.stringify(tokenizeText(tok, args.text, { raw: args.raw })) + '\n');
      return;
    }
    const file = args.input!;
    const jsonl = await readFile(file, 'utf8').catch((e: Error) => {
      throw new Error(`cannot read ${file}: ${e.message}`);
    });
    for (const line of tokenizeJsonl(tok, jsonl, file, { raw: args.raw })) process.stdout.write(line + '\n');
  },
};
