// Quantized token embeddings (int8/int4 builds): tok_embeddings block-quantized like the LLM linears and read with
// com.microsoft:GatherBlockQuantized (ORT 1.30 CPU).
//  - the op's output equals our own dequantisation of the gathered rows BIT FOR BIT (hand-made graphs over every
//    packing case: 4/8 bits, symmetric / zero points, hidden a multiple of the block or not, odd hidden);
//  - a built model's embed.onnx: same exactness, RTN error vs the fp16 table within half a quantization step per
//    block (symmetric; a full step with zero points), and embed.onnx.data shrinks by the expected ratio;
//  - `quantizeEmbeddings: false` keeps the fp16 table (build.json `weights.embed`, cache key).
// Measured worst errors on the tiny checkpoint are next to the bounds in the table below.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InternVLConfig } from '../../../src/model/checkpoint/config.ts';
import { openCheckpoint } from '../../../src/model/checkpoint/checkpoint.ts';
import { buildModel, cacheKey, resolveOptions, type BuildOptions } from '../../../src/model/graph/build.ts';
import { buildEmbedGraph, TOK_EMBEDDINGS } from '../../../src/model/graph/embed-graph.ts';
import { GraphBuilder } from '../../../src/model/graph/onnx-builder.ts';
import {
  dequantizeMatrix,
  quantizeMatrix,
  unpaddedRows,
  type Bits,
  type QuantizedMatrix,
} from '../../../src/model/graph/quantize.ts';
import { i64, randomFloats, runGraph } from './ort-helpers.ts';
import { writeTinyCheckpoint } from './tiny-fixture.ts';

/** Every output element is bit-identical (Object.is: also tells -0 from 0) to row ids[j] of `table`. */
function mismatches(got: Float32Array, table: Float32Array, ids: number[], hidden: number): number {
  let bad = 0;
  ids.forEach((row, j) => {
    for (let c = 0; c < hidden; c++) if (!Object.is(got[j * hidden + c], table[row * hidden + c])) bad++;
  });
  return bad;
}

describe('GatherBlockQuantized on a hand-made embed graph equals dequantizeMatrix exactly', () => {
  const cases: { bits: Bits; blockSize: number; zeroPoint: boolean; vocab: number; hidden: number }[] = [];
  for (const bits of [4, 8] as const) {
    for (const zeroPoint of [false, true]) {
      cases.push({ bits, blockSize: 32, zeroPoint, vocab: 10, hidden: 64 }); // whole blocks
      cases.push({ bits, blockSize: 16, zeroPoint, vocab: 9, hidden: 40 }); // last block partial
      cases.push({ bits, blockSize: 32, zeroPoint, vocab: 7, hidden: 30 }); // one partial block
      if (bits === 8) cases.push({ bits, blockSize: 16, zeroPoint, vocab: 5, hidden: 21 }); // odd hidden
    }
  }
  it.each(cases)(
    'bits $bits, block $blockSize, zero points $zeroPoint, table [$vocab, $hidden]',
    async ({ bits, blockSize, zeroPoint, vocab, hidden }) => {
      const values = randomFloats(vocab * hidden, 5 + hidden);
      values[3] = 0; // a zero, and a block of zeros (scale 0) in row 1
      values.fill(0, hidden, hidden + Math.min(blockSize, hidden));
      const g = new GraphBuilder({ name: 'embed' });
      const config = { llm: { vocabSize: vocab, hiddenSize: hidden } } as InternVLConfig;
      const src = {
        shape: () => [vocab, hidden],
        float32: () => Promise.resolve(values),
      };
      await buildEmbedGraph(g, config, src, { kind: 'nbits', bits, blockSize, zeroPoint, accuracyLevel: 4 });
      const ids = [3, 0, vocab - 1, 3, 1, 2];
      const out = (await runGraph(g, { input_ids: i64(ids, [2, 3]) }))['inputs_embeds'];
      expect(out.type).toBe('float32');
      expect(out.dims).toEqual([2, 3, hidden]);
      const q = quantizeMatrix(values, vocab, hidden, { bits, blockSize, zeroPoint });
      expect(mismatches(out.data as Float32Array, dequantizeMatrix(q), ids, hidden)).toBe(0);
      // and it is really quantized: not the float table
      expect(mismatches(out.data as Float32Array, values, ids, hidden)).toBeGreaterThan(0);
    },
  );

  it('4-bit with an odd hidden size is refused (the op would return hidden + 1 columns)', async () => {
    const g = new GraphBuilder({ name: 'embed' });
    const config = { llm: { vocabSize: 4, hiddenSize: 21 } } as InternVLConfig;
    const src = { shape: () => [4, 21], float32: () => Promise.resolve(randomFloats(84, 1)) };
    await expect(
      buildEmbedGraph(g, config, src, {
        kind: 'nbits',
        bits: 4,
        blockSize: 16,
        zeroPoint: false,
        accuracyLevel: 4,
      }),
    ).rejects.toThrow(/odd hidden size 21.*--no-quantize-embeddings/);
  });

  it('unpaddedRows drops MatMulNBits padding of the last block and is the same buffer when there is none', () => {
    const w = randomFloats(3 * 40, 1);
    const padded: QuantizedMatrix = quantizeMatrix(w, 3, 40, { bits: 4, blockSize: 32, zeroPoint: false });
    const rows = unpaddedRows(padded);
    expect(rows.length).toBe(3 * 20);
    for (let r = 0; r < 3; r++)
      expect(rows.subarray(r * 20, r * 20 + 20)).toEqual(padded.data.subarray(r * 32, r * 32 + 20));
    const whole = quantizeMatrix(randomFloats(3 * 64, 2), 3, 64, {
      bits: 8,
      blockSize: 32,
      zeroPoint: false,
    });
    expect(unpaddedRows(whole)).toBe(whole.data);
  });
});

