// PLACEHOLDER: replaced by the owner of `merge`.
import type { CommandModule } from 'yargs';

export const mergeCommand: CommandModule = {
  command: 'merge',
  describe: '(not built yet)',
  handler: () => {
    throw new Error('`merge` is not built yet');
  },
};
