/**
 * RefCOCO / RefCOCO+ / RefCOCOg as InternVL eval/refcoco/evaluate_grounding.py reads the Qwen-VL jsonl: one line per
 * referring expression with `image` (path under the COCO image root), `sent`, `bbox` = absolute pixel
 * `[x1, y1, x2, y2]`, `width`, `height` (the scorer scales the model's 0-1000 box by them).
 * Options: `imageRoot` (default: the root).
 */
import type { AdapterOptions } from '../adapter.ts';
import { imageRootOf, jsonlLines, sampleError, sourceFile } from '../adapter.ts';
import { fileImage } from '../image-source.ts';
import { existingInside } from '../safe-path.ts';
import type { SampleOrError } from '../sample.ts';
import type { TaskConfig } from '../task.ts';

export async function* openRefcocoJsonl(
  task: TaskConfig,
  opts: AdapterOptions,
): AsyncGenerator<SampleOrError> {
  const { file, where } = sourceFile(task, opts.root);
  const imageRoot = imageRootOf(task, opts.root);
  for await (const entry of jsonlLines(task, file, where)) {
    if ('error' in entry) {
      yield entry;
      continue;
    }
    const { lineNo, at } = entry;
    const row = entry.row as any;
    const id = `line${lineNo}`;
    const bad = (msg: string) => sampleError(task, id, `${at}: ${msg}`);
    if (typeof row?.image !== 'string' || !row.image) {
      yield bad('field "image" is missing');
      continue;
    }
    if (typeof row.sent !== 'string') {
      yield bad('field "sent" is missing');
      continue;
    }
    const bbox = row.bbox;
    if (
      !Array.isArray(bbox) ||
      bbox.length !== 4 ||
      !bbox.every((v: unknown) => typeof v === 'number' && Number.isFinite(v))
    ) {
      yield bad('field "bbox" must be 4 numbers [x1, y1, x2, y2]');
      continue;
    }
    const w = row.width;
    const h = row.height;
    if (!(typeof w === 'number' && w > 0) || !(typeof h === 'number' && h > 0)) {
      yield bad('fields "width"/"height" must be positive numbers');
      continue;
    }
    const found = await existingInside(imageRoot, row.image);
    if ('error' in found) {
      yield bad(`field "image": ${found.error}`);
      continue;
    }
    yield {
      id,
      task: task.name,
      images: [fileImage(found.path, `${at}: field "image" (${row.image})`, opts)],
      question: row.sent,
      answers: [],
      bbox: [bbox[0], bbox[1], bbox[2], bbox[3]],
      width: w,
      height: h,
      meta: { image: row.image, line: lineNo },
    };
  }
}
