/**
 * MVBench as InternVL eval/mvbench/evaluate_mvbench.py reads it: a task table (`data_list`: task name -> json file,
 * video prefix, reader type, bound flag) kept in the task YAML (`source.options.tasks`), one JSON list per task
 * (`video`, `question`, `candidates`, `answer`, and `start`/`end` seconds for bounded tasks), videos under
 * `video/PREFIX/`, and tvqa as folders of frames (`%05d.jpg` at 3 fps, first index 1).
 *
 * Quirks kept: the bound is `(start, end)` only when the table says so (other tasks ignore any start/end in the
 * json); the GT string is `(LETTER) answer` with LETTER = chr(ord('A') + index of answer in candidates), and when the
 * answer is not among the candidates the index stays -1, giving `(@) answer` (qa_template).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AdapterOptions } from '../adapter.ts';
import { numberOption, sampleError, shown, sourcePath, stringOption } from '../adapter.ts';
import { existingInside, resolveInside } from '../safe-path.ts';
import type { SampleOrError, VideoSource } from '../sample.ts';
import type { TaskConfig } from '../task.ts';

export interface MvbenchTaskEntry {
  name: string;
  json: string;
  prefix: string;
  type: 'video' | 'frame' | 'gif';
  bound: boolean;
}

function taskTable(task: TaskConfig): MvbenchTaskEntry[] {
  const t = task.source.options?.tasks;
  if (!Array.isArray(t) || !t.length)
    throw new Error(`task ${task.name}: source.options.tasks (the MVBench table) is missing`);
  return t.map((e: any, k: number) => {
    if (
      typeof e?.name !== 'string' ||
      typeof e.json !== 'string' ||
      typeof e.prefix !== 'string' ||
      !['video', 'frame', 'gif'].includes(e.type) ||
      typeof e.bound !== 'boolean'
    ) {
      throw new Error(
        `task ${task.name}: source.options.tasks[${k}] needs name, json, prefix, type (video|frame|gif), bound`,
      );
    }
    return e as MvbenchTaskEntry;
  });
}

/** qa_template's letter: index -1 (answer not among candidates) gives '@'. */
export function mvbenchAnswerLetter(candidates: readonly string[], answer: string): string {
  let idx = -1;
  candidates.forEach((c, i) => {
    if (c === answer) idx = i; // the script keeps the last match
  });
  return String.fromCharCode(65 + idx);
}

export async function* openMvbenchJson(
  task: TaskConfig,
  opts: AdapterOptions,
): AsyncGenerator<SampleOrError> {
  const base = sourcePath(task, opts.root);
  const jsonDir = resolveInside(base, stringOption(task, 'jsonDir', 'json')!);
  const videoDir = resolveInside(base, stringOption(task, 'videoDir', 'video')!);
  const fps = numberOption(task, 'frameFps', 3)!;
  const firstIndex = numberOption(task, 'frameFirstIndex', 1)!;
  const pattern = stringOption(task, 'framePattern', '%05d.jpg')!;
  for (const entry of taskTable(task)) {
    const file = resolveInside(jsonDir, entry.json);
    const where = shown(opts.root, file);
    let list: unknown;
    try {
      list = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      yield sampleError(task, `${entry.name}/*`, `${where}: cannot read task JSON (${(e as Error).message})`);
      continue;
    }
    if (!Array.isArray(list)) {
      yield sampleError(task, `${entry.name}/*`, `${where}: not a JSON list`);
      continue;
    }
    const prefixDir = resolveInside(videoDir, entry.prefix);
    for (const [i, item] of (list as any[]).entries()) {
      const id = `${entry.name}/${i}`;
      const at = `${where}: item ${i}`;
      const bad = (msg: string) => sampleError(task, id, `${at}: ${msg}`);
      if (typeof item?.video !== 'string' || !item.video) {
        yield bad('field "video" is missing');
        continue;
      }
      if (typeof item.question !== 'string') {
        yield bad('field "question" is missing');
        continue;
      }
      if (!Array.isArray(item.candidates) || !item.candidates.length) {
        yield bad('field "candidates" is not a non-empty list');
        continue;
      }
      if (item.answer === undefined || item.answer === null) {
        yield bad('field "answer" is missing');
        continue;
      }
      let bound: [number, number] | undefined;
      if (entry.bound) {
        const s = Number(item.start);
        const e = Number(item.end);
        if (
          item.start === undefined ||
          item.end === undefined ||
          !Number.isFinite(s) ||
          !Number.isFinite(e)
        ) {
          yield bad(`fields "start"/"end" must be numbers for the bounded task "${entry.name}"`);
          continue;
        }
        bound = [s, e];
      }
      const found = await existingInside(prefixDir, item.video);
      if ('error' in found) {
        yield bad(`field "video": ${found.error}`);
        continue;
      }
      if (entry.type === 'frame' && !found.isDir) {
        yield bad(`field "video": ${found.path} is not a frame folder`);
        continue;
      }
      const video: VideoSource =
        entry.type === 'frame'
          ? { kind: 'frames', dir: found.path, fps, firstIndex, pattern, ...(bound ? { bound } : {}) }
          : { kind: 'file', path: found.path, ...(bound ? { bound } : {}) };
      const candidates = item.candidates.map(String);
      const answer = String(item.answer);
      const l = mvbenchAnswerLetter(candidates, answer);
      yield {
        id,
        task: task.name,
        images: [],
        video,
        question: item.question,
        answers: [`(${l}) ${answer}`],
        choices: Object.fromEntries(
          candidates.map((c: string, k: number) => [String.fromCharCode(65 + k), c]),
        ),
        category: entry.name,
        meta: {
          answerLetter: l,
          answerText: answer,
          videoType: entry.type,
          file: path.basename(file),
          item: i,
        },
      };
    }
  }
}
