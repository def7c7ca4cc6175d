/**
 * RefCOCO / RefCOCO+ / RefCOCOg Acc@IoU>=0.5 as InternVL scores it: InternVL
 * `internvl_chat/eval/refcoco/evaluate_grounding.py` (`PATTERN`, the scoring loop in `evaluate_chat_model`,
 * `box_iou` after torchvision `box_area`), with torch float32 tensors.
 */
import type { Scorer } from './scorer.ts';
import { FieldError, requireString } from './field-error.ts';
import { pyFloat } from '../common/python-strings.ts';
import { meanAggregate, sampleMeanResampling } from './aggregate-helpers.ts';

export type Box = readonly [number, number, number, number];

/**
 * `PATTERN = re.compile(r'\[*\[(.*?),(.*?),(.*?),(.*?)\]\]*')`. Python's `.` excludes only `\n` (JS's `.` also
 * excludes `\r`, U+2028, U+2029), hence `[^\n]`.
 */
const BOX_PATTERN = /\[*\[([^\n]*?),([^\n]*?),([^\n]*?),([^\n]*?)\]\]*/;

/**
 * The box InternVL reads from a model answer: `re.findall(PATTERN, answer)[0]`, `float()` of each of the four
 * groups. Quirks: only the FIRST match counts; any failure (no match, a group that is not a Python float literal,
 * e.g. `'[[1, 2], [3, 4]]'` whose 2nd group is `' 2]'`) gives `(0, 0, 0, 0)` — a box that can never hit.
 * Groups may contain spaces (`float(' 12 ')` is fine) and anything `float()` accepts (`'1e2'`, `'nan'`).
 */
export function parseBox(answer: string): { box: Box; parsed: boolean } {
  const m = BOX_PATTERN.exec(answer);
  if (m) {
    const vals = [m[1], m[2], m[3], m[4]].map(pyFloat);
    if (vals.every((v) => v !== null)) return { box: vals as unknown as Box, parsed: true };
  }
  return { box: [0, 0, 0, 0], parsed: false };
}

const f = Math.fround;

/**
 * Float32 box in pixels: `torch.tensor(box, dtype=float32)`; `if box.sum() >= 4: box = box / 1000` (so a box in
 * 0–1 whose coordinates sum to >= 4 is impossible, and a 0–1000 box summing to < 4 is treated as already 0–1);
 * then `box[:, 0::2] *= w`, `box[:, 1::2] *= h`. Every step rounds to float32 like torch on CPU; the 4-element sum
 * is taken left to right in float32.
 */
export function toPixelBox(box: Box, width: number, height: number): [number, number, number, number] {
  let b = box.map(f) as [number, number, number, number];
  const sum = f(f(f(b[0] + b[1]) + b[2]) + b[3]);
  if (sum >= 4) b = b.map((v) => f(v / 1000)) as typeof b;
  const w = f(width);
  const h = f(height);
  return [f(b[0] * w), f(b[1] * h), f(b[2] * w), f(b[3] * h)];
}

/**
 * torchvision-style IoU in float32: areas `(x2-x1)*(y2-y1)` (no +1, negative for inverted boxes, not clamped),
 * intersection `(min(rb) - max(lt)).clamp(min=0)`, `union = area1 + area2 - inter`, `iou = inter / union`.
 * NaN (e.g. two zero-area boxes) propagates; the caller's `iou >= 0.5` is then false.
 */
export function boxIouF32(a: Box, b: Box): number {
  const area = (x: Box) => f(f(x[2] - x[0]) * f(x[3] - x[1]));
  const a1 = area(a);
  const a2 = area(b);
  const ltx = Math.max(f(a[0]), f(b[0]));
  const lty = Math.max(f(a[1]), f(b[1]));
  const rbx = Math.min(f(a[2]), f(b[2]));
  const rby = Math.min(f(a[3]), f(b[3]));
  const clamp0 = (v: number) => (Number.isNaN(v) ? v : Math.max(v, 0));
  const inter = f(clamp0(f(rbx - ltx)) * clamp0(f(rby - lty)));
  const union = f(f(a1 + a2) - inter);
  return f(inter / union);
}

/** Per-sample result: the pixel box, its IoU with the GT, and `iou >= 0.5` (NaN → wrong). */
export function refcocoHit(
  answer: string,
  gtBox: Box,
  width: number,
  height: number,
): { box: [number, number, number, number]; iou: number; hit: boolean; parsed: boolean } {
  const { box, parsed } = parseBox(answer);
  const pixel = toPixelBox(box, width, height);
  const iou = boxIouF32(pixel, gtBox.map(f) as unknown as Box);
  return { box: pixel, iou, hit: iou >= 0.5, parsed };
}

function requireNumber(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new FieldError(field, 'must be a finite number');
  return v;
}

export const refcocoScorer: Scorer = {
  name: 'refcoco_acc',
  requires: ['prediction', 'bbox', 'width', 'height'],
  scoreSample(input) {
    const prediction = requireString(input.prediction, 'prediction');
    const bbox = input.bbox as unknown;
    if (!Array.isArray(bbox) || bbox.length !== 4 || bbox.some((v) => typeof v !== 'number')) {
      throw new FieldError('bbox', 'must be [x1, y1, x2, y2] (four numbers, pixels)');
    }
    const r = refcocoHit(
      prediction,
      bbox as unknown as Box,
      requireNumber(input.width, 'width'),
      requireNumber(input.height, 'height'),
    );
    return { score: r.hit ? 1 : 0, extracted: r.parsed ? r.box : null };
  },
  aggregate(inputs, scores) {
    return meanAggregate('refcoco_acc', inputs, scores);
  },
  resampling(inputs) {
    return sampleMeanResampling(inputs.length);
  },
};
