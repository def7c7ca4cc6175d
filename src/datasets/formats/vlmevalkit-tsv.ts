/**
 * VLMEvalKit TSV (`~/LMUData/NAME.tsv`): one row per question, base64 images in the `image` column, options in
 * single-letter columns A, B, ... (only non-empty ones count, as `build_multi_choice_prompt` skips NaN), `hint`,
 * `answer`, `category`, `l2-category`, `split`.
 *
 * Quirk (VLMEvalKit vlmeval/dataset/image_base.py, ImageBaseDataset.__init__): an `image` cell of length <= 64 is not
 * an image but the `index` of another row whose image it shares (MMBench circular copies, MME pairs). We resolve it
 * lazily through an index -> byte-offset map built while streaming, never by keeping images: each ImageSource
 * re-reads its row from the file when loaded. A multi-image cell is a Python list literal of base64 strings (MMMU).
 *
 * Options: `filter`, `answerFormat: python-list` (OCRBench's `answer` is `['a', 'b']`; VLMEvalKit eval()s it, we
 * parse it safely), `md5` / `url` (for `datasets verify`).
 */
import type { AdapterOptions } from '../adapter.ts';
import { sourceFile, stringOption } from '../adapter.ts';
import { base64Problem, decodeBase64, lazyBytesImage } from '../image-source.ts';
import { parsePythonStringList } from '../../common/py-literal.ts';
import {
  RowFieldError,
  answersOf,
  fieldMap,
  isMissing,
  keepRow,
  metaOf,
  optionalText,
  requiredText,
  rowError,
  rowFilterOf,
  tableRowSample,
} from '../row-fields.ts';
import type { ImageSource, SampleOrError } from '../sample.ts';
import type { TaskConfig } from '../task.ts';
import { readRecordAt, splitRecord, tsvRecords } from './tsv-records.ts';

export const VLMEVALKIT_TSV_FIELDS = {
  index: 'id',
  question: 'question',
  answer: 'answer',
  hint: 'hint',
  category: 'category',
  image: 'image',
  'l2-category': 'meta.l2-category',
  split: 'meta.split',
  source: 'meta.source',
  comment: 'meta.comment',
};

/** VLMEvalKit: `if len(image) <= 64` the cell names another row. */
export const IMAGE_REF_MAX_LENGTH = 64;

interface RowLoc {
  offset: number;
  length: number;
  lineNo: number;
  /** number of images in the row's cell */
  count: number;
}

/** The image strings of a cell: one base64 string, or the items of a Python list literal. */
export function imageCellItems(cell: string): string[] {
  const t = cell.trim();
  if (t.startsWith('[')) return parsePythonStringList(t);
  return [t];
}

