import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetSchema } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTask } from '../../../src/datasets/open-task.ts';
import type { Sample, SampleOrError } from '../../../src/datasets/sample.ts';
import { isSampleError } from '../../../src/datasets/sample.ts';
import { loadTask, listTasks } from '../../../src/datasets/task-config.ts';
import type { SyntheticSuite } from '../../../src/datasets/synthetic/index.ts';
import {
  SUITE_COUNTS,
  SYNTHETIC_TASKS,
  SYNTHETIC_TASK_ORIGINS,
  makeSyntheticSuite,
} from '../../../src/datasets/synthetic/index.ts';
import { getScorer } from '../../../src/metrics/registry.ts';
import type { ScoreInput } from '../../../src/metrics/scorer.ts';
import { sampleMeta } from '../../../src/runner/request.ts';
import { loadVideoFrames } from '../../../src/model/inputs/video-frames.ts';
import { COLORS } from '../../../src/datasets/synthetic/shapes.ts';
import { decodeRgb, findText, near } from './pixels.ts';

function scoreAll(metric: string, inputs: ScoreInput[], options?: Record<string, unknown>) {
  const scorer = getScorer(metric);
  const scores = inputs.map((input) => scorer.scoreSample(input, options));
  return { scores, aggregate: scorer.aggregate(inputs, scores, options) };
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'synth-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function samplesOf(suite: SyntheticSuite, name: string): Promise<Sample[]> {
  const task = await loadTask(name, { configDir: suite.configDir });
  const out: SampleOrError[] = [];
  for await (const s of openTask(task, { root: suite.root })) out.push(s);
  const errors = out.filter(isSampleError);
  expect(errors, `${name}: ${errors.map((e) => e.error).join('; ')}`).toEqual([]);
  return out as Sample[];
}

/** sha256 over (relative path, bytes) of every file under `dir`, in sorted order. */
async function treeHash(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (rel: string): Promise<void> => {
    const entries = (await readdir(path.join(dir, rel), { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    );
    for (const e of entries) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) await walk(r);
      else h.update(r + '\0').update(await readFile(path.join(dir, r)));
    }
  };
  await walk('');
  return h.digest('hex');
}

let suite: SyntheticSuite;
beforeAll(async () => {
  suite = await makeSyntheticSuite(path.join(await tempDir(), 'suite'), { seed: 7, size: 'small' });
});

