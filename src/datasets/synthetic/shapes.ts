/**
 * Scenes of coloured shapes at known pixel boxes, and the questions built from them: RefCOCO-like referring
 * sentences, MME-like yes/no pairs, and MMBench/AI2D-like multiple choice. Each scene holds one square, one circle
 * and one rectangle, each in a different colour, so "the red square" names exactly one shape.
 */
import type { Box, Rgb } from './raster.ts';
import { RgbImage } from './raster.ts';
import type { Rng } from './rng.ts';

export const COLORS: Readonly<Record<string, Rgb>> = {
  red: [220, 30, 30],
  green: [30, 160, 60],
  blue: [30, 70, 210],
  yellow: [240, 200, 20],
  purple: [130, 40, 160],
  orange: [245, 130, 20],
};
export const COLOR_NAMES = Object.keys(COLORS);

export type ShapeKind = 'square' | 'circle' | 'rectangle';
export const SHAPE_KINDS: readonly ShapeKind[] = ['square', 'circle', 'rectangle'];

export interface Shape {
  readonly kind: ShapeKind;
  readonly color: string;
  /** Pixel xyxy, exclusive right/bottom (COCO x, y, x + w, y + h). */
  readonly box: Box;
}

export interface ShapeScene {
  readonly shapes: readonly Shape[];
  readonly image: RgbImage;
}

const overlaps = (a: Box, b: Box, gap: number) =>
  a[0] < b[2] + gap && b[0] < a[2] + gap && a[1] < b[3] + gap && b[1] < a[3] + gap;

/** A `width` x `height` scene with one shape of each kind, non-overlapping, in distinct colours. */
export function makeShapeScene(rng: Rng, width = 320, height = 240): ShapeScene {
  const colors = rng.sample(COLOR_NAMES, SHAPE_KINDS.length);
  const shapes: Shape[] = [];
  for (const [k, kind] of rng.shuffle(SHAPE_KINDS).entries()) {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 500) throw new Error('makeShapeScene: cannot place shapes (scene too small)');
      const w = rng.int(36, 80);
      const h = kind === 'rectangle' ? rng.int(20, Math.max(21, Math.round(w * 0.6))) : w;
      const x = rng.int(4, width - w - 4);
      const y = rng.int(4, height - h - 4);
      const box: Box = [x, y, x + w, y + h];
      if (shapes.some((s) => overlaps(s.box, box, 8))) continue;
      shapes.push({ kind, color: colors[k], box });
      break;
    }
  }
  const image = RgbImage.blank(width, height, [255, 255, 255]);
  for (const s of shapes) {
    if (s.kind === 'circle') image.fillCircle(s.box, COLORS[s.color]);
    else image.fillRect(s.box, COLORS[s.color]);
  }
  return { shapes, image };
}

export const shapeName = (s: Shape) => `${s.color} ${s.kind}`;
const centreX = (s: Shape) => (s.box[0] + s.box[2]) / 2;

/** RefCOCO-like referring expressions: one per shape. */
export function referringSentences(scene: ShapeScene): { sent: string; shape: Shape }[] {
  return scene.shapes.map((shape) => ({ sent: `the ${shapeName(shape)}`, shape }));
}

export interface YesNoPair {
  /** An MME perception subtask name. */
  readonly subtask: 'existence' | 'color' | 'count' | 'position';
  /** The Yes question first, then the No question (MME lists them in that order). */
  readonly yes: string;
  readonly no: string;
}

/** MME's fixed suffix on every question. */
export const MME_SUFFIX = ' Please answer yes or no.';
const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six'];

/** One yes/no pair of the given MME subtask about the scene. */
export function yesNoPair(rng: Rng, scene: ShapeScene, subtask: YesNoPair['subtask']): YesNoPair {
  const shapes = scene.shapes;
  const s = rng.pick(shapes);
  const q = (t: string) => t + MME_SUFFIX;
  switch (subtask) {
    case 'existence': {
      const absent = COLOR_NAMES.filter((c) => !shapes.some((x) => x.color === c && x.kind === s.kind));
      return {
        subtask,
        yes: q(`Is there a ${shapeName(s)} in this image?`),
        no: q(`Is there a ${rng.pick(absent)} ${s.kind} in this image?`),
      };
    }
    case 'color': {
      const other = rng.pick(COLOR_NAMES.filter((c) => c !== s.color));
      return { subtask, yes: q(`Is the ${s.kind} ${s.color}?`), no: q(`Is the ${s.kind} ${other}?`) };
    }
    case 'count': {
      const n = shapes.length;
      const wrong = rng.pick([n - 1, n + 1]);
      return {
        subtask,
        yes: q(`Are there ${NUMBER_WORDS[n]} shapes in this image?`),
        no: q(`Are there ${NUMBER_WORDS[wrong]} shapes in this image?`),
      };
    }
    case 'position': {
      const [a, b] = rng.sample(shapes, 2);
      const [left, right] = centreX(a) < centreX(b) ? [a, b] : [b, a];
      return {
        subtask,
        yes: q(`Is the ${shapeName(left)} on the left of the ${shapeName(right)}?`),
        no: q(`Is the ${shapeName(right)} on the left of the ${shapeName(left)}?`),
      };
    }
  }
}

export interface MultipleChoice {
  readonly question: string;
  /** Option texts in letter order A, B, C, D. */
  readonly options: readonly string[];
  /** The correct letter. */
  readonly answer: string;
  readonly category: string;
  readonly l2Category: string;
}

/** A four-option question about the scene; `kind` picks which (colour of a shape, shape of a colour, leftmost). */
export function multipleChoice(rng: Rng, scene: ShapeScene, kind: 0 | 1 | 2): MultipleChoice {
  const shapes = scene.shapes;
  const s = rng.pick(shapes);
  let question: string;
  let right: string;
  let pool: string[];
  let category: string;
  let l2Category: string;
  if (kind === 0) {
    question = `What colour is the ${s.kind}?`;
    right = s.color;
    pool = COLOR_NAMES;
    category = 'attribute_recognition';
    l2Category = 'finegrained_perception (instance-level)';
  } else if (kind === 1) {
    question = `Which shape is ${s.color}?`;
    right = s.kind;
    pool = [...SHAPE_KINDS, 'triangle', 'star'];
    category = 'object_localization';
    l2Category = 'finegrained_perception (instance-level)';
  } else {
    const leftmost = [...shapes].sort((a, b) => centreX(a) - centreX(b))[0];
    question = 'Which shape is furthest to the left?';
    right = shapeName(leftmost);
    pool = shapes.filter((x) => x !== leftmost).map(shapeName);
    pool.push(`${rng.pick(COLOR_NAMES.filter((c) => !shapes.some((x) => x.color === c)))} star`);
    category = 'spatial_relationship';
    l2Category = 'relation_reasoning';
  }
  const wrong = rng.sample(
    pool.filter((p) => p !== right),
    3,
  );
  const options = rng.shuffle([right, ...wrong]);
  return {
    question,
    options,
    answer: String.fromCharCode(65 + options.indexOf(right)),
    category,
    l2Category,
  };
}

/** MMBench circular evaluation: the options rotated by `shift` (k-th option moves to k - shift), and its answer. */
export function rotateChoice(mc: MultipleChoice, shift: number): MultipleChoice {
  const n = mc.options.length;
  const options = mc.options.map((_, k) => mc.options[(k + shift) % n]);
  const right = mc.options[mc.answer.charCodeAt(0) - 65];
  return { ...mc, options, answer: String.fromCharCode(65 + options.indexOf(right)) };
}
