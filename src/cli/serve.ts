// PLACEHOLDER: replaced by the owner of `serve`.
import type { CommandModule } from 'yargs';

export const serveCommand: CommandModule = {
  command: 'serve',
  describe: '(not built yet)',
  handler: () => {
    throw new Error('`serve` is not built yet');
  },
};
