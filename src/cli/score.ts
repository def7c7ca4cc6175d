/**
 * `internvl-eval score --metric NAME --input FILE [--output FILE] [--json]`: re-score an existing prediction file
 * (JSONL, or CSV/TSV with the same column names; see src/metrics/score-file.ts for the formats).
 */
import type { CommandModule } from 'yargs';
import { scorerNames } from '../metrics/registry.ts';
import { aggregateJson, formatAggregate, scoreFile } from '../metrics/score-file.ts';

interface ScoreArgs {
  metric: string;
  input: string;
  output?: string;
  json?: boolean;
}

export const scoreCommand: CommandModule<object, ScoreArgs> = {
  command: 'score',
  describe:
    'Score a prediction file (JSONL/CSV/TSV) with a reference-exact metric; print the aggregate and its 95% CI',
  builder: (y) =>
    y
      .option('metric', {
        type: 'string',
        demandOption: true,
        choices: scorerNames as string[],
        describe: 'Metric name',
      })
      .option('input', { type: 'string', demandOption: true, describe: 'Predictions: .jsonl, .csv or .tsv' })
      .option('output', {
        type: 'string',
        describe: 'Write every record back with score/extracted (JSONL, or CSV/TSV by extension)',
      })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'Print the aggregate as one JSON object',
      }),
  handler: async (argv) => {
    const { aggregate } = await scoreFile(argv.input, argv.metric, { output: argv.output });
    process.stdout.write((argv.json ? aggregateJson(aggregate) : formatAggregate(aggregate)) + '\n');
  },
};
