// PLACEHOLDER: replaced by the owner of `preprocess`.
import type { CommandModule } from 'yargs';

export const preprocessCommand: CommandModule = {
  command: 'preprocess',
  describe: '(not built yet)',
  handler: () => {
    throw new Error('`preprocess` is not built yet');
  },
};
