// PLACEHOLDER: replaced by the owner of `run`.
import type { CommandModule } from 'yargs';

export const runCommand: CommandModule = {
  command: 'run',
  describe: '(not built yet)',
  handler: () => {
    throw new Error('`run` is not built yet');
  },
};
