/**
 * InternVL repo layout: one JSON object per line (`image`, `question`, `question_id`, `answer`; MM-Vet uses `text`),
 * images by path relative to an image root, and optionally the answers from a separate ground-truth JSON:
 *  - `kind: docvqa`: the official DocVQA/InfoVQA GT (`val_v1.0.json`: `data[].questionId`, `data[].answers`),
 *    read by InternVL eval/vqa/infographicsvqa_eval.py;
 *  - `kind: vqa-annotations`: VQA-format annotations (`textvqa_val_annotations.json`: `annotations[].question_id`,
 *    `answers[].answer`), read by eval/vqa/textvqa_eval.py, which asserts exactly 10 answers per question.
 * Options: `imageRoot` (default: the root), `gt: { file, kind }`, `expectAnswers`.
 */
import { readFile } from 'node:fs/promises';
import type { AdapterOptions } from '../adapter.ts';
import { imageRootOf, jsonlLines, numberOption, shown, sourceFile } from '../adapter.ts';
import { fileImage } from '../image-source.ts';
import {
  RowFieldError,
  answersOf,
  asText,
  fieldMap,
  isMissing,
  metaOf,
  optionalText,
  requiredText,
  rowError,
} from '../row-fields.ts';
import { existingInside, resolveInside } from '../safe-path.ts';
import type { ImageSource, SampleOrError } from '../sample.ts';
import type { TaskConfig } from '../task.ts';

export const INTERNVL_JSONL_FIELDS = {
  question_id: 'id',
  question: 'question',
  answer: 'answer',
  image: 'image',
};

type GtKind = 'docvqa' | 'vqa-annotations';

/** questionId -> answers, from an official GT file. */
export async function readGroundTruth(file: string, kind: GtKind): Promise<Map<string, string[]>> {
  let json: any;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read ground truth JSON (${(e as Error).message})`);
  }
  const out = new Map<string, string[]>();
  if (kind === 'docvqa') {
    if (!Array.isArray(json?.data)) throw new Error(`${file}: field "data" is not a list (DocVQA GT format)`);
    json.data.forEach((d: any, k: number) => {
      if (isMissing(d?.questionId) || !Array.isArray(d?.answers)) {
        throw new Error(`${file}: data[${k}]: field "questionId"/"answers" missing`);
      }
      out.set(String(d.questionId), d.answers.map(String));
    });
  } else {
    if (!Array.isArray(json?.annotations)) {
      throw new Error(`${file}: field "annotations" is not a list (VQA annotation format)`);
    }
    json.annotations.forEach((a: any, k: number) => {
      if (isMissing(a?.question_id) || !Array.isArray(a?.answers)) {
        throw new Error(`${file}: annotations[${k}]: field "question_id"/"answers" missing`);
      }
      out.set(
        String(a.question_id),
        a.answers.map((x: any) => String(x?.answer ?? '')),
      );
    });
  }
  return out;
}

export async function* openInternvlJsonl(
  task: TaskConfig,
  opts: AdapterOptions,
): AsyncGenerator<SampleOrError> {
  const { file, where } = sourceFile(task, opts.root);
  const imageRoot = imageRootOf(task, opts.root);
  const expect = numberOption(task, 'expectAnswers');
  const gtOpt = task.source.options?.gt as { file?: string; kind?: GtKind } | undefined;
  let gt: Map<string, string[]> | undefined;
  let gtWhere = '';
  if (gtOpt) {
    if (typeof gtOpt.file !== 'string' || (gtOpt.kind !== 'docvqa' && gtOpt.kind !== 'vqa-annotations')) {
      throw new Error(`task ${task.name}: source.options.gt needs file and kind (docvqa | vqa-annotations)`);
    }
    const gtFile = resolveInside(opts.root, gtOpt.file);
    gtWhere = shown(opts.root, gtFile);
    gt = await readGroundTruth(gtFile, gtOpt.kind);
  }
  const map = fieldMap(task, INTERNVL_JSONL_FIELDS);
  for await (const entry of jsonlLines(task, file, where, { objects: true })) {
    if ('error' in entry) {
      yield entry;
      continue;
    }
    const { lineNo, at } = entry;
    const row = entry.row as Record<string, unknown>;
    let id = `line${lineNo}`;
    try {
      id = optionalText(row, map.columns.get('id')) ?? id;
      const question = requiredText(row, map.columns.get('question'), 'question');
      let answers = answersOf(row, map);
      if (gt) {
        const g = gt.get(id);
        if (!g) throw new RowFieldError(`no ground truth for question id "${id}" in ${gtWhere}`);
        answers = g;
      }
      if (expect !== undefined && answers.length !== expect) {
        throw new RowFieldError(`question "${id}" has ${answers.length} answers, expected ${expect}`);
      }
      const images: ImageSource[] = [];
      const imgCol = map.columns.get('image') ?? map.columns.get('images');
      if (imgCol) {
        const v = row[imgCol];
        if (isMissing(v)) throw new RowFieldError(`field "${imgCol}" is missing`);
        const list = Array.isArray(v) ? v : [v];
        for (const [k, p] of list.entries()) {
          const rel = asText(p);
          const field = Array.isArray(v) ? `${imgCol}[${k}]` : imgCol;
          const found = await existingInside(imageRoot, rel);
          if ('error' in found) throw new RowFieldError(`field "${field}": ${found.error}`);
          images.push(fileImage(found.path, `${at}: field "${field}" (${rel})`, opts));
        }
      }
      yield {
        id,
        task: task.name,
        images,
        question,
        answers,
        category: optionalText(row, map.columns.get('category')),
        meta: { ...metaOf(row, map), line: lineNo },
      };
    } catch (e) {
      yield rowError(task, id, at, e);
    }
  }
}
