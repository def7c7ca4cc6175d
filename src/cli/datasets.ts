// PLACEHOLDER: replaced by the owner of `datasets`.
import type { CommandModule } from 'yargs';

export const datasetsCommand: CommandModule = {
  command: 'datasets',
  describe: '(not built yet)',
  handler: () => {
    throw new Error('`datasets` is not built yet');
  },
};
