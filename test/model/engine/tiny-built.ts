/**
 * A tiny random checkpoint built fp32 into a fresh temp folder, and its build info: where the engine tests that
 * drive sessions directly (OnnxModel, NativeSession) start. The caller removes `root`.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeTinyCheckpoint } from '../../../src/model/checkpoint/tiny.ts';
import { readBuiltModelInfo, type BuiltModelInfo } from '../../../src/model/engine/built-model.ts';
import { buildModel } from '../../../src/model/graph/build.ts';

export async function tinyBuiltModel(
  prefix: string,
  seed: number,
): Promise<{ root: string; info: BuiltModelInfo }> {
  const root = await mkdtemp(path.join(os.tmpdir(), prefix));
  const ckpt = await makeTinyCheckpoint(path.join(root, 'ckpt'), { seed });
  const built = await buildModel(ckpt.dir, { variant: 'fp32', cacheDir: path.join(root, 'cache') });
  return { root, info: readBuiltModelInfo(built.dir) };
}