export async function* openVlmevalkitTsv(
  task: TaskConfig,
  opts: AdapterOptions,
): AsyncGenerator<SampleOrError> {
  const { file, where } = sourceFile(task, opts.root);
  const filter = rowFilterOf(task);
  const answerFormat = stringOption(task, 'answerFormat', 'text');
  const map = fieldMap(task, VLMEVALKIT_TSV_FIELDS);
  const idCol = map.columns.get('id');
  const imgCol = map.columns.get('image');
  let header: string[] | undefined;
  let letterCols: string[] = [];

  // index -> where that row's image lives; filled while streaming, completed by one full scan on a miss.
  const located = new Map<string, RowLoc>();
  let fullScan: Promise<void> | undefined;
  const scanAll = () =>
    (fullScan ??= (async () => {
      let h: string[] | undefined;
      for await (const rec of tsvRecords(file)) {
        const f = splitRecord(rec.text);
        if (!h) {
          h = f;
          continue;
        }
        const idx = idCol ? f[h.indexOf(idCol)] : undefined;
        const cell = imgCol ? f[h.indexOf(imgCol)] : undefined;
        if (idx !== undefined && cell && cell.length > IMAGE_REF_MAX_LENGTH && !located.has(idx)) {
          located.set(idx, {
            offset: rec.offset,
            length: rec.length,
            lineNo: rec.lineNo,
            count: countItems(cell),
          });
        }
      }
    })());
  const countItems = (cell: string) => (cell.trim().startsWith('[') ? safeCount(cell) : 1);
  const safeCount = (cell: string) => {
    try {
      return parsePythonStringList(cell).length;
    } catch {
      return 1;
    }
  };

  /** The k-th image string stored in the row at `loc`. */
  const readImageItem = async (loc: RowLoc, k: number): Promise<string> => {
    const fields = splitRecord(await readRecordAt(file, loc.offset, loc.length));
    const cell = fields[header!.indexOf(imgCol!)] ?? '';
    const items = imageCellItems(cell);
    if (k >= items.length) throw new Error(`${where}:${loc.lineNo}: field "${imgCol}" has no item ${k}`);
    const p = base64Problem(items[k]);
    if (p) throw new Error(`${where}:${loc.lineNo}: field "${imgCol}": not valid base64 (${p})`);
    return items[k];
  };

  for await (const rec of tsvRecords(file)) {
    const fields = splitRecord(rec.text);
    if (!header) {
      header = fields;
      letterCols = header.filter((h) => /^[A-Z]$/.test(h)).sort();
      for (const [target, col] of map.columns) {
        if (['id', 'question'].includes(target) && !header.includes(col)) {
          throw new Error(
            `${where}:1: header has no column "${col}" (mapped to ${target}); columns: ${header.join(', ')}`,
          );
        }
      }
      continue;
    }
    const at = `${where}:${rec.lineNo}`;
    let id = `line${rec.lineNo}`;
    try {
      if (fields.length !== header.length) {
        throw new RowFieldError(`row has ${fields.length} fields, header has ${header.length}`);
      }
      const row: Record<string, unknown> = Object.fromEntries(header.map((h, k) => [h, fields[k]]));
      id = optionalText(row, idCol) ?? id;
      if (!keepRow(row, filter)) continue;
      const question = requiredText(row, map.columns.get('question'), 'question');
      let answers: string[];
      if (answerFormat === 'python-list') {
        const col = map.columns.get('answer') ?? map.columns.get('answers') ?? 'answer';
        const raw = requiredText(row, col, 'answer');
        try {
          answers = parsePythonStringList(raw);
        } catch (e) {
          throw new RowFieldError(`field "${col}": ${(e as Error).message}`);
        }
      } else answers = answersOf(row, map);

      const images: ImageSource[] = [];
      if (imgCol) {
        const cell = row[imgCol];
        if (isMissing(cell)) throw new RowFieldError(`field "${imgCol}" is missing`);
        const text = String(cell);
        if (text.length <= IMAGE_REF_MAX_LENGTH) {
          const ref = text.trim();
          const known = located.get(ref);
          const count = known?.count ?? 1;
          for (let k = 0; k < count; k++) {
            const origin = `${at}: field "${imgCol}" (-> index ${ref}${count > 1 ? ` item ${k}` : ''})`;
            images.push(
              lazyBytesImage(
                async () => {
                  let loc = located.get(ref);
                  if (!loc) {
                    await scanAll();
                    loc = located.get(ref);
                  }
                  if (!loc)
                    throw new Error(`refers to index "${ref}", but no row with that index holds an image`);
                  return decodeBase64(await readImageItem(loc, k));
                },
                origin,
                opts,
              ),
            );
          }
        } else {
          let items: string[];
          try {
            items = imageCellItems(text);
          } catch (e) {
            throw new RowFieldError(`field "${imgCol}": ${(e as Error).message}`);
          }
          items.forEach((item, k) => {
            const p = base64Problem(item);
            if (p)
              throw new RowFieldError(
                `field "${imgCol}"${items.length > 1 ? `[${k}]` : ''}: not valid base64 (${p})`,
              );
          });
          const loc: RowLoc = {
            offset: rec.offset,
            length: rec.length,
            lineNo: rec.lineNo,
            count: items.length,
          };
          if (!located.has(id)) located.set(id, loc);
          items.forEach((_, k) => {
            const origin = `${at}: field "${imgCol}"${items.length > 1 ? `[${k}]` : ''}`;
            images.push(lazyBytesImage(async () => decodeBase64(await readImageItem(loc, k)), origin, opts));
          });
        }
      }

      const choices: Record<string, string> = {};
      for (const l of letterCols) if (!isMissing(row[l])) choices[l] = String(row[l]);
      const meta = metaOf(row, map);
      const num = Number(id);
      if (idCol && Number.isFinite(num)) meta.index = num;
      meta.line = rec.lineNo;
      yield tableRowSample(task, row, map, {
        id,
        images,
        question,
        answers,
        ...(letterCols.length ? { choices } : {}),
        meta,
      });
    } catch (e) {
      yield rowError(task, id, at, e);
    }
  }
  if (!header) throw new Error(`${where}: empty file (no header row)`);
}
