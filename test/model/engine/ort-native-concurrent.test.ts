/**
 * The first use of onnxruntime's C API in a process may come from two sessions opening at once (this file's worker
 * has not loaded ort-native.ts before): both must share the one load. Loading it twice made koffi refuse the second
 * declaration of the same prototype ("Duplicate type name 'OrtGetApi'") and the second open failed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyCheckpoint } from '../../../src/model/checkpoint/tiny.ts';
import { readBuiltModelInfo, type BuiltModelInfo } from '../../../src/model/engine/built-model.ts';
import { NativeSession } from '../../../src/model/engine/ort-native.ts';
import { buildModel } from '../../../src/model/graph/build.ts';

let root: string;
let info: BuiltModelInfo;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'ort-native-concurrent-'));
  const ckpt = await makeTinyCheckpoint(path.join(root, 'ckpt'), { seed: 7 });
  const built = await buildModel(ckpt.dir, { variant: 'fp32', cacheDir: path.join(root, 'cache') });
  info = readBuiltModelInfo(built.dir);
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('NativeSession first opens', () => {
  it('two sessions opened at once share the one load of the C API', async () => {
    const sessions = await Promise.all([
      NativeSession.open(info.files.decoder, { threads: 1 }),
      NativeSession.open(info.files.decoder, { threads: 1 }),
      NativeSession.open(info.files.embed, { threads: 1 }),
    ]);
    try {
      expect(sessions.map((s) => s.version)).toEqual(Array(3).fill(sessions[0].version));
      expect(sessions[0].inputNames).toEqual(sessions[1].inputNames);
      expect(sessions[2].outputNames).toContain('inputs_embeds');
    } finally {
      for (const s of sessions) s.release();
    }
  });
});
