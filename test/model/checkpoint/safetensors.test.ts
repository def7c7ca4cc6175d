import { readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  readSafetensorsHeader,
  SafetensorsStore,
  writeSafetensors,
} from '../../../src/model/checkpoint/safetensors.ts';
import { tempDir } from './helpers.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir('st-')));
afterEach(() => cleanup());

/** Build a raw safetensors file from a header object and data bytes (for malformed cases). */
async function rawFile(file: string, header: unknown, data: Uint8Array): Promise<void> {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  await writeFile(file, Buffer.concat([len, json, data]));
}

describe('writeSafetensors -> SafetensorsStore round trip', () => {
  const values = [0.5, -1.25, 3, 0, 1e-3, 7.5];
  it.each(['F32', 'F16', 'BF16'] as const)('%s', async (dtype) => {
    const file = path.join(dir, 'a.safetensors');
    await writeSafetensors(
      file,
      { x: { dtype, shape: [2, 3], values }, y: { dtype, shape: [1], values: [2] } },
      { format: 'pt' },
    );
    const header = await readSafetensorsHeader(file);
    expect(header.metadata).toEqual({ format: 'pt' });
    expect((8 + header.headerLength) % 8).toBe(0); // header padded so data starts aligned
    const store = await SafetensorsStore.open(file);
    try {
      expect(store.names).toEqual(['x', 'y']);
      const x = store.entry('x');
      expect(x).toMatchObject({ dtype, shape: [2, 3], file, byteLength: 6 * (dtype === 'F32' ? 4 : 2) });
      expect(x.byteOffset).toBe(8 + header.headerLength);
      const got = Array.from(await store.toFloat32('x'));
      const tol = dtype === 'F32' ? 1e-7 : dtype === 'F16' ? 1e-3 : 1e-2;
      got.forEach((g, i) =>
        expect(Math.abs(g - values[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(values[i]))),
      );
      expect(Array.from(await store.toFloat32('y'))).toEqual([2]);
      // The byte range in the entry is exactly the tensor's bytes in the file (usable as ONNX external data).
      const fileBytes = await readFile(file);
      expect(Buffer.from(fileBytes.subarray(x.byteOffset, x.byteOffset + x.byteLength))).toEqual(
        Buffer.from(await store.readBytes('x')),
      );
    } finally {
      await store.close();
    }
  });

  it('writes pre-encoded bytes as is', async () => {
    const file = path.join(dir, 'b.safetensors');
    await writeSafetensors(file, {
      b: { dtype: 'BF16', shape: [2], bytes: new Uint8Array([0x80, 0x3f, 0x00, 0xc0]) },
    });
    const store = await SafetensorsStore.open(file);
    expect(Array.from(await store.toFloat32('b'))).toEqual([1, -2]);
    await store.close();
  });

  it('rejects values that do not fill the shape', async () => {
    await expect(
      writeSafetensors(path.join(dir, 'c.safetensors'), { c: { dtype: 'F32', shape: [3], values: [1, 2] } }),
    ).rejects.toThrow('tensor "c" has 8 bytes, F32 [3] needs 12');
  });
});

describe('sharded checkpoints', () => {
  it('reads model.safetensors.index.json and its shards', async () => {
    await writeSafetensors(path.join(dir, 'model-00001-of-00002.safetensors'), {
      a: { dtype: 'F32', shape: [2], values: [1, 2] },
    });
    await writeSafetensors(path.join(dir, 'model-00002-of-00002.safetensors'), {
      b: { dtype: 'BF16', shape: [1], values: [3] },
    });
    await writeFile(
      path.join(dir, 'model.safetensors.index.json'),
      JSON.stringify({
        metadata: { total_size: 10 },
        weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' },
      }),
    );
    const store = await SafetensorsStore.open(dir);
    expect(store.headers.map((h) => path.basename(h.file))).toEqual([
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
    expect(Array.from(await store.toFloat32('a'))).toEqual([1, 2]);
    expect(Array.from(await store.toFloat32('b'))).toEqual([3]);
    expect(store.entry('b').file).toBe(path.join(dir, 'model-00002-of-00002.safetensors'));
    await store.close();
  });

  it('names a tensor the index maps to a shard that lacks it', async () => {
    await writeSafetensors(path.join(dir, 's1.safetensors'), {
      a: { dtype: 'F32', shape: [1], values: [1] },
    });
    const index = path.join(dir, 'model.safetensors.index.json');
    await writeFile(index, JSON.stringify({ weight_map: { a: 's1.safetensors', zz: 's1.safetensors' } }));
    await expect(SafetensorsStore.open(dir)).rejects.toThrow(
      `${index}: weight_map puts tensor "zz" in s1.safetensors, but that file has no such tensor`,
    );
  });

  it('names a missing shard', async () => {
    const index = path.join(dir, 'model.safetensors.index.json');
    await writeFile(index, JSON.stringify({ weight_map: { a: 'nope.safetensors' } }));
    await expect(SafetensorsStore.open(dir)).rejects.toThrow(
      `${index}: shard nope.safetensors listed in weight_map does not exist`,
    );
  });
});

describe('malformed safetensors files', () => {
  it('truncated data: names the file and the tensor that runs past the end', async () => {
    const file = path.join(dir, 'model.safetensors');
    await writeSafetensors(file, {
      first: { dtype: 'F32', shape: [4], values: [1, 2, 3, 4] },
      last: { dtype: 'F32', shape: [4], values: [1, 2, 3, 4] },
    });
    const { headerLength, fileSize } = await readSafetensorsHeader(file);
    await truncate(file, fileSize - 3);
    await expect(readSafetensorsHeader(file)).rejects.toThrow(
      `${file}: tensor "last": truncated safetensors file: data ends at byte ${8 + headerLength + 32} but the file has ${fileSize - 3} bytes`,
    );
  });

  it('truncated header', async () => {
    const file = path.join(dir, 'h.safetensors');
    await writeSafetensors(file, { a: { dtype: 'F32', shape: [1], values: [1] } });
    await truncate(file, 20);
    await expect(readSafetensorsHeader(file)).rejects.toThrow(
      `${file}: truncated safetensors file: header needs`,
    );
    await truncate(file, 5);
    await expect(readSafetensorsHeader(file)).rejects.toThrow(
      `${file}: truncated safetensors file (5 bytes, no header length)`,
    );
  });

  it('unknown dtype: names the tensor and the dtype', async () => {
    const file = path.join(dir, 'd.safetensors');
    await rawFile(file, { w: { dtype: 'I8', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2));
    await expect(readSafetensorsHeader(file)).rejects.toThrow(
      `${file}: tensor "w": unsupported dtype I8 (supported: BF16, F16, F32)`,
    );
  });

  it('offsets that disagree with shape and dtype', async () => {
    const file = path.join(dir, 'o.safetensors');
    await rawFile(file, { w: { dtype: 'F16', shape: [3], data_offsets: [0, 4] } }, new Uint8Array(4));
    await expect(readSafetensorsHeader(file)).rejects.toThrow(
      `${file}: tensor "w": data_offsets [0, 4] hold 4 bytes but F16 [3] needs 6`,
    );
  });

  it('absurd header length (not a safetensors file)', async () => {
    const file = path.join(dir, 'x.safetensors');
    const buf = Buffer.alloc(16);
    buf.writeBigUInt64LE(10n ** 12n);
    await writeFile(file, buf);
    await expect(readSafetensorsHeader(file)).rejects.toThrow(
      'exceeds 100000000 bytes (not a safetensors file?)',
    );
  });

  it('header that is not JSON', async () => {
    const file = path.join(dir, 'j.safetensors');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(3n);
    await writeFile(file, Buffer.concat([len, Buffer.from('{x]')]));
    await expect(readSafetensorsHeader(file)).rejects.toThrow(
      `${file}: safetensors header is not valid UTF-8 JSON`,
    );
  });

  it('a folder without safetensors', async () => {
    await expect(SafetensorsStore.open(dir)).rejects.toThrow(
      `${dir}: no model.safetensors or model.safetensors.index.json`,
    );
  });
});
