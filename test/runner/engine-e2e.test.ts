/**
 * `runEvaluation` on the tiny random-weight checkpoint (real ONNX engine, real adapters, prompts and scorers) over
 * synthetic tasks of three formats: internvl-jsonl, vlmevalkit-tsv (MCQ) and mme-txt. The model's answers are
 * noise; what is checked is that every stage connects: predictions, per-sample scores, aggregates, manifest.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeTinyCheckpoint } from '../../src/model/checkpoint/tiny.ts';
import { OnnxBackend } from '../../src/runner/backends/onnx.ts';
import { runEvaluation } from '../../src/runner/run-evaluation.ts';
import { PNG_2X2, readJsonl, tempDir } from './helpers.ts';

const yaml = (lines: string[]) => lines.join('\n') + '\n';
const common = (scorer: string) => [
  'maxTiles: 2',
  'useThumbnail: true',
  'maxNewTokens: 4',
  'minNewTokens: 1',
  `scorer:\n  name: ${scorer}`,
  'report: {}',
];

function writeThreeFormats(root: string): { configDir: string; dataRoot: string } {
  const configDir = path.join(root, 'tasks');
  const data = path.join(root, 'data');
  for (const d of [configDir, `${data}/vqa`, `${data}/mme/q`, `${data}/mme/img/existence`])
    mkdirSync(d, { recursive: true });
  // internvl-jsonl
  writeFileSync(`${data}/vqa/a.png`, PNG_2X2);
  writeFileSync(
    `${data}/vqa/test.jsonl`,
    [0, 1, 2]
      .map((i) =>
        JSON.stringify({ question_id: i, question: `What is ${i}?`, answer: String(i), image: 'a.png' }),
      )
      .join('\n') + '\n',
  );
  writeFileSync(
    `${configDir}/t_vqa.yaml`,
    yaml([
      'name: t_vqa',
      'title: VQA',
      'group: image',
      'source:',
      '  format: internvl-jsonl',
      '  path: vqa/test.jsonl',
      '  options:',
      '    imageRoot: vqa',
      'prompt:',
      '  kind: suffix',
      '  joiner: " "',
      '  suffix: "Answer the question using a single word or phrase."',
      ...common('anls'),
    ]),
  );
  // vlmevalkit-tsv MCQ, base64 images
  const b64 = PNG_2X2.toString('base64');
  const header = ['index', 'question', 'A', 'B', 'answer', 'category', 'image'];
  const rows = [0, 1, 2, 3].map((i) =>
    [String(i), `Colour ${i}?`, 'red', 'blue', i % 2 ? 'B' : 'A', 'c', b64].join('\t'),
  );
  writeFileSync(`${data}/mcq.tsv`, [header.join('\t'), ...rows].join('\n') + '\n');
  writeFileSync(
    `${configDir}/t_mcq.yaml`,
    yaml([
      'name: t_mcq',
      'title: MCQ',
      'group: image',
      'source:',
      '  format: vlmevalkit-tsv',
      '  path: mcq.tsv',
      'prompt:',
      '  kind: mcq',
      '  style: vlmevalkit',
      '  lang: auto',
      ...common('mcq'),
    ]),
  );
  // mme-txt: pairs of yes/no questions per image
  writeFileSync(`${data}/mme/img/existence/1.png`, PNG_2X2);
  writeFileSync(
    `${data}/mme/q/existence.txt`,
    '1.png\tIs it red? Please answer yes or no.\tYes\n1.png\tIs it blue? Please answer yes or no.\tNo\n',
  );
  writeFileSync(
    `${configDir}/t_mme.yaml`,
    yaml([
      'name: t_mme',
      'title: MME',
      'group: image',
      'source:',
      '  format: mme-txt',
      '  path: mme',
      '  options:',
      '    questionsDir: q',
      '    imagesDir: img',
      'prompt:',
      '  kind: suffix',
      '  joiner: " "',
      '  suffix: "Answer the question using a single word or phrase."',
      ...common('mme'),
    ]),
  );
  return { configDir, dataRoot: data };
}

describe('runEvaluation on the tiny engine', () => {
  it('runs three formats end to end; batched equals unbatched', async () => {
    const root = tempDir('runner-engine-');
    const ckpt = await makeTinyCheckpoint(path.join(root, 'ckpt'), { seed: 0 });
    const { configDir, dataRoot } = writeThreeFormats(root);
    const cacheDir = path.join(root, 'cache');
    const tasks = ['t_vqa', 't_mcq', 't_mme'];
    const run = async (out: string, batch: number) => {
      const backend = await OnnxBackend.load(ckpt.dir, { engine: { cacheDir }, maxBatch: batch });
      try {
        return await runEvaluation({
          model: ckpt.dir,
          backend: 'onnx',
          tasks,
          configDir,
          dataRoot,
          out: path.join(root, out),
          batchSize: batch,
          progress: 'none',
          backendInstance: backend,
        });
      } finally {
        await backend.close();
      }
    };
    const one = await run('b1', 1);
    const three = await run('b3', 3);
    expect(one.tasks.map((t) => [t.task, t.score.n, t.score.errors])).toEqual([
      ['t_vqa', 3, 0],
      ['t_mcq', 4, 0],
      ['t_mme', 2, 0],
    ]);
    for (const t of one.tasks) {
      const recs = readJsonl(t.predictionsFile);
      for (const r of recs) {
        expect(r.tiles.length).toBe(1);
        expect(r.imageTokens).toBeGreaterThan(0);
        expect(r.outputTokens).toBeGreaterThan(0);
        expect(typeof r.score).toBe('number');
      }
      expect(t.score.aggregate).not.toBeNull();
      const noLatency = (f: string) => readJsonl(f).map(({ latencyMs: _l, ...r }) => r);
      expect(noLatency(path.join(root, 'b3', 'predictions', `${t.task}.jsonl`))).toEqual(
        noLatency(t.predictionsFile),
      );
    }
    expect(readJsonl(one.tasks[1].predictionsFile)[0].prompt).toMatch(/^Colour 0\?\nA\. red\nB\. blue\n/);
    expect(readJsonl(one.tasks[2].predictionsFile)[0].meta.image).toBe('existence/1.png');
    expect(three.tasks[0].stats.backendCalls).toBeLessThan(one.tasks[0].stats.backendCalls);
    const manifest = JSON.parse(readFileSync(path.join(root, 'b1', 'manifest.json'), 'utf8'));
    expect(manifest.config.model).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(manifest.model.files.map((f: { path: string }) => f.path)).toContain('model.safetensors');
    expect(manifest.backend).toMatchObject({ name: 'onnx', variant: 'fp32', device: 'cpu' });
    expect(manifest.config.variant).toBe('fp32');
  });
});

void fileURLToPath;
