/**
 * Scorer speed. For each metric: samples/s of `scoreSample` over N synthetic records and the time of `aggregate`
 * (which runs the 1000-resample bootstrap), next to the baseline measured in the same run: a bare
 * `trim().toLowerCase()` equality over the same strings (the floor of any string scorer).
 */
import { getScorer } from '../src/metrics/registry.ts';
import type { ScoreInput } from '../src/metrics/scorer.ts';

const N = 5000;
const WORDS = [
  'cat',
  'Two dogs.',
  'the red car',
  '1,000',
  '12.5%',
  'Yes',
  'No, it is not',
  'A',
  '(B) dog',
  'none',
];

function pick(i: number, k: number): string {
  return WORDS[(i * 7 + k * 3) % WORDS.length];
}

function inputsFor(metric: string): ScoreInput[] {
  return Array.from({ length: N }, (_, i) => {
    const base = { id: String(i), prediction: pick(i, 0) };
    switch (metric) {
      case 'vqa_accuracy':
        return { ...base, answers: Array.from({ length: 10 }, (_, k) => pick(i, k)) };
      case 'refcoco_acc':
        return {
          ...base,
          prediction: `<ref>x</ref><box>[[${i % 500}, 100, 600, 700]]</box>`,
          bbox: [50, 60, 400, 420],
          width: 640,
          height: 480,
        };
      case 'mme':
        return { ...base, answer: i % 2 ? 'Yes' : 'No', category: 'existence', image: `${i >> 1}.jpg` };
      case 'mcq':
        return { ...base, answer: 'B', choices: { A: 'cat', B: 'dog', C: 'the red car', D: 'fish' } };
      case 'ocrbench':
        return { ...base, answers: [pick(i, 1)], category: 'Scene Text-centric VQA' };
      default:
        return { ...base, answers: [pick(i, 1), pick(i, 2)] };
    }
  });
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

export async function run(): Promise<void> {
  for (const metric of [
    'anls',
    'vqa_accuracy',
    'relaxed_accuracy',
    'refcoco_acc',
    'mme',
    'mcq',
    'ocrbench',
  ]) {
    const scorer = getScorer(metric);
    const inputs = inputsFor(metric);
    const gts = inputs.map((x) => String(x.answer ?? (x.answers as string[] | undefined)?.[0] ?? ''));
    let sink = 0;
    const baseMs = time(() => {
      inputs.forEach((x, i) => {
        if (x.prediction.trim().toLowerCase() === gts[i].trim().toLowerCase()) sink++;
      });
    });
    if (sink < 0) throw new Error('unreachable'); // keeps the baseline loop observable
    let scores = inputs.map((x) => scorer.scoreSample(x)); // warm-up
    const scoreMs = time(() => {
      scores = inputs.map((x) => scorer.scoreSample(x));
    });
    const aggMs = time(() => void scorer.aggregate(inputs, scores));
    process.stdout.write(
      `${metric.padEnd(17)} scoreSample ${((N / scoreMs) * 1000).toFixed(0).padStart(8)} samples/s ` +
        `(baseline trim/lower equality ${((N / baseMs) * 1000).toFixed(0)} samples/s, ×${(scoreMs / baseMs).toFixed(1)} slower); ` +
        `aggregate+bootstrap ${aggMs.toFixed(0)} ms for ${N}\n`,
    );
  }
}
