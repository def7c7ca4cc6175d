/**
 * Test doubles for the runner: tasks written as YAML + JSONL into a temp dir (internvl-jsonl layout), a small
 * stand-in for the dataset adapter, prompt builder and video frames, and a fake Backend that answers instantly.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPreset, loadTask, presetMaxTiles } from '../../src/datasets/task-config.ts';
import type { Sample, SampleOrError } from '../../src/datasets/sample.ts';
import type { TaskConfig } from '../../src/datasets/task.ts';
import { getScorer } from '../../src/metrics/registry.ts';
import type { Backend, GenerationRequest, GenerationResult } from '../../src/runner/backend.ts';
import type { RunOptions } from '../../src/runner/run-evaluation.ts';
import type { RunDeps } from '../../src/runner/stages.ts';

// A 2x2 red PNG (made with sharp).
export const PNG_2X2 = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a730000000970485973000003e8000003e801b57b526b000000124944415408996338c1c575828b8b014201001b1603717446b6100000000049454e44ae426082',
  'hex',
);

export interface TaskSpec {
  name: string;
  rows: { question_id: string | number; question: string; answer: string; image?: string }[];
  scorer?: string;
  maxTiles?: number;
  suffix?: string;
  /** Scored outside (judge/server): writes an `external:` block. */
  external?: boolean;
}

export function tempDir(prefix = 'runner-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes tasks as `configDir/NAME.yaml` + `dataRoot/NAME/data.jsonl` (+ one tiny PNG per image row). */
export function writeTasks(root: string, specs: TaskSpec[]): { configDir: string; dataRoot: string } {
  const configDir = path.join(root, 'tasks');
  const dataRoot = path.join(root, 'data');
  mkdirSync(configDir, { recursive: true });
  for (const s of specs) {
    const dir = path.join(dataRoot, s.name);
    mkdirSync(dir, { recursive: true });
    for (const r of s.rows)
      if (r.image && !r.image.startsWith('missing')) writeFileSync(path.join(dir, r.image), PNG_2X2);
    writeFileSync(path.join(dir, 'data.jsonl'), s.rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    writeFileSync(
      path.join(configDir, `${s.name}.yaml`),
      [
        `name: ${s.name}`,
        `title: ${s.name} title`,
        'group: image',
        'source:',
        '  format: internvl-jsonl',
        `  path: ${s.name}/data.jsonl`,
        '  options:',
        `    imageRoot: ${s.name}`,
        'prompt:',
        '  kind: suffix',
        '  joiner: " "',
        `  suffix: ${JSON.stringify(s.suffix ?? '')}`,
        `maxTiles: ${s.maxTiles ?? 6}`,
        'useThumbnail: true',
        'maxNewTokens: 10',
        'minNewTokens: 1',
        'scorer:',
        `  name: ${s.scorer ?? 'exact_match'}`,
        'report:',
        '  card: 50',
        ...(s.external ? ['external:', '  reason: answers are hidden', '  submissionFormat: json'] : []),
        '',
      ].join('\n'),
    );
  }
  return { configDir, dataRoot };
}

/** A stand-in for the internvl-jsonl adapter: the same file layout, read line by line. */
async function* fakeOpenTask(
  task: TaskConfig,
  opts: { root?: string; limit?: number },
): AsyncGenerator<SampleOrError> {
  const root = opts.root ?? '.';
  const file = path.join(root, task.source.path!);
  const imageRoot = path.join(root, String(task.source.options?.imageRoot ?? '.'));
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  if (opts.limit !== undefined && !Number.isInteger(opts.limit))
    throw new Error('openTask limit must be a count');
  const n = opts.limit ?? lines.length;
  for (const [i, line] of lines.slice(0, n).entries()) {
    const row = JSON.parse(line) as TaskSpec['rows'][number];
    if (row.question === '') {
      yield {
        id: String(row.question_id),
        task: task.name,
        error: `${file}:${i + 1}: field "question" is empty`,
      };
      continue;
    }
    const sample: Sample = {
      id: String(row.question_id),
      task: task.name,
      images: row.image
        ? [
            {
              origin: row.image,
              load: async () => new Uint8Array(readFileSync(path.join(imageRoot, row.image!))),
            },
          ]
        : [],
      question: row.question,
      answers: [row.answer],
      meta: {},
    };
    yield sample;
  }
}

export const fakeDeps: RunDeps = {
  loadTask: (name, o) => loadTask(name, o),
  async loadPreset(name, o) {
    const p = await loadPreset(name, o);
    return { ...p, maxTilesFor: (t: string) => presetMaxTiles(p, t) };
  },
  openTask: fakeOpenTask,
  buildUserText(recipe, sample) {
    if (recipe.kind !== 'suffix') throw new Error('fake buildUserText: suffix recipes only');
    return recipe.suffix === '' ? sample.question : sample.question + recipe.joiner + recipe.suffix;
  },
  loadVideoFrames: async () => {
    throw new Error('no video in runner tests');
  },
  getScorer,
};

/** Answers instantly from the question: `answer:X` in the question makes the model say X; `fail` fails. */
export class FakeBackend implements Backend {
  readonly info = { name: 'fake', model: 'fake-model' };
  calls: number[] = [];
  active = 0;
  peakActive = 0;
  constructor(
    readonly maxBatch = 1,
    private readonly delayMs = 0,
  ) {}
  async generate(reqs: readonly GenerationRequest[]): Promise<GenerationResult[]> {
    this.calls.push(reqs.length);
    this.active++;
    this.peakActive = Math.max(this.peakActive, this.active);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    this.active--;
    return reqs.map((r) => fakeAnswer(r));
  }
  async close(): Promise<void> {}
}

export function fakeAnswer(r: GenerationRequest): GenerationResult {
  const m = /answer:(\S+)/.exec(r.question);
  const fail = /\bfail\b/.test(r.question);
  return {
    id: r.id,
    text: fail ? '' : (m?.[1] ?? 'none'),
    promptTokens: r.question.length,
    outputTokens: 1,
    tiles: r.images.map((_, i) => Math.min(r.maxTiles[i], 3)),
    imageTokens: r.images.length * 256,
    latencyMs: 1,
    ...(fail ? { error: 'fake failure' } : {}),
  };
}

export function readJsonl(file: string): any[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

/**
 * Tasks written into a fresh temp dir and the RunOptions that run all of them on the echo backend with the fake
 * stages, quietly: what most runner and report tests start from.
 */
export function echoRunSetup(
  specs: TaskSpec[],
  prefix = 'runner-',
  model = 'fake',
): { root: string; base: RunOptions; configDir: string; dataRoot: string } {
  const root = tempDir(prefix);
  const { configDir, dataRoot } = writeTasks(root, specs);
  const base: RunOptions = {
    model,
    backend: 'echo',
    tasks: specs.map((s) => s.name),
    configDir,
    dataRoot,
    progress: 'none',
    deps: fakeDeps,
    commandLine: ['test'],
  };
  return { root, base, configDir, dataRoot };
}
