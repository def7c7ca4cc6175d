// PLACEHOLDER: replaced by the owner of `compare`.
import type { CommandModule } from 'yargs';

export const compareCommand: CommandModule = {
  command: 'compare',
  describe: '(not built yet)',
  handler: () => {
    throw new Error('`compare` is not built yet');
  },
};
