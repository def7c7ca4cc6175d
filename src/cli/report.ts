// PLACEHOLDER: replaced by the owner of `report`.
import type { CommandModule } from 'yargs';

export const reportCommand: CommandModule = {
  command: 'report',
  describe: '(not built yet)',
  handler: () => {
    throw new Error('`report` is not built yet');
  },
};
