import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../../src/model/checkpoint/checkpoint.ts';
import { tempDir } from './helpers.ts';

const run = promisify(execFile);

describe('internvl-eval make-checkpoint', () => {
  it('--tiny --out DIR --seed S writes a checkpoint that opens; tiny is the default; --tiny contradicts --size full', async () => {
    const tmp = await tempDir('cli-ckpt-');
    try {
      const out = path.join(tmp.dir, 'm');
      const { stdout } = await run(process.execPath, [
        'bin/internvl-eval.js',
        'make-checkpoint',
        '--tiny',
        '--out',
        out,
        '--seed',
        '4',
      ]);
      expect(stdout).toContain(
        `wrote ${out}: config.json, generation_config.json, model.safetensors, tokenizer.model`,
      );
      expect(stdout).toContain('seed 4');
      const ckpt = await openCheckpoint(out);
      expect(ckpt.config.template).toBe('internlm2-chat');
      expect(JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8')).llm_config.vocab_size).toBe(
        ckpt.config.llm.vocabSize,
      );
      await ckpt.close();
      const plain = path.join(tmp.dir, 'plain');
      const second = await run(process.execPath, ['bin/internvl-eval.js', 'make-checkpoint', '--out', plain]);
      expect(second.stdout).toContain('(tiny, ');
      await expect(
        run(process.execPath, [
          'bin/internvl-eval.js',
          'make-checkpoint',
          '--tiny',
          '--size',
          'full',
          '--out',
          out,
        ]),
      ).rejects.toMatchObject({
        stderr: expect.stringContaining('--tiny contradicts --size full'),
      });
    } finally {
      await tmp.cleanup();
    }
  });
});
