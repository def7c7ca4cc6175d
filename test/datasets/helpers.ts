/** Test helpers: temp dataset folders, tiny generated images, task configs built in code. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll } from 'vitest';
import { openTask } from '../../src/datasets/open-task.ts';
import type { Sample, SampleError, SampleOrError } from '../../src/datasets/sample.ts';
import { isSampleError } from '../../src/datasets/sample.ts';
import type { TaskConfig, TaskSource } from '../../src/datasets/task.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

export async function tempDir(prefix = 'ds-'): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** A w x h PNG filled with one colour (the colour tells images apart). */
export async function png(w: number, h: number, rgb: [number, number, number]): Promise<Buffer> {
  return sharp({
    create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } },
  })
    .png()
    .toBuffer();
}

export async function put(root: string, rel: string, data: string | Uint8Array): Promise<string> {
  const p = path.join(root, rel);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, data);
  return p;
}

export function task(source: TaskSource, extra: Partial<TaskConfig> = {}): TaskConfig {
  return {
    name: 'test_task',
    title: 'Test task',
    group: 'image',
    source,
    prompt: { kind: 'suffix', suffix: '', joiner: ' ' },
    maxTiles: 6,
    useThumbnail: true,
    maxNewTokens: 10,
    minNewTokens: 1,
    scorer: { name: 'exact_match' },
    report: {},
    ...extra,
  };
}

export async function collect(t: TaskConfig, root: string, maxPixels?: number): Promise<SampleOrError[]> {
  const out: SampleOrError[] = [];
  for await (const s of openTask(t, { root, maxPixels })) out.push(s);
  return out;
}

export function split(items: SampleOrError[]): { samples: Sample[]; errors: SampleError[] } {
  return {
    samples: items.filter((s): s is Sample => !isSampleError(s)),
    errors: items.filter(isSampleError),
  };
}
