// PLACEHOLDER: replaced by the owner of `score`.
import type { CommandModule } from 'yargs';

export const scoreCommand: CommandModule = {
  command: 'score',
  describe: '(not built yet)',
  handler: () => {
    throw new Error('`score` is not built yet');
  },
};