describe('makeSyntheticSuite: every task loads and reads back what was written', () => {
  it('writes a valid task YAML for every task (loadTask / listTasks with configDir)', async () => {
    expect(suite.tasks).toEqual([...SYNTHETIC_TASKS]);
    const listed = await listTasks({ configDir: suite.configDir });
    expect(listed.map((t) => t.name).sort()).toEqual([...SYNTHETIC_TASKS].sort());
    for (const t of listed) expect(t.samples).toBe(suite.expected[t.name].length);
    const formats = new Set(listed.map((t) => t.source.format));
    // every adapter is exercised
    expect([...formats].sort()).toEqual(
      [
        'internvl-jsonl',
        'lmms-parquet',
        'mme-txt',
        'mvbench-json',
        'ocrbench-json',
        'refcoco-jsonl',
        'vlmevalkit-tsv',
      ].sort(),
    );
  });

  it.each([...SYNTHETIC_TASKS])(
    '%s: prompt, tokens, scorer and frames copied from its real task',
    async (name) => {
      const synth = await loadTask(name, { configDir: suite.configDir });
      const real = await loadTask(SYNTHETIC_TASK_ORIGINS[name]);
      const pick = (t: typeof real) => ({
        prompt: t.prompt,
        useThumbnail: t.useThumbnail,
        maxNewTokens: t.maxNewTokens,
        minNewTokens: t.minNewTokens,
        frames: t.frames,
        scorer: t.scorer.name === 'external' ? undefined : t.scorer,
        group: t.group,
      });
      const want = pick(real);
      if (!want.scorer) delete want.scorer;
      expect(pick(synth)).toMatchObject(want);
      expect(synth.maxTiles).toBeLessThanOrEqual(real.maxTiles);
      // same format: the same field mapping (paths differ: the suite root holds every dataset)
      if (synth.source.format === real.source.format) expect(synth.fields).toEqual(real.fields);
    },
  );

  it.each([...SYNTHETIC_TASKS])('%s: samples equal the generator ground truth', async (name) => {
    const samples = await samplesOf(suite, name);
    const expected = suite.expected[name];
    expect(samples.length).toBe(expected.length);
    expect(samples.length).toBeGreaterThan(0);
    samples.forEach((s, k) => {
      const e = expected[k];
      expect(s.task).toBe(name);
      expect(s.id).toBe(e.id);
      expect(s.question).toBe(e.question);
      expect(s.answers).toEqual(e.answers);
      if (e.choices) expect(s.choices).toEqual(e.choices);
      if (e.category) expect(s.category).toBe(e.category);
      if (e.hint !== undefined || name === 'synth_mmbench') expect(s.hint).toBe(e.hint);
      if (e.bbox) {
        expect(s.bbox).toEqual(e.bbox);
        expect([s.width, s.height]).toEqual([e.width, e.height]);
      }
    });
    // ids are unique within the task (resume, pairing)
    expect(new Set(samples.map((s) => s.id)).size).toBe(samples.length);
    for (const s of samples) {
      if (name === 'synth_mvbench') expect(s.video).toBeDefined();
      else {
        expect(s.images.length).toBe(1);
        const img = await decodeRgb(await s.images[0].load());
        expect(Math.max(img.width, img.height)).toBeLessThanOrEqual(800);
      }
    }
  });

  it.each([...SYNTHETIC_TASKS])(
    '%s: the real scorer accepts every sample; the truth scores full marks, "zzz" does not',
    async (name) => {
      const task = await loadTask(name, { configDir: suite.configDir });
      const samples = await samplesOf(suite, name);
      const oracle = (s: Sample) => {
        if (s.bbox) {
          const [x0, y0, x1, y1] = s.bbox;
          const k = (v: number, d: number) => Math.round((v / d) * 1000);
          return `<ref>${s.question}</ref><box>[[${k(x0, s.width!)}, ${k(y0, s.height!)}, ${k(x1, s.width!)}, ${k(y1, s.height!)}]]</box>`;
        }
        return s.answers[0];
      };
      const inputs = (pred: (s: Sample) => string) =>
        samples.map((s) => ({
          ...sampleMeta(s),
          id: s.id,
          prediction: pred(s),
          answers: s.answers,
          answer: s.answers[0],
        }));
      const right = scoreAll(task.scorer.name, inputs(oracle), task.scorer.options);
      const wrong = scoreAll(
        task.scorer.name,
        inputs(() => 'zzz'),
        task.scorer.options,
      );
      expect(
        right.scores.every((x) => x.score === 1),
        JSON.stringify(right.scores),
      ).toBe(true);
      expect(wrong.aggregate.score).toBeLessThan(right.aggregate.score);
      expect(right.aggregate.n).toBeGreaterThan(0);
    },
  );

  it('parquet: written as HF datasets does (image = struct {bytes, path}, answers = list<string>)', async () => {
    const file = path.join(suite.root, 'lmms-lab/DocVQA/DocVQA/validation-00000-of-00002.parquet');
    const meta = await parquetMetadataAsync(await asyncBufferFromFile(file));
    const cols = Object.fromEntries(parquetSchema(meta).children.map((c) => [c.element.name, c]));
    expect(cols.image.children.map((c) => c.element.name)).toEqual(['bytes', 'path']);
    expect(cols.answers.element.converted_type).toBe('LIST');
    expect(meta.row_groups.length).toBeGreaterThan(1);
  });

  it('TSV image references: circular copies (index + k*1e6) and the OCRBench shared image load the referred row', async () => {
    const mm = await samplesOf(suite, 'synth_mmbench');
    const byId = new Map(mm.map((s) => [s.id, s]));
    let refs = 0;
    for (const s of mm) {
      const index = Number(s.id);
      if (index < 1_000_000) continue;
      refs++;
      const main = byId.get(String(index % 1_000_000))!;
      expect(s.images[0].origin).toContain(`-> index ${index % 1_000_000}`);
      expect(Buffer.from(await s.images[0].load())).toEqual(Buffer.from(await main.images[0].load()));
      // a rotation: same options, shifted, and the answer letter follows its option
      expect(Object.values(s.choices!).sort()).toEqual(Object.values(main.choices!).sort());
      expect(s.choices![s.answers[0]]).toBe(main.choices![main.answers[0]]);
    }
    expect(refs).toBe(3 * SUITE_COUNTS.small.mmbenchQuestions);

    const ocr = await samplesOf(suite, 'synth_ocrbench');
    const shared = ocr.filter((s, k) => suite.expected.synth_ocrbench[k].truth?.sameImageAs !== undefined);
    expect(shared.length).toBeGreaterThan(0);
    for (const s of shared) {
      const ref = ocr.find((o) => o.id === suite.expected.synth_ocrbench[ocr.indexOf(s)].truth!.sameImageAs)!;
      expect(s.images[0].origin).toContain(`-> index ${ref.id}`);
      expect(Buffer.from(await s.images[0].load())).toEqual(Buffer.from(await ref.images[0].load()));
    }
  });

  it('MME: two questions per image (Yes then No), paired by meta.image, all four subtasks', async () => {
    const mme = await samplesOf(suite, 'synth_mme');
    const byImage = new Map<string, Sample[]>();
    for (const s of mme) byImage.set(String(s.meta.image), [...(byImage.get(String(s.meta.image)) ?? []), s]);
    expect(byImage.size).toBe(4 * SUITE_COUNTS.small.mmeImagesPerSubtask);
    for (const pair of byImage.values()) {
      expect(pair.map((s) => s.answers[0])).toEqual(['Yes', 'No']);
      for (const s of pair) expect(s.question.endsWith(' Please answer yes or no.')).toBe(true);
    }
    expect(new Set(mme.map((s) => s.category))).toEqual(new Set(['existence', 'count', 'position', 'color']));
  });

  it('document answers are drawn in the image (bitmap-font search)', async () => {
    for (const name of ['synth_docvqa', 'synth_infovqa', 'synth_textvqa', 'synth_ocrbench_json'] as const) {
      const samples = await samplesOf(suite, name);
      for (const s of samples.slice(0, 6)) {
        const img = await decodeRgb(await s.images[0].load());
        const text =
          name === 'synth_textvqa'
            ? String(suite.expected[name][samples.indexOf(s)].truth!.text)
            : s.answers[0];
        const scale =
          name === 'synth_docvqa' ||
          name === 'synth_infovqa' ||
          s.category?.includes('VQA') ||
          s.category?.startsWith('Key')
            ? 2
            : 4;
        expect(findText(img, text, scale), `${name} ${s.id}: "${text}" not found`).toBeDefined();
        // and a string that is not on the page is not found (the search can fail)
        expect(findText(img, 'QQQ', scale)).toBeUndefined();
      }
    }
  });

  it('ChartQA: values read back from the rendered bars answer every question', async () => {
    for (const name of ['synth_chartqa_human', 'synth_chartqa_augmented']) {
      const samples = await samplesOf(suite, name);
      for (const [k, s] of samples.entries()) {
        const truth = suite.expected[name][k].truth as { labels: string[]; barColor: number[] };
        const chart = readChart(await decodeRgb(await s.images[0].load()), truth.barColor, truth.labels);
        expect(chart.map((b) => b.label)).toEqual(truth.labels);
        const value = (l: string) => chart.find((b) => b.label === l)!.value;
        const q = s.question;
        let m: RegExpExecArray | null;
        const answer = s.answers[0];
        if ((m = /^What is the value of (.+)\?$/.exec(q)))
          expect(Math.abs(value(m[1]) - Number(answer))).toBeLessThanOrEqual(1);
        else if ((m = /^What is the (difference|sum) between|^What is the (sum) of/.exec(q))) {
          const [, a, b] = /(?:between|of) (.+) and (.+)\?$/.exec(q)!;
          const got = /difference/.test(q) ? value(a) - value(b) : value(a) + value(b);
          expect(Math.abs(got - Number(answer))).toBeLessThanOrEqual(2);
        } else if (/highest/.test(q))
          expect([...chart].sort((x, y) => y.value - x.value)[0].label).toBe(answer);
        else if (/lowest/.test(q)) expect([...chart].sort((x, y) => x.value - y.value)[0].label).toBe(answer);
        else throw new Error(`unexpected chart question ${q}`);
      }
    }
  });

  it('RefCOCO boxes hold the named shape: its colour inside, white just outside', async () => {
    for (const [k, s] of (await samplesOf(suite, 'synth_refcoco')).entries()) {
      const img = await decodeRgb(await s.images[0].load());
      const [x0, y0, x1, y1] = s.bbox!;
      const colour = COLORS[String(suite.expected.synth_refcoco[k].truth!.color)];
      expect(s.question).toContain(String(suite.expected.synth_refcoco[k].truth!.color));
      const cx = Math.floor((x0 + x1) / 2);
      const cy = Math.floor((y0 + y1) / 2);
      expect(img.pixel(cx, cy)).toEqual(colour);
      expect(img.pixel(x0 - 1, cy)).toEqual([255, 255, 255]);
      expect(img.pixel(x1, cy)).toEqual([255, 255, 255]);
      expect(img.pixel(cx, y0 - 1)).toEqual([255, 255, 255]);
      expect(img.pixel(cx, y1)).toEqual([255, 255, 255]);
      expect(img.pixel(cx, y0)).toEqual(colour);
      expect(img.pixel(x1 - 1, cy)).toEqual(colour);
    }
  });

  it('MVBench: frames load with loadVideoFrames and show what the answer says', async () => {
    const samples = await samplesOf(suite, 'synth_mvbench');
    const kinds = new Set(samples.map((s) => s.video!.kind));
    expect(kinds).toEqual(new Set(['file', 'frames']));
    for (const [k, s] of samples.entries()) {
      const truth = suite.expected.synth_mvbench[k].truth!;
      const frames = await Promise.all((await loadVideoFrames(s.video!, 16)).map(decodeRgb));
      expect(frames.length).toBe(16);
      if (s.video!.kind === 'file') {
        expect(s.video!.bound).toBeUndefined();
        // centroid of the square's pixels, first vs last sampled frame
        const centroid = (img: (typeof frames)[number]) => {
          let sx = 0;
          let sy = 0;
          let n = 0;
          for (let y = 0; y < img.height; y++)
            for (let x = 0; x < img.width; x++)
              if (!near(img.pixel(x, y), [235, 235, 235], 40)) {
                sx += x;
                sy += y;
                n++;
              }
          return [sx / n, sy / n];
        };
        const [ax, ay] = centroid(frames[0]);
        const [bx, by] = centroid(frames[15]);
        const seen =
          Math.abs(bx - ax) > Math.abs(by - ay) ? (bx > ax ? 'right' : 'left') : by > ay ? 'down' : 'up';
        expect(seen).toBe(truth.direction);
        expect(s.answers[0]).toMatch(new RegExp(`^\\([A-D]\\) ${truth.direction}$`));
      } else {
        expect(s.video).toMatchObject({
          fps: 3,
          firstIndex: 1,
          pattern: '%05d.jpg',
          bound: [truth.start, truth.end],
        });
        // inside the bound every sampled frame shows the second colour (JPEG: approximately)
        for (const f of frames) expect(near(f.pixel(64, 48), COLORS[String(truth.after)], 24)).toBe(true);
        expect((await readdir((s.video as { dir: string }).dir)).length).toBe(truth.frames);
        // without the bound the clip starts in the first colour: the bound is what makes the answer right
        const unbounded = await loadVideoFrames({ ...s.video!, bound: undefined }, 16);
        const first = await decodeRgb(unbounded[0]);
        expect(near(first.pixel(64, 48), COLORS[String(truth.before)], 24)).toBe(true);
      }
    }
  });
});

