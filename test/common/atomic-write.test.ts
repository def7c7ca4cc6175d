import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/common/atomic-write.ts';

const writers = [
  { name: 'sync', write: async (f: string, d: string | Uint8Array) => writeFileAtomicSync(f, d) },
  { name: 'async', write: writeFileAtomic },
];

describe.each(writers)('atomic write ($name)', ({ write }) => {
  it('creates, then replaces, the file and leaves no temp file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'atomic-'));
    const file = path.join(dir, 'a.json');
    await write(file, 'one');
    await write(file, new TextEncoder().encode('two'));
    expect(readFileSync(file, 'utf8')).toBe('two');
    expect(readdirSync(dir)).toEqual(['a.json']);
  });

  it('keeps the old file and removes the temp file when the rename fails', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'atomic-'));
    const target = path.join(dir, 'taken');
    writeFileSync(path.join(dir, 'keep.txt'), 'old');
    // A rename onto a non-empty folder fails; the temp file must not stay behind.
    mkdirSync(path.join(target, 'inside'), { recursive: true });
    await expect(write(target, 'new')).rejects.toThrow();
    expect(readdirSync(dir).sort()).toEqual(['keep.txt', 'taken']);
    expect(readFileSync(path.join(dir, 'keep.txt'), 'utf8')).toBe('old');
  });
});
