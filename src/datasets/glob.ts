/**
 * Minimal path globs for task sources (`DocVQA/validation-*.parquet`, `json/*.json`): `*` and `?` match within one
 * path segment, `**` matches any number of segments. Used on local folders and on a hub repo's file list.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';

export function isGlob(p: string): boolean {
  return /[*?]/.test(p);
}

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` = zero or more whole segments
      if (glob[i + 2] === '/') {
        re += '(?:[^/]+/)*';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Files (posix paths relative to `root`) matching `pattern`, sorted. */
export async function expandGlob(root: string, pattern: string): Promise<string[]> {
  const re = globToRegExp(pattern);
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(path.join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (re.test(r)) out.push(r);
    }
  };
  // Walk only below the pattern's literal leading folders (an image folder beside it is never listed).
  const segs = pattern.split('/');
  const fixed: string[] = [];
  while (segs.length > 1 && !isGlob(segs[0])) fixed.push(segs.shift()!);
  await walk(fixed.join('/'));
  return out.sort();
}
