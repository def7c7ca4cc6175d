/**
 * Builds run folders the way the runner lays them out (manifest, predictions, scores) from constructed
 * per-sample outcomes, scoring them with the real scorers and the runner's own `scoreTask`.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TaskConfig } from '../../src/datasets/task.ts';
import { getScorer } from '../../src/metrics/registry.ts';
import type { PredictionRecord } from '../../src/runner/prediction-record.ts';
import { scoreTask, writeTaskScore } from '../../src/runner/task-score.ts';

export interface FixtureSample {
  id: string;
  prediction: string;
  answers: string[];
  prompt?: string;
  error?: string;
}

export function taskConfig(name: string, overrides: Partial<TaskConfig> = {}): TaskConfig {
  return {
    name,
    title: name.toUpperCase(),
    group: 'image',
    source: { format: 'internvl-jsonl' },
    prompt: { kind: 'suffix', suffix: '', joiner: ' ' },
    maxTiles: 6,
    useThumbnail: true,
    maxNewTokens: 10,
    minNewTokens: 1,
    scorer: { name: 'exact_match' },
    report: {},
    ...overrides,
  };
}

export async function makeRun(
  name: string,
  tasks: { config: TaskConfig; samples: FixtureSample[] }[],
  manifestExtra: Record<string, unknown> = {},
  parent?: string,
): Promise<string> {
  const root = parent ?? (await mkdtemp(path.join(os.tmpdir(), 'ivl-report-')));
  const dir = path.join(root, name);
  await mkdir(path.join(dir, 'predictions'), { recursive: true });
  await writeFile(
    path.join(dir, 'manifest.json'),
    JSON.stringify({
      startedAt: '2026-11-26T00:00:00Z',
      config: { model: 'tiny', variant: 'fp32', ...manifestExtra },
    }),
  );
  for (const { config, samples } of tasks) {
    const scorer = getScorer(config.scorer.name);
    const records: PredictionRecord[] = samples.map((s) => {
      const base: PredictionRecord = {
        id: s.id,
        task: config.name,
        promptHash: 'x',
        prompt: s.prompt ?? `question ${s.id}`,
        tiles: [3],
        imageTokens: 768,
        promptTokens: 800,
        outputTokens: 2,
        latencyMs: 10,
        prediction: s.prediction,
        answers: s.answers,
        score: null,
      };
      if (s.error) return { ...base, error: s.error };
      if (config.external) return base; // scored outside: the runner writes predictions only
      const sc = scorer.scoreSample(
        { id: s.id, prediction: s.prediction, answers: s.answers },
        config.scorer.options,
      );
      return { ...base, score: sc.score, ...(sc.extracted !== undefined ? { extracted: sc.extracted } : {}) };
    });
    await writeFile(
      path.join(dir, 'predictions', `${config.name}.jsonl`),
      records.map((r) => JSON.stringify(r)).join('\n') + '\n',
    );
    writeTaskScore(
      dir,
      scoreTask(config, config.external ? null : scorer, records, {
        samplesTimed: records.length,
        wallSeconds: 2,
      }),
    );
  }
  return dir;
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!sig.every((b, i) => png[i] === b)) throw new Error('not a PNG');
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}
