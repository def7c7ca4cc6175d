/**
 * lmms-lab parquet (Hugging Face `datasets` export): columns per the dataset card; images are structs
 * `{bytes, path}` (the `datasets` Image feature), or lists of them; lists of answers are list columns.
 * Read with hyparquet one row group at a time, only the mapped columns, so a 5 GB split never sits in memory.
 * (A yielded Sample keeps its own image bytes until the consumer drops it.)
 *
 * Options: `filter` (ChartQA `type`), `expectAnswers` (TextVQA: 10), `choicesFormat` (`lettered-list`: Video-MME
 * `options` = ["A. ...", ...]; `list`: AI2D `options` = ["...", ...]), `video` / `subtitles`:
 * `{column, dir, ext}` -> file `dir/<value><ext>` inside the root (Video-MME `videoID`).
 */
import path from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import type { AdapterOptions } from '../adapter.ts';
import { numberOption, shown, stringOption } from '../adapter.ts';
import { expandGlob, isGlob } from '../glob.ts';
import { fileImage, lazyBytesImage } from '../image-source.ts';
import {
  RowFieldError,
  answersOf,
  asText,
  fieldMap,
  isMissing,
  keepRow,
  letter,
  metaOf,
  optionalText,
  requiredText,
  rowError,
  rowFilterOf,
  tableRowSample,
} from '../row-fields.ts';
import { existingInside, resolveInside } from '../safe-path.ts';
import type { ImageSource, SampleOrError, VideoSource } from '../sample.ts';
import type { TaskConfig } from '../task.ts';

export const LMMS_PARQUET_FIELDS = {
  question_id: 'id',
  question: 'question',
  answers: 'answers',
  answer: 'answer',
  image: 'image',
};

interface FileRef {
  column: string;
  dir: string;
  ext: string;
}

function fileRefOption(task: TaskConfig, key: string): FileRef | undefined {
  const v = task.source.options?.[key] as Partial<FileRef> | undefined;
  if (v === undefined) return undefined;
  if (typeof v?.column !== 'string' || typeof v.dir !== 'string') {
    throw new Error(`task ${task.name}: source.options.${key} needs column and dir (and ext)`);
  }
  return { column: v.column, dir: v.dir, ext: v.ext ?? '' };
}

/** The parquet files of a task: `source.path` (file, folder or glob) inside the root, sorted. */
export async function parquetFiles(task: TaskConfig, root: string): Promise<string[]> {
  const p = task.source.path ?? task.source.hub?.files[0];
  if (!p) throw new Error(`task ${task.name}: source.path is not set`);
  if (isGlob(p)) {
    resolveInside(root, p.replace(/[*?].*$/, ''));
    const files = (await expandGlob(root, p)).map((f) => path.join(root, f));
    if (!files.length) throw new Error(`task ${task.name}: no file matches ${p} under ${root}`);
    return files;
  }
  const found = await existingInside(root, p);
  if ('error' in found) throw new Error(`task ${task.name}: source.path: ${found.error}`);
  if (!found.isDir) return [found.path];
  const files = (await expandGlob(found.path, '**/*.parquet')).map((f) => path.join(found.path, f));
  if (!files.length) throw new Error(`task ${task.name}: no .parquet file under ${found.path}`);
  return files;
}

/** The image items of a cell: bytes, a `{bytes, path}` struct, or a list of these. */
function imageItems(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [v];
}

export function parseChoices(v: unknown, format: string, column: string): Record<string, string> {
  if (!Array.isArray(v)) throw new RowFieldError(`field "${column}" is not a list`);
  const out: Record<string, string> = {};
  v.forEach((item, k) => {
    const text = asText(item);
    const m = format === 'lettered-list' ? /^([A-Z])[.)]\s?([\s\S]*)$/.exec(text) : null;
    if (m) out[m[1]] = m[2];
    else out[letter(k)] = text;
  });
  return out;
}

