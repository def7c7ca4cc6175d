/**
 * The first use of onnxruntime's C API in a process may come from two sessions opening at once (this file's worker
 * has not loaded ort-native.ts before): both must share the one load. Loading it twice made koffi refuse the second
 * declaration of the same prototype ("Duplicate type name 'OrtGetApi'") and the second open failed.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltModelInfo } from '../../../src/model/engine/built-model.ts';
import { NativeSession } from '../../../src/model/engine/ort-native.ts';
import { tinyBuiltModel } from './tiny-built.ts';

let root: string;
let info: BuiltModelInfo;

beforeAll(async () => {
  ({ root, info } = await tinyBuiltModel('ort-native-concurrent-', 7));
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
