/**
 * `Backend.prepare` in the runner's preparation stage: called once per sample ahead of the model, overlapping the
 * model's work; what it attaches reaches `generate` but never the log or the prompt hash. And the ONNX backend,
 * which preprocesses images there on worker threads, gives the same records (predictions, tiles, errors) with the
 * pool as without it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import { makeTinyCheckpoint } from '../../src/model/checkpoint/tiny.ts';
import type { GenerationRequest, GenerationResult } from '../../src/runner/backend.ts';
import { OnnxBackend } from '../../src/runner/backends/onnx.ts';
import { runEvaluation } from '../../src/runner/run-evaluation.ts';
import { echoRunSetup, FakeBackend, readJsonl, tempDir, type TaskSpec } from './helpers.ts';

const rows = (n: number): TaskSpec['rows'] =>
  Array.from({ length: n }, (_, i) => ({
    question_id: i,
    question: `what is ${i}? answer:${i % 2 ? 'yes' : 'no'}`,
    answer: 'yes',
    image: `${i}.png`,
  }));

/** Records without the field that legitimately differs between runs (timing). */
const stable = (file: string) => readJsonl(file).map(({ latencyMs: _l, ...r }) => r);

/** FakeBackend plus a `prepare` that tags each request; `generate` can be held at a gate. */
class PreparingBackend extends FakeBackend {
  prepared: string[] = [];
  /** What each request reaching `generate` carried in `prepared`. */
  seen = new Map<string, unknown>();
  generateStarted = 0;
  generateDone = 0;
  gate: Promise<void> | null = null;

  async prepare(req: GenerationRequest): Promise<GenerationRequest> {
    this.prepared.push(req.id);
    if (/prepfail/.test(req.question)) throw new Error('cannot prepare this one');
    return { ...req, prepared: { token: `P${req.id}` } };
  }

  override async generate(reqs: readonly GenerationRequest[]): Promise<GenerationResult[]> {
    this.generateStarted++;
    if (this.gate) await this.gate;
    for (const r of reqs) this.seen.set(r.id, r.prepared);
    const out = await super.generate(reqs);
    this.generateDone++;
    return out;
  }
}

const setup = (specs: TaskSpec[]) => echoRunSetup(specs, 'prepare-stage-');

describe('Backend.prepare in the pipeline', () => {
  it('runs once per sample; generate gets its output; log and hash do not; a rejection is an input error', async () => {
    const { root, base } = setup([
      {
        name: 'alpha',
        rows: [
          ...rows(5),
          { question_id: 'x', question: 'prepfail answer:yes', answer: 'yes', image: 'x.png' },
        ],
      },
    ]);
    const plain = await runEvaluation({
      ...base,
      out: path.join(root, 'plain'),
      backendInstance: new FakeBackend(2),
    });
    const backend = new PreparingBackend(2);
    const prepped = await runEvaluation({ ...base, out: path.join(root, 'prep'), backendInstance: backend });

    expect([...backend.prepared].sort()).toEqual(['0', '1', '2', '3', '4', 'x']);
    expect(Object.fromEntries(backend.seen)).toEqual({
      '0': { token: 'P0' },
      '1': { token: 'P1' },
      '2': { token: 'P2' },
      '3': { token: 'P3' },
      '4': { token: 'P4' },
    });
    const a = stable(plain.tasks[0].predictionsFile);
    const b = stable(prepped.tasks[0].predictionsFile);
    const byId = (recs: any[]) => new Map(recs.map((r) => [r.id, r]));
    for (const id of ['0', '1', '2', '3', '4']) expect(byId(b).get(id)).toEqual(byId(a).get(id));
    expect(byId(b).get('x').error).toBe('input: cannot prepare this one');
    expect(byId(a).get('x').error).toBeUndefined();
    for (const r of b) expect(Object.keys(r)).not.toContain('prepared');
  });

  it('prepares the next samples while the model works on the current one', async () => {
    const { root, base } = setup([{ name: 'alpha', rows: rows(8) }]);
    const backend = new PreparingBackend(1);
    let open!: () => void;
    backend.gate = new Promise<void>((r) => (open = r));
    const run = runEvaluation({ ...base, out: path.join(root, 'run'), backendInstance: backend });
    // The first generate call is held: preparation must still move ahead of it (within the window).
    await vi.waitFor(() => {
      expect(backend.generateStarted).toBe(1);
      expect(backend.prepared.length).toBeGreaterThanOrEqual(4);
    });
    expect(backend.generateDone).toBe(0);
    open();
    const summary = await run;
    expect(summary.tasks[0].stats.processed).toBe(8);
    expect(backend.prepared.length).toBe(8);
  });
});

