/**
 * Document-like images (DocVQA / InfoVQA / TextVQA / OCRBench-like): a title and `Key: Value` lines drawn with the
 * bitmap font, and questions whose answers are the drawn values. Also single-word images for text recognition.
 */
import { textWidth } from './bitmap-font.ts';
import type { Box, Rgb } from './raster.ts';
import { RgbImage } from './raster.ts';
import type { Rng } from './rng.ts';

export interface DocumentField {
  readonly key: string;
  readonly value: string;
  /** A question whose answer is `value`. */
  readonly question: string;
  /** Where `value` was drawn (pixel xyxy). */
  readonly valueBox: Box;
}

export interface SyntheticDocument {
  readonly title: string;
  readonly fields: readonly DocumentField[];
  readonly image: RgbImage;
}

const TITLES = ['INVOICE', 'RECEIPT', 'ORDER FORM', 'DELIVERY NOTE', 'STATEMENT'];
const NAMES = [
  'Ana Silva',
  'Ben Carter',
  'Chen Wei',
  'Dara Okafor',
  'Eva Novak',
  'Farid Haddad',
  'Greta Lund',
];
const CITIES = ['Lisbon', 'Denver', 'Osaka', 'Nairobi', 'Bergen', 'Quito', 'Adelaide', 'Krakow'];
const ITEMS = ['Paper', 'Stapler', 'Toner', 'Folders', 'Pencils', 'Envelopes', 'Markers'];

interface FieldTemplate {
  key: string;
  question: string;
  value: (rng: Rng) => string;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

const FIELD_TEMPLATES: readonly FieldTemplate[] = [
  { key: 'Invoice No', question: 'What is the invoice number?', value: (r) => String(r.int(1000, 9999)) },
  {
    key: 'Date',
    question: 'What is the date on the document?',
    value: (r) => `${pad(r.int(1, 28), 2)}/${pad(r.int(1, 12), 2)}/${r.int(2015, 2024)}`,
  },
  { key: 'Customer', question: 'Who is the customer?', value: (r) => r.pick(NAMES) },
  { key: 'City', question: 'Which city is the customer in?', value: (r) => r.pick(CITIES) },
  { key: 'Item', question: 'Which item was ordered?', value: (r) => r.pick(ITEMS) },
  { key: 'Quantity', question: 'How many units were ordered?', value: (r) => String(r.int(2, 48)) },
  {
    key: 'Total',
    question: 'What is the total amount?',
    value: (r) => `${r.int(5, 950)}.${pad(r.int(0, 19) * 5, 2)}`,
  },
  { key: 'Phone', question: 'What is the phone number?', value: (r) => `555-${pad(r.int(0, 9999), 4)}` },
  { key: 'Order ID', question: 'What is the order ID?', value: (r) => `A-${r.int(100, 999)}` },
];

const INK: Rgb = [20, 20, 20];
const KEY_INK: Rgb = [70, 70, 90];
const RULE: Rgb = [180, 190, 210];

/** A document with `fieldCount` distinct fields (at most the number of templates), at most 480 px wide. */
export function makeDocument(rng: Rng, fieldCount = 5): SyntheticDocument {
  const title = rng.pick(TITLES);
  const templates = rng.sample(FIELD_TEMPLATES, Math.min(fieldCount, FIELD_TEMPLATES.length));
  const values = templates.map((t) => t.value(rng));
  const margin = 16;
  const lineHeight = 26;
  const titleScale = 3;
  const scale = 2;
  const width = 480;
  const height = margin * 2 + 7 * titleScale + 18 + templates.length * lineHeight;
  const image = RgbImage.blank(width, height, [250, 249, 244]);
  image.fillRect([0, 0, width, 4], RULE);
  image.drawText(title, margin, margin, titleScale, INK);
  const ruleY = margin + 7 * titleScale + 8;
  image.fillRect([margin, ruleY, width - margin, ruleY + 2], RULE);
  const fields: DocumentField[] = templates.map((t, k) => {
    const y = ruleY + 10 + k * lineHeight;
    const label = `${t.key}:`;
    image.drawText(label, margin, y, scale, KEY_INK);
    const x = margin + textWidth(label, scale) + 3 * 6 * scale;
    const valueBox = image.drawText(values[k], x, y, scale, INK);
    return { key: t.key, value: values[k], question: t.question, valueBox };
  });
  return { title, fields, image };
}

const WORDS = [
  'HARBOR',
  'Lantern',
  'MEADOW',
  'Orbit',
  'PEPPER',
  'Quartz',
  'Summit',
  'VELVET',
  'Willow',
  'Zephyr',
];

export interface TextImage {
  readonly text: string;
  readonly image: RgbImage;
}

/** One word (or a digit string) on a plain background, for text-recognition questions. */
export function makeTextImage(rng: Rng, kind: 'word' | 'digits'): TextImage {
  const text = kind === 'word' ? rng.pick(WORDS) : String(rng.int(10000, 99999999));
  const scale = 4;
  const width = textWidth(text, scale) + 48;
  const height = 7 * scale + 40;
  const bg: Rgb = [rng.int(225, 255), rng.int(225, 255), rng.int(225, 255)];
  const ink: Rgb = [rng.int(0, 60), rng.int(0, 60), rng.int(0, 90)];
  const image = RgbImage.blank(width, height, bg);
  image.drawText(text, 24, 20, scale, ink);
  return { text, image };
}
