// PLACEHOLDER: replaced by the owner of `build`.
import type { CommandModule } from 'yargs';

export const buildCommand: CommandModule = {
  command: 'build',
  describe: '(not built yet)',
  handler: () => {
    throw new Error('`build` is not built yet');
  },
};
