// `internvl-eval compare RUN_A RUN_B [...]`: paired comparison of runs over the same samples.
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { renderComparisonMarkdown, writeComparisons } from '../report/compare.ts';

interface Args {
  runs: string[];
  out?: string;
  json?: boolean;
}

export const compareCommand: CommandModule<object, Args> = {
  command: 'compare <runs..>',
  describe: 'Compare runs sample by sample (paired Δ with CI, McNemar test, flips) against the first',
  builder: (y) =>
    y
      .positional('runs', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'run folders; the first is the baseline',
      })
      .option('out', {
        type: 'string',
        describe: 'folder for compare.json/.md/-delta.png (default: <last run>/compare-<first run>)',
      })
      .option('json', { type: 'boolean', describe: 'print the comparison as JSON' }) as never,
  handler: async (args) => {
    const runs = args.runs;
    const out =
      args.out ?? path.join(runs[runs.length - 1], `compare-${path.basename(path.resolve(runs[0]))}`);
    const { files, comparisons } = await writeComparisons(runs, out);
    if (args.json) process.stdout.write(JSON.stringify(comparisons, null, 2) + '\n');
    else {
      for (const c of comparisons) process.stdout.write(renderComparisonMarkdown(c, 5) + '\n');
      process.stdout.write(`Written: ${files.join(', ')}\n`);
    }
  },
};
