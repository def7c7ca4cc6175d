import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileDigest, md5File, pathExists, sha256File } from '../../src/common/files.ts';

describe('file helpers', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'files-'));
  const file = path.join(dir, 'abc.txt');
  writeFileSync(file, 'abc');

  it.each([
    ['sha256', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['md5', '900150983cd24fb0d6963f7d28e17f72'],
  ] as const)('%s digest of "abc" is the standard test vector', async (algorithm, want) => {
    expect(await fileDigest(file, algorithm)).toBe(want);
  });

  it('sha256File and md5File are the two digests', async () => {
    expect(await sha256File(file)).toBe(await fileDigest(file, 'sha256'));
    expect(await md5File(file)).toBe(await fileDigest(file, 'md5'));
  });

  it('pathExists follows symlinks: a dangling link does not exist', async () => {
    symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'dangling'));
    expect(await pathExists(file)).toBe(true);
    expect(await pathExists(dir)).toBe(true);
    expect(await pathExists(path.join(dir, 'dangling'))).toBe(false);
    expect(await pathExists(path.join(dir, 'missing'))).toBe(false);
  });
});
