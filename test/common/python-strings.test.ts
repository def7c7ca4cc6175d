import { describe, expect, it } from 'vitest';
import { fixture, num } from '../metrics/fixtures.ts';
import {
  decimalValue,
  pyFloat,
  pyLen,
  pySplit,
  pyStrip,
  pyRstrip,
  pyFirstChar,
  pySlice,
  pyInt,
} from '../../src/common/python-strings.ts';

interface FloatCase {
  reason: string;
  input: string;
  expected: number | string | null;
}

describe('pyFloat matches CPython float() (fixture from python3)', () => {
  it.each(fixture<FloatCase[]>('py_float'))('$reason', ({ input, expected }) => {
    expect(pyFloat(input)).toBe(num(expected));
  });
});

describe('Python str helpers', () => {
  it.each([
    ['NBSP and U+001F stripped like str.strip()', '\u00a0\x1fab\x85', 'ab'],
    ['U+FEFF and U+200B are not Python whitespace', '\ufeffab\u200b', '\ufeffab\u200b'],
    ['ideographic space stripped', '\u3000ab\u3000', 'ab'],
    ['empty', '', ''],
  ])('strip: %s', (_reason, input, expected) => {
    expect(pyStrip(input)).toBe(expected);
  });

  it('rstrip(chars) removes every trailing char of the set', () => {
    expect(pyRstrip('50%%', '%')).toBe('50');
    expect(pyRstrip('%', '%')).toBe('');
  });

  it.each([
    ['runs of mixed whitespace', ' a \t\n b\u2028c  ', ['a', 'b', 'c']],
    ['U+001C separates (Python isspace)', 'a\x1cb', ['a', 'b']],
    ['U+FEFF does not separate', 'a\ufeffb', ['a\ufeffb']],
    ['only whitespace gives no words', ' \t ', []],
  ])('split(): %s', (_reason, input, expected) => {
    expect(pySplit(input as string)).toEqual(expected);
  });

  it('len counts code points, slicing and [0] too', () => {
    expect(pyLen('😀a')).toBe(2);
    expect(pySlice('😀abcd', 4)).toBe('😀abc');
    expect(pyFirstChar('😀a')).toBe('😀');
    expect(pyFirstChar('')).toBe('');
  });

  it('decimalValue knows Unicode digit runs, including adjacent mathematical runs', () => {
    expect(decimalValue('7'.codePointAt(0)!)).toBe(7);
    expect(decimalValue(0x663)).toBe(3); // ARABIC-INDIC DIGIT THREE
    expect(decimalValue(0x1d7d7)).toBe(9); // MATHEMATICAL BOLD DIGIT NINE
    expect(decimalValue(0x1d7d8)).toBe(0); // next run starts
    expect(decimalValue('a'.codePointAt(0)!)).toBe(-1);
    expect(decimalValue(0xbd)).toBe(-1); // ½ is numeric but not decimal
  });
});

describe('pyInt (Python int(str))', () => {
  it.each([
    ['14', 14],
    [' -3 ', -3],
    ['1_000', 1000],
    ['007', 7],
    ['14.0', null],
    ['1e3', null],
    ['', null],
    ['1__0', null],
  ] as [string, number | null][])('%j -> %j', (t, want) => expect(pyInt(t)).toBe(want));
});
