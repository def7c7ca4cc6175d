import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { regroupWqkv, rotaryTables } from '../../../src/model/graph/decoder-graph.ts';
import {
  ALIGNMENT_BYTES,
  DataType,
  ExternalDataWriter,
  GraphBuilder,
  EXTERNAL_THRESHOLD_BYTES,
} from '../../../src/model/graph/onnx-builder.ts';
import { pixelShuffle } from '../../../src/model/graph/vision-graph.ts';
import { f32, runGraph } from './ort-helpers.ts';

const tmpDirs: string[] = [];
afterAll(async () => {
  await Promise.all(tmpDirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** PyTorch-style permute of a contiguous row-major array. */
function permute(x: Float32Array, shape: number[], perm: number[]): { data: Float32Array; shape: number[] } {
  const outShape = perm.map((p) => shape[p]);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(x.length);
  const idx = new Array(outShape.length).fill(0);
  for (let o = 0; o < x.length; o++) {
    let src = 0;
    for (let d = 0; d < idx.length; d++) src += idx[d] * strides[perm[d]];
    out[o] = x[src];
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/**
 * The reference's pixel_shuffle step by step (IVL `InternVLChatModel.pixel_shuffle`, with .view = reshape of the
 * contiguous tensor): x [n, w, h, c] -> view(n, w, h*s, c/s) -> permute(0,2,1,3) -> view(n, h*s, w*s, c/(s*s))
 * -> (v2) permute(0,2,1,3); then extract_feature reshapes to [n, -1, C'].
 */
function referencePixelShuffle(
  x: Float32Array,
  n: number,
  grid: number,
  c: number,
  scale: number,
  v: 'v1' | 'v2',
): Float32Array {
  const s1 = [n, grid, grid * scale, c / scale];
  let t = permute(x, s1, [0, 2, 1, 3]);
  const s2 = [n, grid * scale, grid * scale, c / (scale * scale)];
  if (v === 'v2') t = permute(t.data, s2, [0, 2, 1, 3]);
  return t.data;
}

describe('pixel shuffle graph (B.3)', () => {
  it.each([
    { version: 'v2' as const, grid: 4, c: 3, n: 2 },
    { version: 'v1' as const, grid: 4, c: 3, n: 1 },
    { version: 'v2' as const, grid: 6, c: 2, n: 1 },
  ])('matches the reference view/permute chain: %o', async ({ version, grid, c, n }) => {
    const x = Float32Array.from({ length: n * grid * grid * c }, (_, i) => i);
    const g = new GraphBuilder({ name: 'ps' });
    const y = pixelShuffle(g, g.input('x', DataType.FLOAT, [n, grid * grid, c]), grid, c, 2, version);
    g.output(y, 'y', DataType.FLOAT, [n, (grid * grid) / 4, 4 * c]);
    const out = (await runGraph(g, { x: f32(x, [n, grid * grid, c]) }))['y'];
    expect(out.dims).toEqual([n, (grid * grid) / 4, 4 * c]);
    expect(Array.from(out.data as Float32Array)).toEqual(
      Array.from(referencePixelShuffle(x, n, grid, c, 0.5, version)),
    );
  });

  it('v2 hand-computed: token t = i2*(g/2)+j2, channel dy*2C + dx*C + c', async () => {
    // grid 4, C 1: value = token index row*4 + col.
    const x = Float32Array.from({ length: 16 }, (_, i) => i);
    const g = new GraphBuilder({ name: 'ps' });
    g.output(
      pixelShuffle(g, g.input('x', DataType.FLOAT, [1, 16, 1]), 4, 1, 2, 'v2'),
      'y',
      DataType.FLOAT,
      [1, 4, 4],
    );
    const out = (await runGraph(g, { x: f32(x, [1, 16, 1]) }))['y'].data as Float32Array;
    // token (i2=0,j2=1): pixels (0,2) (0,3) (1,2) (1,3) -> 2, 3, 6, 7
    expect(Array.from(out)).toEqual([0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]);
  });
});

describe('regroupWqkv (B.5)', () => {
  it('hand-computed: KV 2, groups 2, head_dim 1 -> [Q0 Q1 Q2 Q3 | K0 K1 | V0 V1]', () => {
    // packed rows per KV head g: [Q 2g, Q 2g+1, K g, V g]; one column, value = a label per row
    const labels = ['Q0', 'Q1', 'K0', 'V0', 'Q2', 'Q3', 'K1', 'V1'];
    const w = Float32Array.from(labels.keys());
    const out = regroupWqkv(w, 2, 2, 1, 1);
    expect(Array.from(out, (i) => labels[i])).toEqual(['Q0', 'Q1', 'Q2', 'Q3', 'K0', 'K1', 'V0', 'V1']);
  });

  it('keeps whole head_dim × hidden blocks together (head_dim 2, hidden 3, groups 1)', () => {
    // rows: [Q0 (2 rows), K0, V0, Q1, K1, V1]; each row = 3 values
    const w = Float32Array.from({ length: 6 * 2 * 3 }, (_, i) => i);
    const out = regroupWqkv(w, 2, 1, 2, 3);
    const row = (r: number) => Array.from(w.subarray(r * 3, r * 3 + 3));
    const expectedRows = [0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11].map(row).flat();
    expect(Array.from(out)).toEqual(expectedRows);
  });

  it('rejects a wrong size', () => {
    expect(() => regroupWqkv(new Float32Array(10), 2, 2, 1, 1)).toThrow(/expected \[8, 1\]/);
  });
});

describe('rotaryTables (B.6)', () => {
  it('angle(p, j) = p / theta^(2j/d)', () => {
    const { cos, sin } = rotaryTables(5, 4, 10000);
    expect(cos[0]).toBe(1);
    expect(sin[3 * 2 + 0]).toBeCloseTo(Math.sin(3), 6);
    expect(cos[4 * 2 + 1]).toBeCloseTo(Math.cos(4 / 100), 6);
  });
});

describe('GraphBuilder / external data', () => {
  it('writes big tensors to the data file (64 KiB aligned above 1 MB), small ones inline, and ORT loads it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'graph-ext-'));
    tmpDirs.push(dir);
    const data = new ExternalDataWriter(path.join(dir, 'm.onnx.data'));
    const g = new GraphBuilder({ name: 'ext', externalData: data });
    const x = g.input('x', DataType.FLOAT, [1]);
    const small = g.initF32('small', [3], Float32Array.from([1, 2, 3])); // 12 bytes: inline
    const mid = g.initF32('mid', [300], new Float32Array(300).fill(2)); // 1200 bytes: external, unaligned
    const big = g.initF32('big', [300000], new Float32Array(300000).fill(3)); // 1.2 MB: external, aligned
    const sum = (t: string) => g.op('ReduceSum', [t], { keepdims: 0 });
    const y = g.op('Add', [x, g.op('Add', [sum(small), g.op('Add', [sum(mid), sum(big)])])]);
    g.output(y, 'y', DataType.FLOAT, [1]);
    data.close();
    const model = g.toModel();
    const inits = model.graph!.initializer!;
    const offsetOf = (name: string) =>
      Number(inits.find((t) => t.name === name)!.externalData?.find((e) => e.key === 'offset')?.value);
    expect(inits.find((t) => t.name === 'small')!.rawData?.length).toBe(12);
    expect(offsetOf('mid')).toBe(0);
    expect(offsetOf('big') % ALIGNMENT_BYTES).toBe(0);
    expect(offsetOf('big')).toBeGreaterThan(0);
    expect(1200).toBeGreaterThanOrEqual(EXTERNAL_THRESHOLD_BYTES);
    expect((await stat(path.join(dir, 'm.onnx.data'))).size).toBe(ALIGNMENT_BYTES + 1200000);
    await writeFile(path.join(dir, 'm.onnx'), g.encode());
    const s = await ort.InferenceSession.create(path.join(dir, 'm.onnx'));
    const out = await s.run({ x: f32([0.5], [1]) });
    expect((out['y'].data as Float32Array)[0]).toBeCloseTo(0.5 + 6 + 600 + 900000, 0);
    await s.release();
    expect((await readFile(path.join(dir, 'm.onnx'))).includes(Buffer.from(dir))).toBe(false);
  });

  it('refuses duplicate value names and float attributes given as plain numbers', () => {
    const g = new GraphBuilder({ name: 'dup' });
    g.input('a', DataType.FLOAT, [1]);
    expect(() => g.initF32('a', [1], new Float32Array(1))).toThrow(/used twice/);
    expect(() => g.op('LeakyRelu', ['a'], { alpha: 0.1 })).toThrow(/float\(\)/);
  });
});
