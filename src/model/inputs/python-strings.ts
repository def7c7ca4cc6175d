/**
 * Python `str` whitespace semantics, for code that copies `.strip()` / `.split()` from the reference scripts.
 * Python's `str.isspace` set differs from JavaScript's `\s`: it includes U+001C..U+001F and U+0085, and does not
 * include U+FEFF (which `String.prototype.trim` removes).
 */
export const PY_WHITESPACE =
  '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const LEADING = new RegExp(`^[${PY_WHITESPACE}]+`);
const TRAILING = new RegExp(`[${PY_WHITESPACE}]+$`);

/** Python `s.strip()`. */
export function pyStrip(s: string): string {
  return pyRstrip(pyLstrip(s));
}

/** Python `s.lstrip()`. */
export function pyLstrip(s: string): string {
  return s.replace(LEADING, '');
}

/** Python `s.rstrip()`. */
export function pyRstrip(s: string): string {
  return s.replace(TRAILING, '');
}
