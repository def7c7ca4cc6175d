/**
 * Dataset files name other files (images, videos, frame folders) by relative path. Every such path must resolve
 * inside the dataset root: a row holding `../../etc/passwd` (or an absolute path, or a symlink pointing out) is
 * refused, never read.
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export class PathEscapeError extends Error {}

/** `root/rel`, or throws when `rel` is absolute, holds a NUL byte, or climbs out of `root`. Pure string check. */
export function resolveInside(root: string, rel: string): string {
  if (rel.includes('\0')) throw new PathEscapeError(`path ${JSON.stringify(rel)} holds a NUL byte`);
  if (path.isAbsolute(rel)) {
    throw new PathEscapeError(
      `path ${JSON.stringify(rel)} is absolute; dataset paths must be relative to ${root}`,
    );
  }
  const base = path.resolve(root);
  const abs = path.resolve(base, rel);
  if (!isInside(base, abs))
    throw new PathEscapeError(`path ${JSON.stringify(rel)} escapes the dataset root ${base}`);
  return abs;
}

function isInside(base: string, abs: string): boolean {
  const r = path.relative(base, abs);
  return r === '' || (!r.startsWith('..' + path.sep) && r !== '..' && !path.isAbsolute(r));
}

/**
 * A Hugging Face cache snapshot (`…/snapshots/<commit>/`) holds symlinks to `…/blobs/<etag>` beside it
 * (huggingface_hub layout): those links are the one way out of the root we accept.
 */
function isHubBlobOf(realRoot: string, real: string): boolean {
  if (path.basename(path.dirname(realRoot)) !== 'snapshots') return false;
  const blobs = path.join(path.dirname(path.dirname(realRoot)), 'blobs');
  return path.dirname(real) === blobs;
}

export type ExistingPath = { path: string; isDir: boolean } | { error: string };

/**
 * Resolves `rel` inside `root` and checks that it exists, following symlinks: the real path must stay inside the
 * real root too. Returns a reason instead of throwing, for SampleErrors.
 */
export async function existingInside(root: string, rel: string): Promise<ExistingPath> {
  let abs: string;
  try {
    abs = resolveInside(root, rel);
  } catch (e) {
    return { error: (e as Error).message };
  }
  let real: string;
  try {
    real = await realpath(abs);
  } catch {
    return { error: `file not found: ${abs}` };
  }
  const realRoot = await realpath(path.resolve(root)).catch(() => path.resolve(root));
  if (!isInside(realRoot, real) && !isHubBlobOf(realRoot, real)) {
    return {
      error: `path ${JSON.stringify(rel)} resolves (through a link) outside the dataset root ${realRoot}`,
    };
  }
  const st = await stat(real);
  return { path: abs, isDir: st.isDirectory() };
}
