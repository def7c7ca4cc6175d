/**
 * A safe reader for the Python literals VLMEvalKit stores in TSV cells (OCRBench `answer` = `['Centre', "it's"]`,
 * MMMU multi-image `image` = `['<b64>', '<b64>']`). VLMEvalKit calls `eval()` on them; we parse only lists/tuples
 * of strings, numbers, booleans and None, and refuse anything else with the offending position.
 */
export type PyValue = string | number | boolean | null | PyValue[];

export function parsePythonLiteral(text: string): PyValue {
  let i = 0;
  const fail = (msg: string): never => {
    throw new Error(`not a Python literal at char ${i}: ${msg}`);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const value = (): PyValue => {
    ws();
    const c = text[i];
    if (c === '[' || c === '(') return list(c === '[' ? ']' : ')');
    if (c === "'" || c === '"') return str();
    if (/[\d.+-]/.test(c ?? '')) return num();
    for (const [word, v] of [
      ['None', null],
      ['True', true],
      ['False', false],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    return fail(c === undefined ? 'unexpected end' : `unexpected ${JSON.stringify(c)}`);
  };
  const list = (close: string): PyValue[] => {
    i++;
    const out: PyValue[] = [];
    ws();
    if (text[i] === close) {
      i++;
      return out;
    }
    for (;;) {
      out.push(value());
      ws();
      if (text[i] === ',') {
        i++;
        ws();
        if (text[i] === close) {
          i++;
          return out;
        }
        continue;
      }
      if (text[i] === close) {
        i++;
        return out;
      }
      return fail(`expected "," or "${close}"`);
    }
  };
  const num = (): number => {
    const m = /^[+-]?(\d[\d_]*)?(\.\d*)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m || m[0] === '' || m[0] === '+' || m[0] === '-' || m[0] === '.') return fail('bad number');
    i += m[0].length;
    return Number(m[0].replace(/_/g, ''));
  };
  const str = (): string => {
    // Adjacent literals concatenate ('a' 'b' == 'ab'), as in Python.
    let out = '';
    do {
      out += oneStr();
      ws();
    } while (text[i] === "'" || text[i] === '"');
    return out;
  };
  const oneStr = (): string => {
    const q = text[i];
    const triple = text.startsWith(q.repeat(3), i);
    i += triple ? 3 : 1;
    let out = '';
    for (;;) {
      if (i >= text.length) return fail('unterminated string');
      const c = text[i];
      if (triple ? text.startsWith(q.repeat(3), i) : c === q) {
        i += triple ? 3 : 1;
        return out;
      }
      if (c === '\n' && !triple) return fail('newline in string');
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      i += 2;
      const simple: Record<string, string> = {
        n: '\n',
        t: '\t',
        r: '\r',
        '\\': '\\',
        "'": "'",
        '"': '"',
        a: '\x07',
        b: '\b',
        f: '\f',
        v: '\v',
        '0': '\0',
        '\n': '',
      };
      if (e in simple) out += simple[e];
      else if (e === 'x' || e === 'u' || e === 'U') {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = text.slice(i, i + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) return fail(`bad \\${e} escape`);
        out += String.fromCodePoint(parseInt(hex, 16));
        i += n;
      } else out += '\\' + (e ?? ''); // Python keeps unknown escapes verbatim.
    }
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing text');
  return v;
}

/** A list literal of strings (numbers are stringified as Python's str() would for ints). */
export function parsePythonStringList(text: string): string[] {
  const v = parsePythonLiteral(text);
  const list = Array.isArray(v) ? v : [v];
  return list.map((x, k) => {
    if (typeof x === 'string') return x;
    if (typeof x === 'number' && Number.isInteger(x)) return String(x);
    throw new Error(`item ${k} is ${JSON.stringify(x)}, not a string`);
  });
}
