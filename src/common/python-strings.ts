/**
 * Python string semantics the reference scorers rely on, reproduced for JavaScript strings.
 *
 * The reference scorers (InternVL `internvl_chat/eval/*`, VLMEvalKit `vlmeval/*`) are Python 3, where:
 *  - `str.strip()` / `str.split()` use the `str.isspace()` set, which differs from JS `trim()` / `\s`
 *    (Python includes U+001C..U+001F and U+0085, excludes U+FEFF);
 *  - `len(s)` and indexing count code points, not UTF-16 units;
 *  - `float(text)` accepts `' 12 '`, `'1e3'`, `'1_000'`, `'nan'`, `'-inf'`, `'Infinity'`, and any Unicode decimal
 *    digit (`'١٢'` is 12.0); it rejects `'1,000'`, `'$5'`, `'0x10'`, `'1__0'`;
 *  - `re` patterns on `str` use Unicode `\d` (category Nd), and `.` excludes only `\n`.
 * Values here were checked against CPython 3.11 (Unicode 14.0; see scripts/metrics/make_fixtures.py).
 */

/** Code points where CPython 3.11 `str.isspace()` is true. */
const PY_WHITESPACE = new Set<number>([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002,
  0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

/** All whitespace code points are in the BMP, so per-UTF-16-unit tests are exact. */
export function isPySpace(ch: string): boolean {
  return ch.length > 0 && PY_WHITESPACE.has(ch.charCodeAt(0));
}

/** Python `s.strip(chars)`; with no `chars`, strips the `str.isspace()` set. */
export function pyStrip(s: string, chars?: string): string {
  return pyRstrip(pyLstrip(s, chars), chars);
}

export function pyLstrip(s: string, chars?: string): string {
  let i = 0;
  while (i < s.length && stripMember(s[i], chars)) i++;
  return s.slice(i);
}

export function pyRstrip(s: string, chars?: string): string {
  let j = s.length;
  while (j > 0 && stripMember(s[j - 1], chars)) j--;
  return s.slice(0, j);
}

function stripMember(unit: string, chars: string | undefined): boolean {
  return chars === undefined ? PY_WHITESPACE.has(unit.charCodeAt(0)) : chars.includes(unit);
}

/** Python `s.split()` (no argument): split on runs of `str.isspace()` characters, no empty strings. */
export function pySplit(s: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < s.length; i++) {
    if (PY_WHITESPACE.has(s.charCodeAt(i))) {
      if (start >= 0) out.push(s.slice(start, i));
      start = -1;
    } else if (start < 0) {
      start = i;
    }
  }
  if (start >= 0) out.push(s.slice(start));
  return out;
}

/**
 * Python `s.lower()`. JS `toLowerCase()` applies the same full Unicode lowercase mapping (incl. U+0130 → `i̇` and
 * the final-sigma rule); only Unicode-version differences remain (Node 20: 15.1, CPython 3.11: 14.0).
 */
export function pyLower(s: string): string {
  return s.toLowerCase();
}

/** Python `s.upper()` (full mapping: `'ß'.upper() == 'SS'`). */
export function pyUpper(s: string): string {
  return s.toUpperCase();
}

/** Python `len(s)`: the number of code points. */
export function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Python `s[:n]` (code points). */
export function pySlice(s: string, end: number): string {
  return Array.from(s).slice(0, end).join('');
}

/** Python `s[0]` (first code point), or '' for an empty string (where Python raises IndexError). */
export function pyFirstChar(s: string): string {
  const cp = s.codePointAt(0);
  return cp === undefined ? '' : String.fromCodePoint(cp);
}

/** First code point of every run of ten Unicode decimal digits (CPython 3.11 `unicodedata.decimal(c) == 0`). */
const DECIMAL_ZEROS: readonly number[] = [
  0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xde6, 0xe50,
  0xed0, 0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50, 0x1bb0, 0x1c40,
  0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10, 0x104a0, 0x10d30, 0x11066, 0x110f0,
  0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650, 0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50,
  0x11da0, 0x16a60, 0x16ac0, 0x16b50, 0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950,
  0x1fbf0,
];

/** The value 0..9 of a Unicode decimal digit code point, or -1. */
export function decimalValue(cp: number): number {
  let lo = 0;
  let hi = DECIMAL_ZEROS.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (DECIMAL_ZEROS[mid] <= cp) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (found < 0) return -1;
  const d = cp - DECIMAL_ZEROS[found];
  return d < 10 ? d : -1;
}

/** Characters `float()` strips: Python whitespace less U+001C..U+001F. */
const FLOAT_STRIP = [...PY_WHITESPACE]
  .filter((cp) => cp < 0x1c || cp > 0x1f)
  .map((cp) => String.fromCharCode(cp))
  .join('');

const PY_FLOAT_GRAMMAR = /^[+-]?(?:(?:\d(?:_?\d)*)?\.\d(?:_?\d)*|\d(?:_?\d)*\.?)(?:[eE][+-]?\d(?:_?\d)*)?$/;
const PY_FLOAT_SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;

/**
 * Python `float(text)` for a `str` argument; returns null where Python raises ValueError.
 * CPython (`float_from_string`): Unicode decimal digits → ASCII, Unicode whitespace stripped, then the literal
 * grammar `[sign] (digitpart ["." [digitpart]] | "." digitpart) [exponent]` with single `_` between digits, or
 * `inf` / `infinity` / `nan` in any case. Rounding is correctly rounded like `Number()`.
 */
export function pyFloat(text: string): number | null {
  let ascii = '';
  // CPython turns non-ASCII whitespace into ' ' but then strips only ASCII C whitespace: U+001C..U+001F (which
  // `str.strip()` removes) are NOT stripped by float(), so `float('12\x1f')` is a ValueError.
  for (const ch of pyStrip(text, FLOAT_STRIP)) {
    const cp = ch.codePointAt(0) as number;
    if (cp < 0x80) {
      ascii += ch;
      continue;
    }
    const d = decimalValue(cp);
    if (d < 0) return null; // CPython maps any other non-ASCII character to '?', which never parses
    ascii += String(d);
  }
  const special = PY_FLOAT_SPECIAL.exec(ascii);
  if (special) {
    if (special[2].toLowerCase() === 'nan') return NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  if (!PY_FLOAT_GRAMMAR.test(ascii)) return null;
  return Number(ascii.replaceAll('_', ''));
}

/** Python truthiness of a float: `bool(x)` is false only for 0.0 and -0.0 (NaN is truthy). */
export function pyTruthyFloat(x: number): boolean {
  return x !== 0;
}

/** Python `int(text)` for a `str` argument in base 10 (ASCII digits only); null where Python raises ValueError. */
export function pyInt(text: string): number | null {
  const t = pyStrip(text);
  if (!/^[+-]?\d+(_\d+)*$/.test(t)) return null;
  return Number(t.replaceAll('_', ''));
}