describe('OnnxBackend.prepare (preprocessing on worker threads)', () => {
  it('gives the same records with the pool as in-process: predictions, tiles, image errors', async () => {
    const { root, base, dataRoot } = setup([
      {
        name: 'docs',
        maxTiles: 4,
        rows: [
          ...rows(4),
          { question_id: 'broken', question: 'what? answer:yes', answer: 'yes', image: 'broken.png' },
        ],
      },
    ]);
    // Pictures of different shapes (1..4 tiles + thumbnail) in place of writeTasks' 2x2 PNGs, and a broken file.
    const shapes = [
      [300, 200],
      [120, 500],
      [640, 640],
      [50, 40],
    ];
    for (const [i, [w, h]] of shapes.entries()) {
      const raw = new Uint8Array(w * h * 3).map((_, k) => (k * 131 + i * 17) % 256);
      await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
        .png()
        .toFile(path.join(dataRoot, 'docs', `${i}.png`));
    }
    writeFileSync(path.join(dataRoot, 'docs', 'broken.png'), 'not an image');

    const ckpt = await makeTinyCheckpoint(path.join(root, 'ckpt'), { seed: 0 });
    const cacheDir = path.join(root, 'cache');
    const runWith = async (preprocessWorkers: number) => {
      const backend = await OnnxBackend.load(ckpt.dir, {
        engine: { cacheDir },
        maxBatch: 2,
        preprocessWorkers,
      });
      try {
        const s = await runEvaluation({
          ...base,
          model: ckpt.dir,
          backend: 'onnx',
          batchSize: 2,
          out: path.join(root, `w${preprocessWorkers}`),
          backendInstance: backend,
        });
        return { records: stable(s.tasks[0].predictionsFile), workers: backend.preprocessPool.workers };
      } finally {
        await backend.close();
      }
    };
    const inProcess = await runWith(0);
    const pooled = await runWith(2);
    expect(inProcess.workers).toBe(0);
    expect(pooled.workers).toBe(2); // the pool really ran (prepare falls back silently on image errors)
    const sortById = (r: any[]) => [...r].sort((x, y) => String(x.id).localeCompare(String(y.id)));
    expect(sortById(pooled.records)).toEqual(sortById(inProcess.records));
    const tiles = Object.fromEntries(inProcess.records.map((r) => [r.id, r.tiles]));
    // The reference's tie rule: 640x640 at max 4 takes 2x2 (ratio ties 1x1, area > half of 4 tiles); 300x200
    // stays 1x1 (1:1 and 2:1 tie, area too small for 2 tiles).
    expect(tiles).toEqual({ '0': [1], '1': [5], '2': [5], '3': [1], broken: [] });
    const broken = inProcess.records.find((r) => r.id === 'broken');
    expect(broken.error).toMatch(/^model: request broken: image 1: .*unrecognised image format/);
    for (const r of inProcess.records.filter((x) => x.id !== 'broken')) {
      expect(r.error).toBeUndefined();
      expect(r.outputTokens).toBeGreaterThan(0);
    }
  });

  it('prepare attaches the preprocessed images; generate gives the same result with or without it', async () => {
    const root = tempDir('prepare-onnx-');
    const ckpt = await makeTinyCheckpoint(path.join(root, 'ckpt'), { seed: 1 });
    const backend = await OnnxBackend.load(ckpt.dir, {
      engine: { cacheDir: path.join(root, 'cache') },
      preprocessWorkers: 1,
    });
    try {
      const raw = new Uint8Array(500 * 200 * 3).map((_, k) => (k * 7) % 256);
      const png = new Uint8Array(
        await sharp(raw, { raw: { width: 500, height: 200, channels: 3 } })
          .png()
          .toBuffer(),
      );
      const req: GenerationRequest = {
        id: 'r1',
        question: '<image>\nWhat is this?',
        images: [png],
        maxTiles: [6],
        useThumbnail: true,
        maxNewTokens: 5,
        minNewTokens: 1,
      };
      const prepared = await backend.prepare(req);
      expect(prepared).not.toBe(req);
      expect(prepared.prepared).toBeDefined();
      expect({ ...prepared, prepared: undefined }).toEqual({ ...req, prepared: undefined });
      const [withPrep] = await backend.generate([prepared]);
      const [without] = await backend.generate([req]);
      expect({ ...withPrep, latencyMs: 0 }).toEqual({ ...without, latencyMs: 0 });
      expect(withPrep.tiles).toEqual([3]); // 500x200: 2x1 grid + thumbnail

      // After generate the pixel buffers went back to the pool for reuse; the same request sent again is
      // preprocessed afresh and answered the same.
      const images = (prepared.prepared as { images: { pixelValues: Float32Array }[] }).images;
      expect(images.map((im) => im.pixelValues.length)).toEqual([0]);
      const [again] = await backend.generate([prepared]);
      expect({ ...again, latencyMs: 0 }).toEqual({ ...without, latencyMs: 0 });
      const [next] = await backend.generate([await backend.prepare({ ...req, id: 'r1' })]);
      expect({ ...next, latencyMs: 0 }).toEqual({ ...without, latencyMs: 0 });

      // A bad image: the request comes back untouched, for generate to report.
      const bad = { ...req, id: 'r2', images: [new Uint8Array([9, 9, 9])] };
      expect(await backend.prepare(bad)).toBe(bad);
      const [failed] = await backend.generate([bad]);
      expect(failed.error).toMatch(/^request r2: image 1: .*unrecognised image format/);
    } finally {
      await backend.close();
    }
  });
});
