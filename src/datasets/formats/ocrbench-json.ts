/**
 * OCRBench's own release (Yuliang-Liu/MultimodalOCR): `OCRBench.json`, a list of `{dataset_name, id, image_path,
 * question, answers (string or list), type}`, with images under `OCRBench_Images/`. `type` is the category the
 * score groups by (Regular Text Recognition, ..., Handwritten Mathematical Expression Recognition).
 * Options: `imageRoot` (default: the JSON file's folder).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AdapterOptions } from '../adapter.ts';
import { imageRootOf, sampleError, sourceFile } from '../adapter.ts';
import { fileImage } from '../image-source.ts';
import { existingInside } from '../safe-path.ts';
import type { SampleOrError } from '../sample.ts';
import type { TaskConfig } from '../task.ts';

export async function* openOcrbenchJson(
  task: TaskConfig,
  opts: AdapterOptions,
): AsyncGenerator<SampleOrError> {
  const { file, where } = sourceFile(task, opts.root);
  const imageRoot = imageRootOf(task, opts.root, path.dirname(file));
  let list: unknown;
  try {
    list = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new Error(`${where}: cannot read OCRBench JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(list)) throw new Error(`${where}: not a JSON list`);
  for (const [i, item] of (list as any[]).entries()) {
    const id = item?.id !== undefined && item?.id !== null ? String(item.id) : `item${i}`;
    const at = `${where}: item ${i}`;
    const bad = (msg: string) => sampleError(task, id, `${at}: ${msg}`);
    if (typeof item?.question !== 'string') {
      yield bad('field "question" is missing');
      continue;
    }
    const answers = Array.isArray(item.answers)
      ? item.answers.map(String)
      : typeof item.answers === 'string'
        ? [item.answers]
        : undefined;
    if (!answers?.length) {
      yield bad('field "answers" is missing');
      continue;
    }
    if (typeof item.image_path !== 'string' || !item.image_path) {
      yield bad('field "image_path" is missing');
      continue;
    }
    const found = await existingInside(imageRoot, item.image_path);
    if ('error' in found) {
      yield bad(`field "image_path": ${found.error}`);
      continue;
    }
    yield {
      id,
      task: task.name,
      images: [fileImage(found.path, `${at}: field "image_path" (${item.image_path})`, opts)],
      question: item.question,
      answers,
      category: typeof item.type === 'string' ? item.type : undefined,
      meta: { dataset_name: item.dataset_name, item: i },
    };
  }
}
