// PLACEHOLDER: replaced by the owner of `tokenize`.
import type { CommandModule } from 'yargs';

export const tokenizeCommand: CommandModule = {
  command: 'tokenize',
  describe: '(not built yet)',
  handler: () => {
    throw new Error('`tokenize` is not built yet');
  },
};
