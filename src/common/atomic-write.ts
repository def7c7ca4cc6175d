/**
 * Whole-file writes that readers never see half-done: write a temp file in the same folder, then rename it over
 * the target (rename is atomic within one file system). A kill leaves either the old file or the new one, and at
 * worst a stray temp file, never a truncated target.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';

let written = 0;

/** The temp name: same folder (same file system); pid + counter so no two writers, async or not, share one. */
function tempPath(file: string): string {
  return `${file}.tmp-${process.pid}-${written++}`;
}

export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const tmp = tempPath(file);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPath(file);
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