describe('makeSyntheticSuite: determinism and sizes', () => {
  it('same seed -> identical bytes; another seed -> different bytes; tiny is a handful per task', async () => {
    const base = await tempDir();
    const a = await makeSyntheticSuite(path.join(base, 'a'), { seed: 3, size: 'tiny' });
    const b = await makeSyntheticSuite(path.join(base, 'b'), { seed: 3, size: 'tiny' });
    const c = await makeSyntheticSuite(path.join(base, 'c'), { seed: 4, size: 'tiny' });
    expect(await treeHash(a.root)).toBe(await treeHash(b.root));
    expect(await treeHash(a.root)).not.toBe(await treeHash(c.root));
    for (const t of a.tasks) {
      expect((await samplesOf(a, t)).length).toBe(a.expected[t].length);
      expect(a.expected[t].length).toBeGreaterThanOrEqual(2);
      expect(a.expected[t].length).toBeLessThanOrEqual(8);
    }
    // regenerating into a suite folder replaces it with the same bytes
    await makeSyntheticSuite(a.root, { seed: 3, size: 'tiny' });
    expect(await treeHash(a.root)).toBe(await treeHash(b.root));
  });

  it('refuses to overwrite a folder that is not a suite', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'precious.txt'), 'keep me');
    await expect(makeSyntheticSuite(dir, { size: 'tiny' })).rejects.toThrow(
      /not empty and holds no SYNTHETIC_SUITE/,
    );
    expect(await readFile(path.join(dir, 'precious.txt'), 'utf8')).toBe('keep me');
    await expect(makeSyntheticSuite(path.join(dir, 'x'), { seed: 1.5 })).rejects.toThrow(
      /seed must be an integer/,
    );
  });
});

