/**
 * Where onnxruntime's C API cannot load (here: INTERNVL_EVAL_ORT_LIBRARY names a missing file, set before this
 * test file's worker loads ort-native.ts), the CPU engine warns once and runs the onnxruntime-node path ('append');
 * onnx-model.test.ts checks that the two paths agree.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BuiltModelInfo } from '../../../src/model/engine/built-model.ts';
import { OnnxModel } from '../../../src/model/engine/onnx-model.ts';
import { nativeUnavailable } from '../../../src/model/engine/ort-native.ts';
import { tinyBuiltModel } from './tiny-built.ts';

let root: string;
let info: BuiltModelInfo;

beforeAll(async () => {
  ({ root, info } = await tinyBuiltModel('ort-fallback-', 3));
});

afterAll(async () => {
  delete process.env.INTERNVL_EVAL_ORT_LIBRARY;
  if (root) await rm(root, { recursive: true, force: true });
});

describe('C API unavailable', () => {
  it("says why, and the engine warns and falls back to 'append'", async () => {
    process.env.INTERNVL_EVAL_ORT_LIBRARY = path.join(root, 'no-such-libonnxruntime.so');
    expect(await nativeUnavailable()).toMatch(
      /INTERNVL_EVAL_ORT_LIBRARY: no file .*no-such-libonnxruntime\.so/,
    );
    const writes: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    let model: OnnxModel | null = null;
    try {
      model = await OnnxModel.open(info, { device: 'cpu', threads: 1 });
    } finally {
      spy.mockRestore();
    }
    try {
      expect(model.kvBinding).toBe('append');
      expect(writes.join('')).toMatch(/warning: onnxruntime's C API cannot load .*'append'/);
      const embeds = await model.embedOnHost(BigInt64Array.from([1n, 40n, 41n]), 1, 3);
      const out = await model.step({
        batch: 1,
        seq: 3,
        embeds,
        attentionMask: new BigInt64Array(3).fill(1n),
        positionIds: BigInt64Array.from([0n, 1n, 2n]),
        past: null,
        capacity: 4,
      });
      expect(out.lastLogits.length).toBe(info.llm.vocab);
      expect(out.lastLogits.every(Number.isFinite)).toBe(true);
      model.releaseCache(out.present);
    } finally {
      await model.close();
    }
  });
});
