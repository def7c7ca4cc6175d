/**
 * Writes the tasks built from shape scenes: RefCOCO-like grounding (Qwen-VL jsonl: pixel xyxy bbox, width, height),
 * MME-like yes/no pairs (per-subtask txt files + image folders), MMBench-like multiple choice (VLMEvalKit TSV with
 * circular copies at index + k * 1e6 whose `image` cell is the main row's index), and AI2D-like multiple choice
 * (InternVL jsonl whose `question` already carries the options and the instruction).
 */
import type { ExpectedSample, WriterContext } from './expected.ts';
import { jsonl, put } from './expected.ts';
import {
  makeShapeScene,
  multipleChoice,
  referringSentences,
  rotateChoice,
  yesNoPair,
  type YesNoPair,
} from './shapes.ts';
import type { TsvCell } from './tsv-writer.ts';
import { writeTsv } from './tsv-writer.ts';

export async function writeRefcoco(ctx: WriterContext, task = 'synth_refcoco'): Promise<void> {
  const rng = ctx.rng.fork(task);
  const lines: unknown[] = [];
  const expected: ExpectedSample[] = [];
  for (let k = 0; k < ctx.counts.groundingScenes; k++) {
    const scene = makeShapeScene(rng);
    const image = `data/coco/train2014/COCO_train2014_${String(581000 + k).padStart(12, '0')}.png`;
    await put(ctx.root, image, await scene.image.png());
    const { sent, shape } = referringSentences(scene)[k % scene.shapes.length];
    const { width, height } = scene.image;
    lines.push({ image, sent, bbox: [...shape.box], width, height });
    expected.push({
      id: `line${lines.length}`,
      question: sent,
      answers: [],
      bbox: shape.box,
      width,
      height,
      truth: { color: shape.color, kind: shape.kind },
    });
  }
  await put(ctx.root, 'data/refcoco/refcoco_val.jsonl', jsonl(lines));
  ctx.expected[task] = expected;
}

/** MME subtasks the shape scenes can ask about (all perception). */
export const MME_SUBTASKS: readonly YesNoPair['subtask'][] = ['existence', 'count', 'position', 'color'];

export async function writeMme(ctx: WriterContext, task = 'synth_mme'): Promise<void> {
  const rng = ctx.rng.fork(task);
  const byFile = new Map<string, ExpectedSample[]>();
  for (const subtask of MME_SUBTASKS) {
    const lines: string[] = [];
    const expected: ExpectedSample[] = [];
    // The official release keeps some subtasks' images in an `images/` subfolder; `position` copies that layout.
    const folder = subtask === 'position' ? `${subtask}/images` : subtask;
    for (let k = 0; k < ctx.counts.mmeImagesPerSubtask; k++) {
      const scene = makeShapeScene(rng);
      const img = `${String(k + 1).padStart(4, '0')}.png`;
      await put(ctx.root, `data/mme/MME_Benchmark_release_version/${folder}/${img}`, await scene.image.png());
      const pair = yesNoPair(rng, scene, subtask);
      for (const [j, [q, gt]] of [
        [pair.yes, 'Yes'],
        [pair.no, 'No'],
      ].entries()) {
        lines.push(`${img}\t${q}\t${gt}`);
        expected.push({ id: `${subtask}/${img}#${j}`, question: q, answers: [gt], category: subtask });
      }
    }
    await put(ctx.root, `eval/mme/Your_Results/${subtask}.txt`, lines.join('\n') + '\n');
    byFile.set(subtask, expected);
  }
  // The adapter reads the txt files in name order.
  ctx.expected[task] = [...byFile.keys()].sort().flatMap((s) => byFile.get(s)!);
}

const MMBENCH_COLUMNS = [
  'index',
  'question',
  'hint',
  'A',
  'B',
  'C',
  'D',
  'answer',
  'category',
  'image',
  'source',
  'l2-category',
  'comment',
  'split',
];

/** VLMEvalKit circular copies: index + k * 1e6 for k = 1..3. */
export const CIRCULAR_OFFSET = 1_000_000;

export async function writeMmbench(ctx: WriterContext, task = 'synth_mmbench'): Promise<void> {
  const rng = ctx.rng.fork(task);
  const rows: Record<string, TsvCell>[] = [];
  const expected: ExpectedSample[] = [];
  for (let i = 0; i < ctx.counts.mmbenchQuestions; i++) {
    const scene = makeShapeScene(rng);
    const b64 = (await scene.image.png()).toString('base64');
    const mc = multipleChoice(rng, scene, (i % 3) as 0 | 1 | 2);
    const hint = i % 2 === 0 ? 'The picture shows simple coloured shapes on a white background.' : undefined;
    for (let k = 0; k < mc.options.length; k++) {
      const v = rotateChoice(mc, k);
      const index = i + k * CIRCULAR_OFFSET;
      const choices = Object.fromEntries(v.options.map((o, j) => [String.fromCharCode(65 + j), o]));
      rows.push({
        index,
        question: v.question,
        hint,
        ...choices,
        answer: v.answer,
        category: v.category,
        // circular copies share the main row's image by reference (a cell of <= 64 chars is an index)
        image: k === 0 ? b64 : String(i),
        source: 'synthetic',
        'l2-category': v.l2Category,
        comment: undefined,
        split: 'dev',
      });
      expected.push({
        id: String(index),
        question: v.question,
        answers: [v.answer],
        choices,
        hint,
        category: v.category,
        truth: { main: i },
      });
    }
  }
  await writeTsv(`${ctx.root}/data/mmbench/mmbench_dev_synthetic.tsv`, MMBENCH_COLUMNS, rows);
  ctx.expected[task] = expected;
}

/** VLMEvalKit build_multi_choice_prompt text, as AI2D's test_vlmevalkit.jsonl `question` carries it. */
export function ai2dQuestionText(question: string, options: readonly string[]): string {
  const lines = options.map((o, k) => `${String.fromCharCode(65 + k)}. ${o}`);
  return [question, ...lines, "Answer with the option's letter from the given choices directly."].join('\n');
}

export async function writeAi2d(ctx: WriterContext, task = 'synth_ai2d'): Promise<void> {
  const rng = ctx.rng.fork(task);
  const lines: unknown[] = [];
  const expected: ExpectedSample[] = [];
  for (let k = 0; k < ctx.counts.ai2dQuestions; k++) {
    const scene = makeShapeScene(rng);
    const image = `data/ai2diagram/AI2D_TEST/${k + 1}.png`;
    await put(ctx.root, image, await scene.image.png());
    const mc = multipleChoice(rng, scene, (k % 3) as 0 | 1 | 2);
    const question = ai2dQuestionText(mc.question, mc.options);
    lines.push({ question_id: k, image, question, answer: mc.answer });
    expected.push({
      id: String(k),
      question,
      answers: [mc.answer],
      truth: { options: mc.options, category: mc.category },
    });
  }
  await put(ctx.root, 'data/ai2diagram/test_vlmevalkit.jsonl', jsonl(lines));
  ctx.expected[task] = expected;
}
