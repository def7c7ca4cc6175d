// PLACEHOLDER: replaced by the owner of `chat`.
import type { CommandModule } from 'yargs';

export const chatCommand: CommandModule = {
  command: 'chat',
  describe: '(not built yet)',
  handler: () => {
    throw new Error('`chat` is not built yet');
  },
};