/**
 * Reads a bar chart back from its pixels: bars are runs of the bar colour on a row just above the x axis; a bar's
 * height is measured up its centre column; the 100 gridline is the topmost light-grey row left of the first bar;
 * each bar's label is found (bitmap font) under it.
 */
function readChart(img: Awaited<ReturnType<typeof decodeRgb>>, barColor: number[], labels: string[]) {
  const isBar = (x: number, y: number) => near(img.pixel(x, y), barColor, 3);
  const row = img.height - 40;
  const runs: [number, number][] = [];
  for (let x = 0; x < img.width; x++) {
    if (!isBar(x, row)) continue;
    const start = x;
    while (x < img.width && isBar(x, row)) x++;
    runs.push([start, x]);
  }
  let y100 = -1;
  for (let y = 0; y < row && y100 < 0; y++)
    if (near(img.pixel(runs[0][0] - 4, y), [225, 225, 225], 12)) y100 = y;
  expect(y100).toBeGreaterThan(0);
  return runs.map(([x0, x1]) => {
    const cx = Math.floor((x0 + x1) / 2);
    let top = row;
    while (isBar(cx, top - 1)) top--;
    let bottom = row;
    while (isBar(cx, bottom + 1)) bottom++;
    const value = Math.round(((bottom + 1 - top) / (bottom + 1 - y100)) * 100);
    const label = labels.find((l) => findText(img, l, 1, [x0 - 20, bottom, x1 + 20, bottom + 20]));
    return { label, value };
  });
}
