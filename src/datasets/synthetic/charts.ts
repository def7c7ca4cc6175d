/**
 * ChartQA-like bar charts drawn by chart.js (in Node, on an @napi-rs/canvas) from known values. chart.js draws only
 * the bars, axes and grid; every piece of text (title, category labels, value labels, y ticks) is drawn afterwards
 * with the built-in bitmap font, because canvas text would depend on the machine's installed fonts.
 */
import { createCanvas } from '@napi-rs/canvas';
import { Chart, registerables } from 'chart.js';
import { textWidth } from './bitmap-font.ts';
import type { Box, Rgb } from './raster.ts';
import { RgbImage } from './raster.ts';
import type { Rng } from './rng.ts';

Chart.register(...registerables);

export interface SyntheticChart {
  readonly title: string;
  readonly labels: readonly string[];
  /** Integer values, one per label, all distinct. */
  readonly values: readonly number[];
  /** The y axis runs from 0 to yMax. */
  readonly yMax: number;
  readonly barColor: Rgb;
  /** Bar rectangles as chart.js laid them out (pixel xyxy, fractional). */
  readonly bars: readonly Box[];
  readonly image: RgbImage;
}

const TOPICS: readonly { title: string; labels: readonly string[] }[] = [
  { title: 'Fruit sold (kg)', labels: ['Apples', 'Pears', 'Plums', 'Grapes', 'Figs', 'Limes'] },
  { title: 'Visitors (thousands)', labels: ['Oslo', 'Rome', 'Lima', 'Doha', 'Kyiv', 'Baku'] },
  { title: 'Survey share (%)', labels: ['Bus', 'Train', 'Bike', 'Car', 'Walk', 'Taxi'] },
  { title: 'Units made', labels: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] },
];

const BAR_COLORS: readonly Rgb[] = [
  [40, 90, 170],
  [200, 80, 40],
  [40, 140, 90],
  [130, 60, 150],
];

const WIDTH = 480;
const HEIGHT = 320;
const INK: Rgb = [30, 30, 30];

/** A bar chart of 3-6 categories with distinct integer values in 5..95 (y axis 0..100), rendered to pixels. */
export function makeBarChart(rng: Rng): SyntheticChart {
  const topic = rng.pick(TOPICS);
  const n = rng.int(3, Math.min(6, topic.labels.length));
  const labels = rng.sample(topic.labels, n);
  const values = rng.sample(
    Array.from({ length: 91 }, (_, k) => k + 5),
    n,
  );
  const yMax = 100;
  const barColor = rng.pick(BAR_COLORS);
  const canvas = createCanvas(WIDTH, HEIGHT);
  const ctx = canvas.getContext('2d');
  const chart = new Chart(ctx as never, {
    type: 'bar',
    data: {
      labels: [...labels],
      datasets: [{ data: [...values], backgroundColor: `rgb(${barColor.join(',')})`, borderWidth: 0 }],
    },
    options: {
      responsive: false,
      animation: false,
      devicePixelRatio: 1,
      layout: { padding: { left: 34, right: 12, top: 40, bottom: 24 } },
      plugins: { legend: { display: false }, title: { display: false }, tooltip: { enabled: false } },
      scales: {
        x: { ticks: { display: false }, grid: { display: false } },
        y: {
          min: 0,
          max: yMax,
          ticks: { display: false, stepSize: 25 },
          grid: { color: 'rgb(225,225,225)' },
        },
      },
    },
  });
  const yScale = chart.scales.y;
  const bars: Box[] = chart.getDatasetMeta(0).data.map((el) => {
    const p = el.getProps(['x', 'y', 'width', 'base'], true) as unknown as {
      x: number;
      y: number;
      width: number;
      base: number;
    };
    return [p.x - p.width / 2, p.y, p.x + p.width / 2, p.base];
  });
  const tickYs = [0, 25, 50, 75, 100].map((v) => [v, yScale.getPixelForValue(v)] as const);
  const rgba = ctx.getImageData(0, 0, WIDTH, HEIGHT).data;
  chart.destroy();

  // chart.js clears the canvas before drawing, so composite its (unpremultiplied) RGBA over white.
  const rgb = new Uint8Array(WIDTH * HEIGHT * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    const a = rgba[i + 3];
    for (let c = 0; c < 3; c++) rgb[j + c] = Math.round((rgba[i + c] * a + 255 * (255 - a)) / 255);
  }
  const image = new RgbImage(WIDTH, HEIGHT, rgb);
  const title = topic.title;
  image.drawText(title, Math.round((WIDTH - textWidth(title, 2)) / 2), 8, 2, INK);
  for (const [v, y] of tickYs) {
    const t = String(v);
    image.drawText(t, 30 - textWidth(t, 1), Math.round(y) - 3, 1, INK);
  }
  bars.forEach((b, k) => {
    const cx = (b[0] + b[2]) / 2;
    const label = labels[k];
    image.drawText(label, Math.round(cx - textWidth(label, 1) / 2), Math.round(b[3]) + 6, 1, INK);
    const v = String(values[k]);
    image.drawText(v, Math.round(cx - textWidth(v, 1) / 2), Math.round(b[1]) - 11, 1, INK);
  });
  return { title, labels, values, yMax, barColor, bars, image };
}

export interface ChartQuestion {
  readonly question: string;
  readonly answer: string;
}

/** ChartQA "augmented"-style (template) questions: read one value. */
export function augmentedQuestions(chart: SyntheticChart): ChartQuestion[] {
  return chart.labels.map((l, k) => ({
    question: `What is the value of ${l}?`,
    answer: String(chart.values[k]),
  }));
}

/** ChartQA "human"-style questions: compare or combine values (the answer is still derived from the values). */
export function humanQuestions(chart: SyntheticChart): ChartQuestion[] {
  const { labels, values } = chart;
  const maxK = values.indexOf(Math.max(...values));
  const minK = values.indexOf(Math.min(...values));
  return [
    { question: 'Which category has the highest value?', answer: labels[maxK] },
    {
      question: `What is the difference between ${labels[maxK]} and ${labels[minK]}?`,
      answer: String(values[maxK] - values[minK]),
    },
    { question: `What is the sum of ${labels[0]} and ${labels[1]}?`, answer: String(values[0] + values[1]) },
    { question: 'Which category has the lowest value?', answer: labels[minK] },
  ];
}
