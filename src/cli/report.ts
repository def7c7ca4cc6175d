// `internvl-eval report RUN`: (re)build summary.json, results.md/.csv, charts and report.html of a run folder.
import type { CommandModule } from 'yargs';
import { writeRunReport } from '../report/run-report.ts';

interface Args {
  run: string;
  maxSamples?: number;
}

export const reportCommand: CommandModule<object, Args> = {
  command: 'report <run>',
  describe: 'Rebuild the tables, charts and HTML report of a run folder',
  builder: (y) =>
    y.positional('run', { type: 'string', demandOption: true }).option('max-samples', {
      type: 'number',
      default: 200,
      describe: 'samples per task in the HTML sample browser',
    }) as never,
  handler: async (args) => {
    const files = await writeRunReport(args.run, { maxSamplesPerTask: args.maxSamples });
    process.stdout.write(
      [
        `summary: ${files.summary}`,
        `table:   ${files.markdown}`,
        `csv:     ${files.csv}`,
        `html:    ${files.html}`,
        ...files.charts.map((c) => `chart:   ${c}`),
      ].join('\n') + '\n',
    );
  },
};
