/**
 * MME as InternVL eval/mme/eval.py reads it: one `SUBTASK.txt` per subtask in `Your_Results/`, each line
 * `img\tquestion\tgt` (`line.strip().split('\t')`), two consecutive questions per image; images in
 * `MME_Benchmark_release_version/SUBTASK/img` (the official release keeps some subtasks' images in an `images/`
 * subfolder; both layouts are accepted).
 *
 * Pairing: MME's acc+ counts an image only when both of its questions are right, so every Sample carries the pair
 * key `meta.image = "SUBTASK/img"` (eval/mme/calculation.py groups by image name within a subtask file).
 * Options: `questionsDir` (default `Your_Results`), `imagesDir` (default `MME_Benchmark_release_version`).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { AdapterOptions } from '../adapter.ts';
import { readLines, sampleError, shown, sourcePath, stringOption } from '../adapter.ts';
import { fileImage } from '../image-source.ts';
import { existingInside, resolveInside } from '../safe-path.ts';
import type { SampleOrError } from '../sample.ts';
import type { TaskConfig } from '../task.ts';
// MME's two groups (eval/mme/calculation.py `eval_type_dict`) live with the scorer that sums them.
import { MME_COGNITION } from '../../metrics/mme.ts';

export async function* openMmeTxt(task: TaskConfig, opts: AdapterOptions): AsyncGenerator<SampleOrError> {
  const base = sourcePath(task, opts.root);
  const qDir = resolveInside(base, stringOption(task, 'questionsDir', 'Your_Results')!);
  const imgDir = resolveInside(base, stringOption(task, 'imagesDir', 'MME_Benchmark_release_version')!);
  let files: string[];
  try {
    files = (await readdir(qDir)).filter((f) => f.endsWith('.txt')).sort();
  } catch {
    throw new Error(`task ${task.name}: MME question folder not found: ${qDir}`);
  }
  if (!files.length) throw new Error(`task ${task.name}: no SUBTASK.txt files in ${qDir}`);
  for (const f of files) {
    const subtask = f.slice(0, -4);
    const file = path.join(qDir, f);
    const where = shown(opts.root, file);
    const seen = new Map<string, number>();
    for await (const { line, lineNo } of readLines(file)) {
      if (line.trim() === '') continue;
      const at = `${where}:${lineNo}`;
      const parts = line.trim().split('\t');
      if (parts.length !== 3) {
        yield sampleError(
          task,
          `${subtask}/line${lineNo}`,
          `${at}: expected 3 tab-separated fields (img, question, gt), got ${parts.length}`,
        );
        continue;
      }
      const [img, question, gt] = parts;
      const k = seen.get(img) ?? 0;
      seen.set(img, k + 1);
      const id = `${subtask}/${img}#${k}`;
      if (!['Yes', 'No'].includes(gt)) {
        yield sampleError(task, id, `${at}: field "gt": "${gt}" is not Yes or No`);
        continue;
      }
      let found = await existingInside(imgDir, `${subtask}/${img}`);
      if ('error' in found && !found.error.includes('escapes') && !found.error.includes('absolute')) {
        const alt = await existingInside(imgDir, `${subtask}/images/${img}`);
        if ('path' in alt) found = alt;
      }
      if ('error' in found) {
        yield sampleError(task, id, `${at}: field "img": ${found.error}`);
        continue;
      }
      yield {
        id,
        task: task.name,
        images: [fileImage(found.path, `${at}: field "img" (${img})`, opts)],
        question,
        answers: [gt],
        category: subtask,
        meta: {
          image: `${subtask}/${img}`,
          group: MME_COGNITION.includes(subtask) ? 'cognition' : 'perception',
          line: lineNo,
        },
      };
    }
  }
}
