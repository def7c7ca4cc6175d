/**
 * Writes the text-reading tasks: DocVQA-like (lmms-lab parquet), InfoVQA-like (InternVL jsonl + DocVQA-format GT
 * JSON), TextVQA-like (InternVL jsonl + VQA-format annotations with 10 answers), and OCRBench-like (VLMEvalKit TSV
 * with Python-list answers and an image reference, and the same questions as OCRBench's own JSON release).
 */
import { makeDocument, makeTextImage, type SyntheticDocument } from './documents.ts';
import type { ExpectedSample, WriterContext } from './expected.ts';
import { jsonl, put } from './expected.ts';
import { writeParquet } from './parquet-writer.ts';
import { pyReprList, writeTsv } from './tsv-writer.ts';
import type { RgbImage } from './raster.ts';
import { Rng } from './rng.ts';

/** DocVQA-style answer list: the drawn value, plus the currency-marked variant for amounts. */
export function documentAnswers(key: string, value: string): string[] {
  return key === 'Total' ? [value, `$${value}`] : [value];
}

/** Two questions (on two different fields) per document. */
function docQuestions(rng: Rng, doc: SyntheticDocument) {
  return rng.sample(doc.fields, 2);
}

export async function writeDocvqa(ctx: WriterContext, task = 'synth_docvqa'): Promise<void> {
  const rng = ctx.rng.fork(task);
  const rows: { id: string; q: string; answers: string[]; png: Uint8Array; docId: number; key: string }[] =
    [];
  for (let d = 0; d < ctx.counts.documents; d++) {
    const doc = makeDocument(rng, 5);
    const png = await doc.image.png();
    for (const f of docQuestions(rng, doc)) {
      rows.push({
        id: String(50000 + rows.length),
        q: f.question,
        answers: documentAnswers(f.key, f.value),
        png,
        docId: 9000 + d,
        key: f.key,
      });
    }
  }
  // Two files, as the hub's `validation-0000K-of-0000N` shards, so the adapter's glob and file order are used.
  const half = Math.ceil(rows.length / 2);
  const parts = rows.length > 1 ? [rows.slice(0, half), rows.slice(half)] : [rows];
  for (const [k, part] of parts.entries()) {
    await writeParquet(
      `${ctx.root}/lmms-lab/DocVQA/DocVQA/validation-${String(k).padStart(5, '0')}-of-${String(parts.length).padStart(5, '0')}.parquet`,
      [
        { name: 'questionId', kind: 'string', data: part.map((r) => r.id) },
        { name: 'question', kind: 'string', data: part.map((r) => r.q) },
        { name: 'question_types', kind: 'strings', data: part.map(() => ['form']) },
        { name: 'image', kind: 'image', data: part.map((r) => ({ bytes: r.png, path: `${r.docId}.png` })) },
        { name: 'docId', kind: 'int64', data: part.map((r) => r.docId) },
        { name: 'answers', kind: 'strings', data: part.map((r) => r.answers) },
        { name: 'data_split', kind: 'string', data: part.map(() => 'validation') },
      ],
      3, // small row groups: the adapter reads group by group
    );
  }
  ctx.expected[task] = rows.map((r) => ({
    id: r.id,
    question: r.q,
    answers: r.answers,
    truth: { key: r.key, docId: r.docId },
  }));
}

export async function writeInfovqa(ctx: WriterContext, task = 'synth_infovqa'): Promise<void> {
  const rng = ctx.rng.fork(task);
  const dir = 'data/infographicsvqa';
  const lines: unknown[] = [];
  const gt: { questionId: number; answers: string[] }[] = [];
  const expected: ExpectedSample[] = [];
  for (let d = 0; d < ctx.counts.infographics; d++) {
    const doc = makeDocument(rng, 8);
    const image = `${dir}/infographicsvqa_images/${30000 + d}.png`;
    await put(ctx.root, image, await doc.image.png());
    for (const f of docQuestions(rng, doc)) {
      const questionId = 65000 + gt.length;
      const answers = documentAnswers(f.key, f.value);
      lines.push({ question_id: questionId, image, question: f.question });
      gt.push({ questionId, answers });
      expected.push({ id: String(questionId), question: f.question, answers, truth: { key: f.key } });
    }
  }
  await put(ctx.root, `${dir}/infographicsvqa_val.jsonl`, jsonl(lines));
  await put(
    ctx.root,
    `${dir}/infographicsvqa_val_v1.0_withQT.json`,
    JSON.stringify({ dataset_name: 'infographicsVQA', dataset_split: 'val', data: gt }, null, 1),
  );
  ctx.expected[task] = expected;
}

/** TextVQA's 10 annotator answers: mostly the text, some lower-cased, one "unanswerable" (as real annotators do). */
export function tenAnswers(text: string): string[] {
  return [...Array(7).fill(text), text.toLowerCase(), text.toLowerCase(), 'unanswerable'];
}

