import { describe, expect, it } from 'vitest';
import { FONT_CHARS, glyph, textWidth } from '../../../src/datasets/synthetic/bitmap-font.ts';
import { makeDocument } from '../../../src/datasets/synthetic/documents.ts';
import { writeParquet } from '../../../src/datasets/synthetic/parquet-writer.ts';
import { RgbImage } from '../../../src/datasets/synthetic/raster.ts';
import { Rng } from '../../../src/datasets/synthetic/rng.ts';
import {
  makeShapeScene,
  multipleChoice,
  rotateChoice,
  yesNoPair,
} from '../../../src/datasets/synthetic/shapes.ts';
import { pyRepr, pyReprList, tsvField, tsvText } from '../../../src/datasets/synthetic/tsv-writer.ts';
import { parsePythonStringList } from '../../../src/common/py-literal.ts';
import { splitRecord } from '../../../src/datasets/formats/tsv-records.ts';
import { decodeRgb, findText } from './pixels.ts';

describe('bitmap font and raster', () => {
  it('has 7 rows of 5 bits for every glyph, and refuses unknown characters', () => {
    for (const ch of FONT_CHARS) {
      const g = glyph(ch);
      expect(g.length).toBe(7);
      for (const r of g) expect(r).toBeLessThan(32);
    }
    expect(() => glyph('é')).toThrow(/no glyph for "é"/);
    expect(textWidth('', 2)).toBe(0);
    expect(textWidth('ab', 2)).toBe(22); // (2 * 6 - 1) * 2
  });

  it('draws "1" as its glyph, scaled, with exact pixels', () => {
    const img = RgbImage.blank(12, 16);
    const box = img.drawText('1', 1, 1, 2, [0, 0, 0]);
    expect(box).toEqual([1, 1, 11, 15]);
    // row 0 of "1" is 0x04: only the middle column (x = 1 + 2*2 .. 1 + 2*3) is lit
    expect(img.pixel(5, 1)).toEqual([0, 0, 0]);
    expect(img.pixel(6, 2)).toEqual([0, 0, 0]);
    expect(img.pixel(3, 1)).toEqual([255, 255, 255]);
    // last row 0x0e: three middle columns
    expect([3, 5, 7, 9].map((x) => img.pixel(x, 13)[0])).toEqual([0, 0, 0, 255]);
  });

  it('survives PNG encode/decode exactly, and text can be found again (and only where it is)', async () => {
    const doc = makeDocument(new Rng(1), 5);
    const back = await decodeRgb(await doc.image.png());
    expect(Buffer.from(back.data)).toEqual(Buffer.from(doc.image.data));
    for (const f of doc.fields) {
      const at = findText(back, f.value, 2);
      expect(at).toEqual([f.valueBox[0], f.valueBox[1]]);
    }
  });

  it('rejects a raw buffer of the wrong size', () => {
    expect(() => new RgbImage(2, 2, new Uint8Array(11))).toThrow(/11 bytes for 2x2/);
  });
});

describe('Rng', () => {
  it('is deterministic per seed, forks independently, and samples without repeats', () => {
    const a = new Rng(5);
    const b = new Rng(5);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(new Rng(6).next()).not.toBe(xs[0]);
    expect(new Rng(5).fork('x').next()).not.toBe(new Rng(5).fork('y').next());
    const s = new Rng(2).sample([1, 2, 3, 4, 5], 5);
    expect([...s].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(() => new Rng(2).sample([1], 2)).toThrow(/asked for 2 of 1/);
    expect(() => new Rng(0.5)).toThrow(/integer/);
    for (let i = 0; i < 200; i++) {
      const v = a.int(3, 5);
      expect(v >= 3 && v <= 5).toBe(true);
    }
  });
});

describe('shape questions', () => {
  it('places three non-overlapping shapes of distinct kinds and colours', () => {
    for (let seed = 0; seed < 20; seed++) {
      const scene = makeShapeScene(new Rng(seed));
      expect(new Set(scene.shapes.map((s) => s.kind)).size).toBe(3);
      expect(new Set(scene.shapes.map((s) => s.color)).size).toBe(3);
      for (const s of scene.shapes) {
        expect(s.box[0]).toBeGreaterThanOrEqual(0);
        expect(s.box[2]).toBeLessThanOrEqual(320);
      }
    }
  });

  it('yes/no pairs: position "yes" names the shape that is really on the left', () => {
    for (let seed = 0; seed < 20; seed++) {
      const rng = new Rng(seed);
      const scene = makeShapeScene(rng);
      const pair = yesNoPair(rng, scene, 'position');
      const m = /^Is the (\w+) (\w+) on the left of the (\w+) (\w+)\?/.exec(pair.yes)!;
      const find = (c: string) => scene.shapes.find((s) => s.color === c)!;
      const cx = (c: string) => (find(c).box[0] + find(c).box[2]) / 2;
      expect(cx(m[1])).toBeLessThan(cx(m[3]));
    }
  });

  it('multiple choice: the answer letter points at the true option, also after rotation', () => {
    const rng = new Rng(9);
    const scene = makeShapeScene(rng);
    const mc = multipleChoice(rng, scene, 0);
    const kind = /^What colour is the (\w+)\?$/.exec(mc.question)![1];
    const shape = scene.shapes.find((s) => s.kind === kind)!;
    expect(mc.options[mc.answer.charCodeAt(0) - 65]).toBe(shape.color);
    expect(new Set(mc.options).size).toBe(4);
    for (let k = 0; k < 4; k++) {
      const r = rotateChoice(mc, k);
      expect(r.options[r.answer.charCodeAt(0) - 65]).toBe(shape.color);
      expect(r.options[0]).toBe(mc.options[k]);
    }
  });
});

describe('TSV and Python-literal writing', () => {
  it.each([
    ['plain', 'plain'],
    ['a\tb', '"a\tb"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
  ])('tsvField(%j) = %j, and the reader splits it back', (v, want) => {
    expect(tsvField(v)).toBe(want);
    expect(splitRecord(`${tsvField(v)}\tx`)).toEqual([v, 'x']);
  });

  it('writes missing values as empty cells', () => {
    expect(tsvText(['a', 'b'], [{ a: 1, b: undefined }])).toBe('a\tb\n1\t\n');
  });

  it.each([
    ['abc', "'abc'"],
    ["it's", `"it's"`],
    [`a"b'c`, `'a"b\\'c'`],
    ['back\\slash', "'back\\\\slash'"],
    ['tab\there', "'tab\\there'"],
  ])('pyRepr(%j) = %s (CPython repr), and the reader parses it back', (v, want) => {
    expect(pyRepr(v)).toBe(want);
    expect(parsePythonStringList(pyReprList([v, 'x']))).toEqual([v, 'x']);
  });
});

describe('parquet writer', () => {
  it('refuses columns of different lengths, naming the column', async () => {
    await expect(
      writeParquet('/nonexistent/x.parquet', [
        { name: 'a', kind: 'string', data: ['1', '2'] },
        { name: 'b', kind: 'string', data: ['1'] },
      ]),
    ).rejects.toThrow(/column "b" has 1 rows, expected 2/);
  });
});
