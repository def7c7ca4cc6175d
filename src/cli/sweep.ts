/**
 * `internvl-eval sweep --max-tiles 1,2,4,6,12 [--variant fp16,int8,int4] --out DIR <run flags>`: one run per grid
 * point (finished runs are reused), then score-vs-tiles charts with image tokens and latency, and a table.
 */
import type { CommandModule } from 'yargs';
import { loadThresholds } from '../report/gate-thresholds.ts';
import { enableDecodedImageCache } from '../model/inputs/decoded-image-cache.ts';
import { runSweep } from '../report/sweep.ts';
import { commaList, runOptions, runOptionsFromArgs, type RunArgs } from './run.ts';

type SweepArgs = Omit<RunArgs, 'max-tiles'> & {
  'max-tiles': string;
  'gate-max-drop'?: number;
  'gate-thresholds'?: string;
};

function parseList(text: string, flag: string): string[] {
  const items = commaList(text) ?? [];
  if (!items.length) throw new Error(`--${flag}: give a comma-separated list`);
  return items;
}

export function parseTileList(text: string): number[] {
  return parseList(text, 'max-tiles').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1 || n > 40)
      throw new Error(`--max-tiles: "${s}" is not a tile cap in 1..40`);
    return n;
  });
}

export const sweepCommand: CommandModule<object, SweepArgs> = {
  command: 'sweep',
  describe:
    'Run a grid of tile caps (and variants), reuse finished runs, chart score vs tiles, tokens and latency',
  builder: (y) =>
    runOptions(y, { variantList: true })
      .option('max-tiles', {
        type: 'string',
        demandOption: true,
        describe: 'Comma-separated tile caps, e.g. 1,2,4,6,12',
      })
      .option('out', {
        type: 'string',
        demandOption: true,
        describe: 'Folder holding one run per grid point',
      })
      .option('gate-max-drop', {
        type: 'number',
        describe:
          'End with `gate` of each variant against the first (per tile cap); exit 1 on a regression, 2 if a gate cannot run',
      })
      .option('gate-thresholds', {
        type: 'string',
        describe: 'Per-task allowed drops for that gate (YAML, as `gate --thresholds`)',
      }) as never,
  handler: async (argv) => {
    const base = runOptionsFromArgs({ ...argv, 'max-tiles': undefined, variant: undefined } as RunArgs);
    const gating = argv['gate-max-drop'] !== undefined || argv['gate-thresholds'] !== undefined;
    // The runs of a sweep share this process, and decoding does not depend on the tile cap or the variant:
    // decode each image once (bounded cache, 1 GiB of decoded pixels), not once per grid point.
    enableDecodedImageCache();
    const result = await runSweep(
      {
        ...base,
        maxTiles: parseTileList(argv['max-tiles']),
        variants: argv.variant ? parseList(argv.variant, 'variant') : undefined,
        out: argv.out!,
        gate: gating
          ? {
              maxDrop: argv['gate-max-drop'],
              thresholds: argv['gate-thresholds'] ? await loadThresholds(argv['gate-thresholds']) : null,
            }
          : undefined,
      },
      (line) => process.stderr.write(`${line}\n`),
    ).finally(() => enableDecodedImageCache(0));
    for (const p of result.points) {
      for (const r of p.rows.filter((x) => x.score !== null)) {
        process.stdout.write(
          `${p.variant} tiles=${p.maxTiles} ${r.task}: ${r.score!.toFixed(2)} (${r.imageTokensPerSample?.toFixed(0) ?? '–'} image tokens/sample)\n`,
        );
      }
    }
    for (const g of result.gates ?? [])
      process.stdout.write(
        `gate ${g.candidate} vs ${g.baseline}: ${g.result ? g.result.headline : `not run: ${g.error}`}\n`,
      );
    process.stdout.write(`Written: ${result.files.join(', ')}\n`);
    if (result.exitCode !== undefined) process.exitCode = result.exitCode;
  },
};
