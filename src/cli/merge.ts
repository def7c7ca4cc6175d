/**
 * `internvl-eval merge OUT SHARD_DIR...`: combine the run folders of `run --shard I/N` into one run folder.
 * Library: mergeRuns() in src/runner/merge.ts (the report after it: src/report/run-with-report.ts). See docs/sharding.md.
 */
import type { CommandModule } from 'yargs';
import { mergeWithReport } from '../report/run-with-report.ts';

interface MergeArgs {
  out: string;
  shards: string[];
  report: boolean;
}

export const mergeCommand: CommandModule<object, MergeArgs> = {
  command: 'merge <out> <shards..>',
  describe:
    'Combine shard run folders (run --shard I/N) into one run; refuses mismatched configs or missing shards',
  builder: (y) =>
    y
      .positional('out', { type: 'string', demandOption: true, describe: 'New run folder' })
      .positional('shards', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'Shard run folders',
      })
      .option('report', {
        type: 'boolean',
        default: true,
        describe: 'Write the report (--no-report to skip)',
      }),
  handler: async (argv) => {
    const summary = await mergeWithReport(
      { out: argv.out, shardDirs: argv.shards, commandLine: process.argv.slice(1) },
      argv.report,
    );
    for (const t of summary.tasks) {
      const a = t.score.aggregate;
      process.stdout.write(
        `${t.task}: n=${t.n}${a ? ` ${a.metric} ${a.score.toFixed(2)} ${a.unit}` : ''}, errors ${t.score.errors}\n`,
      );
    }
    for (const n of summary.notes) process.stderr.write(`${n}\n`);
    process.stdout.write(`merged ${summary.shards} shards into ${summary.runDir}\n`);
  },
};
