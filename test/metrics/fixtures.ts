// Loads the case tables made by scripts/metrics/make_fixtures.py (expected values from the Python re-statement
// of the reference scorers in scripts/metrics/reference.py).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')) as T;
}

/** JSON cannot hold NaN / ±Infinity; the fixture maker writes them as strings. */
export function num(v: number | string | null): number | null {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return v as number | null;
}
