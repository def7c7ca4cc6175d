import { cp, readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { openCheckpoint } from '../../../src/model/checkpoint/checkpoint.ts';
import { readSafetensorsHeader } from '../../../src/model/checkpoint/safetensors.ts';
import { tempDir, writeCheckpoint } from './helpers.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir('ckpt-')));
afterEach(() => cleanup());

describe('openCheckpoint on a valid checkpoint', () => {
  it('exposes config, tensors with byte ranges, and decoded values', async () => {
    const written = await writeCheckpoint(dir);
    await writeFile(path.join(dir, 'tokenizer.model'), 'x');
    await writeFile(path.join(dir, 'tokenizer_config.json'), '{}');
    const ckpt = await openCheckpoint(dir);
    try {
      expect(ckpt.dir).toBe(path.resolve(dir));
      expect(ckpt.config.llm.hiddenSize).toBe(16);
      expect(ckpt.tensorNames).toEqual([...written.keys()]);
      expect(ckpt.extraTensorNames).toEqual([]);
      expect(ckpt.files.tokenizerModel).toBe(path.join(dir, 'tokenizer.model'));
      expect(ckpt.files.tokenizerConfig).toBe(path.join(dir, 'tokenizer_config.json'));
      expect(ckpt.files.generationConfig).toBeNull();
      expect(ckpt.files.safetensors).toEqual([path.join(dir, 'model.safetensors')]);

      const name = 'language_model.model.layers.0.attention.wqkv.weight';
      const t = ckpt.tensor(name);
      expect(t).toMatchObject({ name, dtype: 'BF16', shape: [32, 16], byteLength: 32 * 16 * 2 });
      const values = await t.toFloat32();
      const src = written.get(name)!;
      if (!('values' in src)) throw new Error('expected values');
      // bf16 storage: within one bf16 rounding (2^-8 relative) of the values written.
      values.forEach((v, i) =>
        expect(Math.abs(v - src.values[i])).toBeLessThanOrEqual(Math.abs(src.values[i]) / 256),
      );
      const fileBytes = await readFile(t.file);
      expect(Buffer.from(fileBytes.subarray(t.byteOffset, t.byteOffset + t.byteLength))).toEqual(
        Buffer.from(await t.readBytes()),
      );
      expect(() => ckpt.tensor('nope')).toThrow(`${path.resolve(dir)}: checkpoint has no tensor "nope"`);
    } finally {
      await ckpt.close();
    }
  });

  it('hash: stable across opens and copies, different for another seed or config', async () => {
    await writeCheckpoint(dir, { seed: 1 });
    const a = await openCheckpoint(dir);
    const h1 = await a.hash();
    expect(h1).toMatch(/^[0-9a-f]{64}$/);
    expect(await a.hash()).toBe(h1);
    const full = await a.hash({ full: true });
    expect(full).not.toBe(h1);
    await a.close();

    const other = await tempDir('ckpt-copy-');
    onTestFinished(() => other.cleanup());
    const copy = other.dir;
    await cp(dir, copy, { recursive: true });
    const b = await openCheckpoint(copy);
    expect(await b.hash()).toBe(h1);
    expect(await b.hash({ full: true })).toBe(full);
    await b.close();

    await writeCheckpoint(copy, { seed: 2 }); // same header, other weights
    const c = await openCheckpoint(copy);
    expect(await c.hash()).not.toBe(h1);
    await c.close();

    await writeCheckpoint(copy, { seed: 1, editConfig: (j) => (j.template = 'other') });
    const d = await openCheckpoint(copy);
    expect(await d.hash()).not.toBe(h1);
    await d.close();
  });

  it('lists stored tensors the config does not explain without failing', async () => {
    await writeCheckpoint(dir, {
      edit: (t) => t.set('extra.weight', { dtype: 'F32', shape: [1], values: [0] }),
    });
    const ckpt = await openCheckpoint(dir);
    expect(ckpt.extraTensorNames).toEqual(['extra.weight']);
    await ckpt.close();
  });
});

describe('bad checkpoints fail naming the tensor or key', () => {
  it('missing tensor', async () => {
    await writeCheckpoint(dir, { edit: (t) => t.delete('language_model.model.layers.0.ffn_norm.weight') });
    await expect(openCheckpoint(dir)).rejects.toThrow(
      `${dir}: invalid checkpoint: tensor "language_model.model.layers.0.ffn_norm.weight" is missing (expected shape [16])`,
    );
  });

  it('wrong shape', async () => {
    await writeCheckpoint(dir, {
      edit: (t) => t.set('mlp1.1.weight', { dtype: 'BF16', shape: [16, 16], values: new Float32Array(256) }),
    });
    await expect(openCheckpoint(dir)).rejects.toThrow(
      `${dir}: invalid checkpoint: tensor "mlp1.1.weight" has shape [16, 16], expected [16, 32] from config.json`,
    );
  });

  it('several problems are all listed', async () => {
    await writeCheckpoint(dir, {
      edit: (t) => {
        t.delete('language_model.output.weight');
        t.delete('vision_model.encoder.layers.0.ls1');
      },
    });
    await expect(openCheckpoint(dir)).rejects.toThrow(
      /tensor "vision_model.encoder.layers.0.ls1" is missing \(expected shape \[8\]\); tensor "language_model.output.weight" is missing/,
    );
  });

  it('truncated safetensors', async () => {
    await writeCheckpoint(dir);
    const file = path.join(dir, 'model.safetensors');
    const { fileSize } = await readSafetensorsHeader(file);
    await truncate(file, fileSize - 1);
    await expect(openCheckpoint(dir)).rejects.toThrow(
      new RegExp(
        `^${file}: tensor "language_model.output.weight": truncated safetensors file: data ends at byte ${fileSize} but the file has ${fileSize - 1} bytes$`,
      ),
    );
  });

  it('unknown dtype', async () => {
    await writeCheckpoint(dir);
    const file = path.join(dir, 'model.safetensors');
    // Rewrite one header entry's dtype in place (same length keeps every offset valid): BF16 -> "I16".
    const bytes = await readFile(file);
    const text = bytes.toString('latin1');
    const at = text.indexOf('"dtype":"BF16"', text.indexOf('"mlp1.0.bias"'));
    bytes.write('"dtype":"I16" ', at, 'latin1');
    await writeFile(file, bytes);
    await expect(openCheckpoint(dir)).rejects.toThrow(
      `${file}: tensor "mlp1.0.bias": unsupported dtype I16 (supported: BF16, F16, F32)`,
    );
  });

  it('bad config key', async () => {
    await writeCheckpoint(dir, { editConfig: (j) => (j.vision_config.patch_size = 'big') });
    await expect(openCheckpoint(dir)).rejects.toThrow(
      `${path.join(dir, 'config.json')}: config key "vision_config.patch_size": Invalid input: expected number, received string`,
    );
  });

  it('no config.json / no folder', async () => {
    await expect(openCheckpoint(dir)).rejects.toThrow(`${dir}: no config.json in the checkpoint folder`);
    await expect(openCheckpoint(path.join(dir, 'nope'))).rejects.toThrow(
      `${path.join(dir, 'nope')}: checkpoint folder does not exist`,
    );
  });
});
