/**
 * Writes the ChartQA-like test split as lmms-lab/ChartQA holds it: one parquet with `type` (human_test /
 * augmented_test), `question`, `answer` (a string) and the chart image struct. The two synthetic tasks filter it by
 * `type` exactly as the real chartqa_test_human / chartqa_test_augmented configs do.
 */
import { augmentedQuestions, humanQuestions, makeBarChart } from './charts.ts';
import type { ExpectedSample, WriterContext } from './expected.ts';
import { writeParquet } from './parquet-writer.ts';

export async function writeChartqa(
  ctx: WriterContext,
  humanTask = 'synth_chartqa_human',
  augmentedTask = 'synth_chartqa_augmented',
): Promise<void> {
  const rng = ctx.rng.fork('synth_chartqa');
  const rows: {
    type: string;
    question: string;
    answer: string;
    png: Uint8Array;
    truth: Record<string, unknown>;
  }[] = [];
  for (const type of ['human_test', 'augmented_test']) {
    for (let c = 0; c < ctx.counts.charts; c++) {
      const chart = makeBarChart(rng);
      const png = await chart.image.png();
      const pool = type === 'human_test' ? humanQuestions(chart) : augmentedQuestions(chart);
      for (const q of rng.sample(pool, 2)) {
        rows.push({
          type,
          question: q.question,
          answer: q.answer,
          png,
          truth: { labels: chart.labels, values: chart.values, barColor: chart.barColor, bars: chart.bars },
        });
      }
    }
  }
  // Interleave the splits, as the real file mixes them, so the `type` filter is what separates them.
  const order = rows.map((_, k) => k).sort((a, b) => (a % 2) - (b % 2) || a - b);
  const mixed = order.map((k) => rows[k]);
  await writeParquet(
    `${ctx.root}/lmms-lab/ChartQA/data/test-00000-of-00001.parquet`,
    [
      { name: 'type', kind: 'string', data: mixed.map((r) => r.type) },
      { name: 'question', kind: 'string', data: mixed.map((r) => r.question) },
      { name: 'answer', kind: 'string', data: mixed.map((r) => r.answer) },
      { name: 'image', kind: 'image', data: mixed.map((r, k) => ({ bytes: r.png, path: `chart_${k}.png` })) },
    ],
    4,
  );
  // No id column in lmms-lab/ChartQA: the adapter numbers rows across the file (row0, row1, ...), filter or not.
  const expectedOf = (type: string): ExpectedSample[] =>
    mixed.flatMap((r, k) =>
      r.type === type ? [{ id: `row${k}`, question: r.question, answers: [r.answer], truth: r.truth }] : [],
    );
  ctx.expected[humanTask] = expectedOf('human_test');
  ctx.expected[augmentedTask] = expectedOf('augmented_test');
}
