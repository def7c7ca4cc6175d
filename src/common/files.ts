/** Small file-system questions several layers ask: does a path exist, what is a file's digest. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';

/** True when `p` exists (a symlink counts when its target does, as `stat` follows it). */
export async function pathExists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Hex digest of a file's bytes, streamed (files of many GB never sit in memory). */
export async function fileDigest(file: string, algorithm: 'sha256' | 'md5'): Promise<string> {
  const h = createHash(algorithm);
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

export const sha256File = (file: string): Promise<string> => fileDigest(file, 'sha256');
/** VLMEvalKit publishes md5 sums of its TSVs. */
export const md5File = (file: string): Promise<string> => fileDigest(file, 'md5');
