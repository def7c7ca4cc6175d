import { describe, expect, it } from 'vitest';
import { parsePythonLiteral, parsePythonStringList } from '../../src/common/py-literal.ts';
import { collect, png, put, split, task, tempDir } from './helpers.ts';

/** pandas to_csv(sep='\t') quoting: QUOTE_MINIMAL, doubled inner quotes. */
function tsv(header: string[], rows: Record<string, string | undefined>[]): string {
  const cell = (v: string) => (/[\t\n"]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return (
    [header.join('\t'), ...rows.map((r) => header.map((h) => cell(r[h] ?? '')).join('\t'))].join('\n') + '\n'
  );
}

const HEADER = [
  'index',
  'question',
  'hint',
  'A',
  'B',
  'C',
  'D',
  'E',
  'answer',
  'category',
  'l2-category',
  'split',
  'image',
];

describe('vlmevalkit-tsv adapter', () => {
  it('reads MMBench-style rows: options A-E (non-empty only), hint, and image references by index', async () => {
    const root = await tempDir();
    const red = await png(3, 3, [255, 0, 0]);
    const green = await png(3, 3, [0, 255, 0]);
    const b64 = (b: Buffer) => b.toString('base64');
    const rows = [
      {
        index: '0',
        question: 'Which colour?',
        hint: 'Look\tcarefully',
        A: 'red',
        B: 'green',
        C: 'blue',
        answer: 'A',
        category: 'color',
        'l2-category': 'attr',
        split: 'dev',
        image: b64(red),
      },
      // refers to a row further down (circular copies may point anywhere)
      {
        index: '1',
        question: 'Multi-line\n"quoted" question',
        A: 'x',
        B: 'y',
        C: 'z',
        D: 'w',
        E: 'v',
        answer: 'E',
        category: 'c',
        split: 'dev',
        image: '3',
      },
      {
        index: '1000000',
        question: 'Which colour?',
        hint: 'Look\tcarefully',
        A: 'green',
        B: 'red',
        C: 'blue',
        answer: 'B',
        category: 'color',
        split: 'dev',
        image: '0',
      },
      {
        index: '3',
        question: 'Green?',
        A: 'yes',
        B: 'no',
        answer: 'A',
        category: 'c',
        split: 'dev',
        image: b64(green),
      },
    ];
    await put(root, 'MMBench.tsv', tsv(HEADER, rows));
    const { samples, errors } = split(
      await collect(task({ format: 'vlmevalkit-tsv', path: 'MMBench.tsv' }), root),
    );
    expect(errors).toEqual([]);
    expect(samples.map((s) => [s.id, s.answers, s.choices, s.hint])).toEqual([
      ['0', ['A'], { A: 'red', B: 'green', C: 'blue' }, 'Look\tcarefully'],
      ['1', ['E'], { A: 'x', B: 'y', C: 'z', D: 'w', E: 'v' }, undefined],
      ['1000000', ['B'], { A: 'green', B: 'red', C: 'blue' }, 'Look\tcarefully'],
      ['3', ['A'], { A: 'yes', B: 'no' }, undefined],
    ]);
    expect(samples[1].question).toBe('Multi-line\n"quoted" question');
    expect(samples[0].meta).toMatchObject({ index: 0, 'l2-category': 'attr', split: 'dev', line: 2 });
    expect(samples[2].meta.index).toBe(1000000);
    // The reference rows load the referenced rows' bytes, re-read from the file by offset.
    expect(Buffer.from(await samples[0].images[0].load())).toEqual(red);
    expect(Buffer.from(await samples[2].images[0].load())).toEqual(red);
    expect(Buffer.from(await samples[1].images[0].load())).toEqual(green);
    // Line numbers count the quoted newline: row `1` starts on line 3, the next row on line 5.
    expect(samples[1].images[0].origin).toBe('MMBench.tsv:3: field "image" (-> index 3)');
    expect(samples[2].meta.line).toBe(5);
  });

  it('reads OCRBench answers from the Python list literal, safely', async () => {
    const root = await tempDir();
    const img = (await png(2, 2, [1, 1, 1])).toString('base64');
    await put(
      root,
      'OCRBench.tsv',
      tsv(
        ['index', 'question', 'answer', 'category', 'image'],
        [
          {
            index: '0',
            question: 'read it',
            answer: `['Centre', "it's", 'a\\nb']`,
            category: 'Regular Text Recognition',
            image: img,
          },
          {
            index: '1',
            question: 'evil',
            answer: `__import__('os').system('id')`,
            category: 'x',
            image: img,
          },
        ],
      ),
    );
    const t = task({
      format: 'vlmevalkit-tsv',
      path: 'OCRBench.tsv',
      options: { answerFormat: 'python-list' },
    });
    const { samples, errors } = split(await collect(t, root));
    expect(samples[0].answers).toEqual(['Centre', "it's", 'a\nb']);
    expect(samples[0].choices).toBeUndefined();
    expect(errors[0].error).toMatch(/^OCRBench\.tsv:3: field "answer": not a Python literal at char 0/);
  });

  it('reads a multi-image cell (Python list of base64) and filters rows (MMMU split)', async () => {
    const root = await tempDir();
    const a = await png(2, 2, [10, 0, 0]);
    const b = await png(2, 2, [0, 10, 0]);
    await put(
      root,
      'MMMU.tsv',
      tsv(
        ['index', 'question', 'A', 'B', 'answer', 'split', 'image'],
        [
          {
            index: '1',
            question: 'dev q',
            A: 'p',
            B: 'q',
            answer: 'A',
            split: 'dev',
            image: a.toString('base64'),
          },
          {
            index: '2',
            question: '<image 1> vs <image 2>',
            A: 'p',
            B: 'q',
            answer: 'B',
            split: 'validation',
            image: `['${a.toString('base64')}', '${b.toString('base64')}']`,
          },
        ],
      ),
    );
    const t = task({
      format: 'vlmevalkit-tsv',
      path: 'MMMU.tsv',
      options: { filter: { column: 'split', equals: 'validation' } },
    });
    const { samples } = split(await collect(t, root));
    expect(samples.map((s) => s.id)).toEqual(['2']);
    expect(samples[0].images).toHaveLength(2);
    expect(Buffer.from(await samples[0].images[1].load())).toEqual(b);
    expect(samples[0].images[1].origin).toBe('MMMU.tsv:3: field "image"[1]');
  });

  it('turns bad base64, missing fields, short rows and dangling references into SampleErrors', async () => {
    const root = await tempDir();
    const img = (await png(2, 2, [1, 1, 1])).toString('base64');
    const notPng = Buffer.from('this is not an image at all, just some text bytes!').toString('base64');
    await put(
      root,
      'bad.tsv',
      tsv(
        ['index', 'question', 'answer', 'image'],
        [
          { index: '0', question: 'ok', answer: 'A', image: img },
          { index: '1', question: 'bad b64', answer: 'A', image: img.slice(0, 70) + '!!' + img.slice(72) },
          { index: '2', question: '', answer: 'A', image: img },
          { index: '3', question: 'dangling', answer: 'A', image: '999' },
          { index: '4', question: 'not an image', answer: 'A', image: notPng },
          { index: '5', question: 'truncated', answer: 'A', image: img.slice(0, 101) },
        ],
      ) + '6\tshort row\n',
    );
    const { samples, errors } = split(
      await collect(task({ format: 'vlmevalkit-tsv', path: 'bad.tsv' }), root),
    );
    expect(errors.map((e) => e.error)).toEqual([
      'bad.tsv:3: field "image": not valid base64 (characters outside the base64 alphabet)',
      'bad.tsv:4: field "question" is missing',
      'bad.tsv:7: field "image": not valid base64 (length 101 is not a multiple of 4 (truncated?))',
      'bad.tsv:8: row has 2 fields, header has 4',
    ]);
    expect(samples.map((s) => s.id)).toEqual(['0', '3', '4']);
    await expect(samples[1].images[0].load()).rejects.toThrow(
      'bad.tsv:5: field "image" (-> index 999): refers to index "999", but no row with that index holds an image',
    );
    await expect(samples[2].images[0].load()).rejects.toThrow(
      /^bad\.tsv:6: field "image": not a readable image/,
    );
  });

  it('names the missing header column', async () => {
    const root = await tempDir();
    await put(root, 'h.tsv', 'index\tquery\timage\n0\tq\tx\n');
    await expect(collect(task({ format: 'vlmevalkit-tsv', path: 'h.tsv' }), root)).rejects.toThrow(
      /h\.tsv:1: header has no column "question"/,
    );
  });
});

describe('Python literal reader (no eval)', () => {
  it.each([
    [`['a', "b"]`, ['a', 'b']],
    [`('x',)`, ['x']],
    [`['it\\'s', 'tab\\there', '\\x41\\u00e9']`, ["it's", 'tab\there', 'Aé']],
    [`[1, 2.5, None, True]`, [1, 2.5, null, true]],
    [`'a' 'b'`, 'ab'],
    [`[]`, []],
  ])('%s', (text, value) => {
    expect(parsePythonLiteral(text)).toEqual(value);
  });
  it.each([`os.system('x')`, `['a'`, `['a' + 'b']`, `{'a': 1}`, `['a'] ; 1`])('refuses %s', (text) => {
    expect(() => parsePythonLiteral(text)).toThrow(/not a Python literal/);
  });
  it('stringifies integer answers like str()', () => {
    expect(parsePythonStringList(`['12', 7]`)).toEqual(['12', '7']);
    expect(() => parsePythonStringList(`[1.5]`)).toThrow(/item 0/);
  });
});