export async function writeTextvqa(ctx: WriterContext, task = 'synth_textvqa'): Promise<void> {
  const rng = ctx.rng.fork(task);
  const dir = 'data/textvqa';
  const lines: unknown[] = [];
  const annotations: unknown[] = [];
  const expected: ExpectedSample[] = [];
  for (let k = 0; k < ctx.counts.textImages; k++) {
    const kind = k % 2 === 0 ? 'word' : 'digits';
    const t = makeTextImage(rng, kind);
    const imageId = `${(0x1a2b00 + k).toString(16)}c0ffee`;
    const image = `${dir}/train_images/${imageId}.png`;
    await put(ctx.root, image, await t.image.png());
    const questionId = 34602 + k;
    const question = kind === 'word' ? 'what word is written on the sign?' : 'what number is shown?';
    const answers = tenAnswers(t.text);
    lines.push({ question_id: questionId, image, question, answer: t.text });
    annotations.push({
      question_id: questionId,
      image_id: imageId,
      answers: answers.map((a, i) => ({ answer: a, answer_confidence: 'yes', answer_id: i + 1 })),
    });
    expected.push({ id: String(questionId), question, answers, truth: { text: t.text } });
  }
  await put(ctx.root, `${dir}/textvqa_val.jsonl`, jsonl(lines));
  await put(ctx.root, `${dir}/textvqa_val_annotations.json`, JSON.stringify({ annotations }, null, 1));
  ctx.expected[task] = expected;
}

interface OcrItem {
  index: number;
  category: string;
  question: string;
  answers: string[];
  image: RgbImage;
  /** Index of an earlier row holding the same image (VLMEvalKit short reference), if any. */
  sameImageAs?: number;
}

/** OCRBench-like questions over four of its categories (HME is left out: it is not text this font draws). */
function ocrbenchItems(ctx: WriterContext): OcrItem[] {
  const rng = ctx.rng.fork('synth_ocrbench');
  const items: OcrItem[] = [];
  let doc: { d: SyntheticDocument; index: number } | undefined;
  for (let k = 0; k < ctx.counts.ocrbenchQuestions; k++) {
    const index = k;
    switch (k % 4) {
      case 0: {
        const t = makeTextImage(rng, 'word');
        items.push({
          index,
          category: 'Regular Text Recognition',
          question: 'what is written in the image?',
          answers: [t.text],
          image: t.image,
        });
        break;
      }
      case 1: {
        const t = makeTextImage(rng, 'digits');
        items.push({
          index,
          category: 'Digit String Recognition',
          question: 'what is the number in the image?',
          answers: [t.text],
          image: t.image,
        });
        break;
      }
      case 2: {
        const d = makeDocument(rng, 5);
        doc = { d, index };
        const f = d.fields[0];
        items.push({
          index,
          category: 'Key Information Extraction',
          question: `What is the ${f.key.toLowerCase()}? Answer this question using the text in the image directly.`,
          answers: documentAnswers(f.key, f.value),
          image: d.image,
        });
        break;
      }
      default: {
        // Same document as the KIE row before: its TSV image cell is that row's index.
        const { d, index: ref } = doc!;
        const f = d.fields[1];
        items.push({
          index,
          category: 'Doc-oriented VQA',
          question: f.question,
          answers: documentAnswers(f.key, f.value),
          image: d.image,
          sameImageAs: ref,
        });
      }
    }
  }
  return items;
}

export async function writeOcrbench(
  ctx: WriterContext,
  tsvTask = 'synth_ocrbench',
  jsonTask = 'synth_ocrbench_json',
): Promise<void> {
  const items = ocrbenchItems(ctx);
  const pngs = await Promise.all(items.map((i) => i.image.png()));
  await writeTsv(
    `${ctx.root}/LMUData/OCRBench.tsv`,
    ['index', 'image', 'question', 'answer', 'category'],
    items.map((it, k) => ({
      index: it.index,
      image: it.sameImageAs !== undefined ? String(it.sameImageAs) : Buffer.from(pngs[k]).toString('base64'),
      question: it.question,
      answer: pyReprList(it.answers),
      category: it.category,
    })),
  );
  const json = [];
  for (const [k, it] of items.entries()) {
    // image_path is relative to the JSON file's folder (the adapter's default image root)
    const file = `OCRBench_Images/${it.category.split(' ')[0].toLowerCase()}_${it.index}.png`;
    await put(ctx.root, `OCRBench/${file}`, pngs[k]);
    json.push({
      dataset_name: 'synthetic',
      id: it.index,
      image_path: file,
      question: it.question,
      // the release stores a single answer as a string and several as a list
      answers: it.answers.length === 1 ? it.answers[0] : it.answers,
      type: it.category,
    });
  }
  await put(ctx.root, 'OCRBench/OCRBench.json', JSON.stringify(json, null, 1));
  const expected = items.map((it) => ({
    id: String(it.index),
    question: it.question,
    answers: it.answers,
    category: it.category,
    truth: it.sameImageAs !== undefined ? { sameImageAs: String(it.sameImageAs) } : {},
  }));
  ctx.expected[tsvTask] = expected;
  ctx.expected[jsonTask] = expected;
}