describe('built embed.onnx with quantized tok_embeddings', () => {
  const V = 512;
  const H = 64;
  let root: string;
  let ckptDir: string;
  let table: Float32Array;
  const ids = [0, 1, 17, 300, 42, 511, 7, 99, 250, 17];

  async function build(opts: Omit<BuildOptions, 'cacheDir'>) {
    return buildModel(ckptDir, { ...opts, cacheDir: path.join(root, 'cache') });
  }

  async function embed(dir: string): Promise<Float32Array> {
    const s = await ort.InferenceSession.create(path.join(dir, 'embed.onnx'), {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
    });
    try {
      const out = (await s.run({ input_ids: i64(ids, [2, ids.length / 2]) }))['inputs_embeds'];
      expect(out.dims).toEqual([2, ids.length / 2, H]);
      return out.data as Float32Array;
    } finally {
      await s.release();
    }
  }

  async function dataBytes(dir: string): Promise<number> {
    return (await stat(path.join(dir, 'embed.onnx.data'))).size;
  }

  let fp16Dir: string;
  let fp16Embeds: Float32Array;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'graph-embed-quant-'));
    ckptDir = path.join(root, 'ckpt');
    await writeTinyCheckpoint(ckptDir, { seed: 3, vocabSize: V });
    const ckpt = await openCheckpoint(ckptDir);
    try {
      table = await ckpt.tensor(TOK_EMBEDDINGS).toFloat32();
    } finally {
      await ckpt.close();
    }
    const fp16 = await build({ variant: 'fp16' });
    expect(fp16.info.weights.embed).toBe('fp16');
    fp16Dir = fp16.dir;
    fp16Embeds = await embed(fp16Dir);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it.each([
    // embed.onnx.data = packed data + float32 scales (zero points of 512 bytes stay inline, < 1 KiB):
    // (bits/8 + 4/block) / 2 bytes of fp16 per element.
    // maxRel = one step / max |block|: 1/2^(bits-1) symmetric, 2/(2^bits-1) with zero points (range [min(0,lo),
    // max(0,hi)] <= 2 max |block|). Measured (seed 3, 10 rows): int8 4.3e-3, int4 8.5e-2, int4 zp 4.7e-2, int4 b16 8.5e-2.
    {
      variant: 'int8' as const,
      bits: 8 as Bits,
      zeroPoint: false,
      blockSize: 32,
      ratio: 0.5625,
      maxRel: 1 / 128,
    },
    {
      variant: 'int4' as const,
      bits: 4 as Bits,
      zeroPoint: false,
      blockSize: 32,
      ratio: 0.3125,
      maxRel: 1 / 8,
    },
    {
      variant: 'int4' as const,
      bits: 4 as Bits,
      zeroPoint: true,
      blockSize: 32,
      ratio: 0.3125,
      maxRel: 2 / 15,
    },
    {
      variant: 'int4' as const,
      bits: 4 as Bits,
      zeroPoint: false,
      blockSize: 16,
      ratio: 0.375,
      maxRel: 1 / 8,
    },
  ])(
    '$variant zero points $zeroPoint block $blockSize: exact dequantised rows, RTN error bound, data ratio $ratio',
    async ({ variant, bits, zeroPoint, blockSize, ratio, maxRel }) => {
      const r = await build({ variant, zeroPoint, blockSize });
      expect(r.info.weights.embed).toBe(variant);
      const got = await embed(r.dir);
      const q = quantizeMatrix(table, V, H, { bits, blockSize, zeroPoint });
      const deq = dequantizeMatrix(q);
      expect(mismatches(got, deq, ids, H)).toBe(0);

      // vs the fp16 table (exact for this bf16 checkpoint): |err| <= 1 step (the block's scale). Round to nearest
      // gives half a step, but the grid is one-sided: symmetric MLAS RTN maps the value of largest magnitude to
      // -2^(bits-1), so a value of the opposite sign and (nearly) the same magnitude lands on +2^(bits-1) and is
      // clamped to 2^(bits-1)-1; with zero points the rounded zero point clamps the top end the same way.
      // Relative to max |table| over the gathered rows: within maxRel.
      let worst = 0;
      let scaleMax = 0;
      for (let j = 0; j < ids.length; j++) {
        for (let c = 0; c < H; c++) {
          const step = Math.abs(q.scales[ids[j] * q.kBlocks + Math.floor(c / blockSize)]);
          const err = Math.abs(got[j * H + c] - fp16Embeds[j * H + c]);
          expect(err).toBeLessThanOrEqual(step * (1 + 1e-6));
          worst = Math.max(worst, err);
          scaleMax = Math.max(scaleMax, Math.abs(fp16Embeds[j * H + c]));
        }
      }
      expect(worst / scaleMax).toBeLessThanOrEqual(maxRel);
      expect(worst).toBeGreaterThan(0);

      expect((await dataBytes(r.dir)) / (await dataBytes(fp16Dir))).toBe(ratio);
    },
  );

  it('quantizeEmbeddings: false keeps the fp16 table (exact fp16 rows, same file size); it is in the cache key', async () => {
    const r = await build({ variant: 'int4', quantizeEmbeddings: false });
    expect(r.info.weights).toMatchObject({ embed: 'fp16', decoder: 'int4' });
    expect(
      mismatches(
        await embed(r.dir),
        fp16Embeds,
        ids.map((_, j) => j),
        H,
      ),
    ).toBe(0);
    expect(await dataBytes(r.dir)).toBe(await dataBytes(fp16Dir));
    const def = await build({ variant: 'int4' });
    expect(def.dir).not.toBe(r.dir);
    const hash = r.info.checkpointHash;
    expect(cacheKey(hash, resolveOptions({ variant: 'int8', quantizeEmbeddings: true }))).toBe(
      cacheKey(hash, resolveOptions({ variant: 'int8' })),
    );
    expect(resolveOptions({ variant: 'int8' }).quantizeEmbeddings).toBe(true);
    expect(resolveOptions({ variant: 'fp16', quantizeEmbeddings: false }).quantizeEmbeddings).toBe(false);
    expect(() => resolveOptions({ variant: 'fp32', quantizeEmbeddings: true })).toThrow(/int8\/int4 only/);
  });

  it('CLI: int8 quantizes the table by default; --no-quantize-embeddings keeps fp16 (build.json weights.embed)', async () => {
    const cli = async (args: string[]) =>
      JSON.parse(
        (
          await promisify(execFile)(
            process.execPath,
            [
              'bin/internvl-eval.js',
              'build',
              '--model',
              ckptDir,
              '--cache-dir',
              path.join(root, 'cli'),
              '--json',
              ...args,
            ],
            { encoding: 'utf8' },
          )
        ).stdout,
      ) as { dir: string; info: { weights: { embed: string; decoder: string } } };
    const def = await cli(['--variant', 'int8']);
    expect(def.info.weights).toMatchObject({ embed: 'int8', decoder: 'int8' });
    const off = await cli(['--variant', 'int8', '--no-quantize-embeddings']);
    expect(off.info.weights).toMatchObject({ embed: 'fp16', decoder: 'int8' });
    expect(off.dir).not.toBe(def.dir);
    const help = (
      await promisify(execFile)(process.execPath, ['bin/internvl-eval.js', 'build', '--help'], {
        encoding: 'utf8',
      })
    ).stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(
      /--quantize-embeddings .*GatherBlockQuantized.*--no-quantize-embeddings keeps it fp16/,
    );
  }, 30_000);
});