export async function* openLmmsParquet(
  task: TaskConfig,
  opts: AdapterOptions,
): AsyncGenerator<SampleOrError> {
  const map = fieldMap(task, LMMS_PARQUET_FIELDS);
  const filter = rowFilterOf(task);
  const expect = numberOption(task, 'expectAnswers');
  const choicesFormat = stringOption(task, 'choicesFormat', 'list')!;
  const video = fileRefOption(task, 'video');
  const subtitles = fileRefOption(task, 'subtitles');
  let rowNo = 0; // across all files: stable ids for datasets without an id column
  for (const file of await parquetFiles(task, opts.root)) {
    const where = shown(opts.root, file);
    const buffer = await asyncBufferFromFile(file);
    let metadata;
    try {
      metadata = await parquetMetadataAsync(buffer);
    } catch (e) {
      throw new Error(`${where}: not a readable parquet file (${(e as Error).message})`);
    }
    const present = new Set(parquetSchema(metadata).children.map((c) => c.element.name));
    const wanted = new Set([...map.columns.values(), ...map.meta.values()]);
    if (filter) wanted.add(filter.column);
    if (video) wanted.add(video.column);
    if (subtitles) wanted.add(subtitles.column);
    const qCol = map.columns.get('question');
    if (qCol && !present.has(qCol)) {
      throw new Error(
        `${where}: no column "${qCol}" (mapped to question); columns: ${[...present].join(', ')}`,
      );
    }
    const columns = [...wanted].filter((c) => present.has(c));
    let groupStart = 0;
    for (const group of metadata.row_groups) {
      const n = Number(group.num_rows);
      const rows = await parquetReadObjects({
        file: buffer,
        metadata,
        columns,
        rowStart: groupStart,
        rowEnd: groupStart + n,
        utf8: false, // plain BYTE_ARRAY (image bytes) stays binary; STRING columns are still decoded
      });
      for (const [k, row] of rows.entries()) {
        const r = groupStart + k;
        const at = `${where}: row ${r}`;
        let id = `row${rowNo++}`;
        try {
          id = optionalText(row, map.columns.get('id')) ?? id;
          if (!keepRow(row, filter)) continue;
          const question = requiredText(row, qCol, 'question');
          const answers = answersOf(row, map);
          if (expect !== undefined && answers.length !== expect) {
            throw new RowFieldError(`question "${id}" has ${answers.length} answers, expected ${expect}`);
          }
          const images: ImageSource[] = [];
          const imgCol = map.columns.get('image') ?? map.columns.get('images');
          if (imgCol && present.has(imgCol)) {
            const cell = row[imgCol];
            if (isMissing(cell)) throw new RowFieldError(`field "${imgCol}" is missing`);
            const items = imageItems(cell);
            for (const [j, item] of items.entries()) {
              const field = items.length > 1 || Array.isArray(cell) ? `${imgCol}[${j}]` : imgCol;
              images.push(await imageOf(item, at, `field "${field}"`, opts));
            }
          }
          let videoSource: VideoSource | undefined;
          const meta = metaOf(row, map);
          if (video) {
            const v = requiredText(row, video.column, 'video');
            const found = await existingInside(opts.root, `${video.dir}/${v}${video.ext}`);
            if ('error' in found) throw new RowFieldError(`field "${video.column}": video ${found.error}`);
            videoSource = { kind: 'file', path: found.path };
          }
          if (subtitles) {
            const v = requiredText(row, subtitles.column, 'subtitles');
            const found = await existingInside(opts.root, `${subtitles.dir}/${v}${subtitles.ext}`);
            // Video-MME: not every video has subtitles; the prompt then has none.
            if ('path' in found) meta.subtitles = found.path;
          }
          const choiceCol = map.columns.get('choices');
          const choices =
            choiceCol && !isMissing(row[choiceCol])
              ? parseChoices(row[choiceCol], choicesFormat, choiceCol)
              : undefined;
          meta.row = r;
          yield tableRowSample(task, row, map, {
            id,
            images,
            video: videoSource,
            question,
            answers,
            choices,
            meta,
          });
        } catch (e) {
          yield rowError(task, id, at, e);
        }
      }
      groupStart += n;
    }
  }

  async function imageOf(item: unknown, at: string, field: string, o: AdapterOptions): Promise<ImageSource> {
    const origin = `${at}: ${field}`;
    if (item instanceof Uint8Array) return lazyBytesImage(() => item, origin, o);
    if (item && typeof item === 'object') {
      const s = item as { bytes?: unknown; path?: unknown };
      if (s.bytes instanceof Uint8Array && s.bytes.length) {
        const bytes = s.bytes;
        return lazyBytesImage(() => bytes, origin, o);
      }
      if (typeof s.path === 'string' && s.path) {
        const found = await existingInside(o.root, s.path);
        if ('error' in found) throw new RowFieldError(`${field}: ${found.error}`);
        return fileImage(found.path, origin, o);
      }
    }
    throw new RowFieldError(`${field} holds no image bytes or path`);
  }
}
