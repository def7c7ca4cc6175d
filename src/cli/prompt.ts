// PLACEHOLDER: replaced by the owner of `prompt`.
import type { CommandModule } from 'yargs';

export const promptCommand: CommandModule = {
  command: 'prompt',
  describe: '(not built yet)',
  handler: () => {
    throw new Error('`prompt` is not built yet');
  },
};
