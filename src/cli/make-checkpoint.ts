// PLACEHOLDER: replaced by the owner of `make-checkpoint`.
import type { CommandModule } from 'yargs';

export const makeCheckpointCommand: CommandModule = {
  command: 'make-checkpoint',
  describe: '(not built yet)',
  handler: () => {
    throw new Error('`make-checkpoint` is not built yet');
  },
};
