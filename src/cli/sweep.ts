// PLACEHOLDER: replaced by the owner of `sweep`.
import type { CommandModule } from 'yargs';

export const sweepCommand: CommandModule = {
  command: 'sweep',
  describe: '(not built yet)',
  handler: () => {
    throw new Error('`sweep` is not built yet');
  },
};
