import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyCheckpoint } from './tiny-fixture.ts';

const run = promisify(execFile);
const cli = (args: string[]) =>
  run(process.execPath, ['bin/internvl-eval.js', 'build', ...args], { encoding: 'utf8' });

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'graph-cli-'));
  await writeTinyCheckpoint(path.join(root, 'ckpt'), { seed: 1, vocabSize: 256 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('internvl-eval build', () => {
  it('builds, then reports the cached build; --json prints the result', async () => {
    const out = path.join(root, 'built');
    const first = await cli([
      '--model',
      path.join(root, 'ckpt'),
      '--variant',
      'int4',
      '--block-size',
      '16',
      '--out',
      out,
    ]);
    expect(first.stdout).toBe(`built int4: ${out}\n`);
    const second = await cli([
      '--model',
      path.join(root, 'ckpt'),
      '--variant',
      'int4',
      '--block-size',
      '16',
      '--out',
      out,
      '--json',
    ]);
    const json = JSON.parse(second.stdout);
    expect(json).toMatchObject({
      dir: out,
      cached: true,
      info: { variant: 'int4', logits: 'last', quant: { blockSize: 16, zeroPoint: false, accuracyLevel: 4 } },
    });
  }, 30_000);

  it('--help states the accuracy-level default (4) and the exact level 0, and --all-logits', async () => {
    const { stdout } = await cli(['--help']);
    const help = stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(/--accuracy-level .*default 4 .*0 = exact fp32 activations/);
    expect(help).toMatch(/--all-logits .*every position/);
  }, 30_000);

  it('fails clearly on a bad option', async () => {
    await expect(
      cli(['--model', path.join(root, 'ckpt'), '--variant', 'int8', '--block-size', '20']),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining('block size must be a power of two'),
    });
  }, 30_000);
});
