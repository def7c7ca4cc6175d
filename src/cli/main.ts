/**
 * `internvl-eval` entry: one yargs command per file in src/cli, each a thin wrapper over library functions.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands.ts';

const cli = yargs(hideBin(process.argv))
  .scriptName('internvl-eval')
  .strict()
  .demandCommand(1, 'Name a command; --help lists them.')
  .recommendCommands()
  .help()
  .version(false)
  .fail((msg, err, y) => {
    if (err) {
      process.stderr.write(`internvl-eval: ${err.message}\n`);
    } else {
      process.stderr.write(`${y.help()}\n\n${msg}\n`);
    }
    // `gate` keeps 1 for "regressed": its errors, usage errors included, exit 2 (src/cli/gate.ts).
    const code = (err as { exitCode?: unknown } | undefined)?.exitCode;
    process.exit(typeof code === 'number' ? code : hideBin(process.argv)[0] === 'gate' ? 2 : 1);
  });

for (const command of commands) cli.command(command as never);

await cli.parseAsync();
