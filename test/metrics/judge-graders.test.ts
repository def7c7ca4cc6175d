import { describe, expect, it } from 'vitest';
import { buildMathvistaExtractionPrompt, buildMmvetJudgePrompt } from '../../src/metrics/judge-prompts.ts';
import {
  mathvistaAggregate,
  mathvistaPostCheck,
  type MathvistaLine,
} from '../../src/metrics/mathvista-judge.ts';
import { mmvetAggregate, parseMmvetGrade } from '../../src/metrics/mmvet-judge.ts';

// The GPT-judge graders without a judge: prompts, reply parsing, post_check and the aggregates. Grading against
// a (fake) judge over HTTP is tested in test/runner/judge.test.ts.

// ---------------------------------------------------------------- prompts

describe('judge prompts (VLMEvalKit build_mmvet_gpt4_prompt / build_mathvista_gpt4_prompt)', () => {
  it('MM-Vet: table, newline, then "question | gt | prediction | " with spaced <AND>/<OR>', () => {
    const p = buildMmvetJudgePrompt('What is x?', '-1<AND>-5<OR>2', 'x = 3');
    expect(p.startsWith('\nCompare the ground truth and prediction from AI models')).toBe(true);
    expect(p.endsWith('| 1.0\n\nWhat is x? | -1 <AND> -5 <OR> 2 | x = 3 | ')).toBe(true);
    // Five equation rows and two meme rows in the few-shot table.
    expect(p.match(/^What is x in the equation\? \| -1 <AND> -5 \|/gm)).toHaveLength(5);
    expect(p.match(/^Can you explain this meme\? \|/gm)).toHaveLength(2);
  });

  it("MathVista: 5 examples, the 'Model respone: ' typo, no newline before 'Extracted answer:'", () => {
    const p = buildMathvistaExtractionPrompt('Hint: h\nQuestion: q?', 'It is 7.');
    expect(p.startsWith('\nPlease read the following example.\nThen extract the answer')).toBe(true);
    expect(p.match(/^Extracted answer: /gm)).toHaveLength(5);
    expect(p).toContain('at the end.\n\nQuestion: Which number is missing?\n\nModel response: ');
    expect(
      p.endsWith('Extracted answer: B\n\nHint: h\nQuestion: q?\nModel respone: It is 7.Extracted answer:'),
    ).toBe(true);
  });
});

// ---------------------------------------------------------------- pure rules

describe('parseMmvetGrade (float_cvt + [0, 1] check)', () => {
  const cases: [string, number | null][] = [
    ['0.5', 0.5],
    ['1.0', 1],
    ['0', 0],
    ['.5', 0.5],
    ['1e-1', 0.1],
    ['1.1', null],
    ['-0.1', null],
    ['1_0', null], // Python reads 10.0: out of range
    ['nan', null], // Python would accept NaN; refused here (it would make the mean NaN)
    ['0.5 ', 0.5],
    ['0.5.', null],
    ['Score: 0.5', null],
    ['', null],
  ];
  it.each(cases)('%j -> %j', (text, want) => {
    const g = parseMmvetGrade(text);
    expect('grade' in g ? g.grade : null).toBe(want);
  });
});

describe('mathvistaPostCheck (post_check)', () => {
  const mc: MathvistaLine = {
    question_type: 'multi_choice',
    answer_type: 'text',
    answer: '8/11',
    answer_option: 'B',
    choices: "['3/11', '8/11', '6/11', '3/5']",
  };
  const int: MathvistaLine = { question_type: 'free_form', answer_type: 'integer', answer: '14' };
  const flt: MathvistaLine = { question_type: 'free_form', answer_type: 'float', answer: '0.6' };
  const txt: MathvistaLine = { question_type: 'free_form', answer_type: 'list', answer: '[2007, 2008]' };
  const cases: [string, MathvistaLine, string | number, boolean, unknown][] = [
    ['MC prefetch: a letter is returned whether right or wrong', mc, 'The answer is (C).', true, 'C'],
    ['MC prefetch: option text matched', mc, 'it is 8/11', true, 'B'],
    ['MC prefetch: nothing inferable', mc, 'no idea', true, false],
    ['MC prefetch: "Z" token counts as found', mc, 'Z', true, 'Z'],
    ['MC check: right letter', mc, 'B', false, true],
    ['MC check: wrong letter', mc, 'C', false, false],
    ['int prefetch equal -> the number', int, '14', true, 14],
    ['int prefetch: "14.0" is a ValueError', int, '14.0', true, false],
    ['int check on a prefetched number', int, 14, false, true],
    ['float prefetch equal', flt, '0.6', true, 0.6],
    ['float check differs', flt, '0.60001', false, false],
    ['list answers compare str(None): never right', txt, '[2007, 2008]', false, false],
  ];
  it.each(cases)('%s', (_name, line, response, prefetch, want) => {
    expect(mathvistaPostCheck(line, response, prefetch)).toBe(want);
  });

  it('a choices cell that is not a list literal throws (the reference eval() raises)', () => {
    expect(() => mathvistaPostCheck({ ...mc, choices: 'not a list' }, 'B', true)).toThrow();
  });
});

describe('judge aggregates (MMVet_acc, MathVista_acc)', () => {
  it('MM-Vet: capabilities first, then categories; a category named like a capability takes its place', () => {
    const grades = [0.5, 1, 0, 0.3, 0.9, 1, 0.2];
    const cats = ['rec,ocr', 'ocr', 'know,gen', 'rec', undefined, 'math,spat,ocr', 'gen'];
    const a = mmvetAggregate(grades, cats);
    expect(a).toMatchObject({ metric: 'mmvet_gpt', n: 7, unit: 'x100' });
    expect(a.score).toBeCloseTo(55.714285714285715, 12);
    expect(Object.keys(a.breakdown)).toEqual([
      'rec',
      'ocr',
      'know',
      'gen',
      'spat',
      'math',
      'rec_ocr',
      'know_gen',
      'math_spat_ocr',
    ]);
    expect(a.breakdown.ocr).toBe(100); // the 'ocr' category (one sample, 1.0), not the capability (83.3)
    expect(a.breakdown.rec).toBe(30);
  });

  it('MathVista: per task and per skill (a list literal, else the cell itself)', () => {
    const line = (task: string, skills: string): MathvistaLine => ({
      question_type: 'free_form',
      answer_type: 'integer',
      answer: '1',
      task,
      skills,
    });
    const a = mathvistaAggregate(
      [1, 0, 1],
      [line('geo', "['algebra', 'arithmetic']"), line('figure QA', 'statistics'), line('geo', '')],
    );
    expect(a).toMatchObject({ metric: 'mathvista_gpt', n: 3, unit: 'x100' });
    expect(a.breakdown).toEqual({ geo: 100, algebra: 100, arithmetic: 100, 'figure QA': 0, statistics: 0 });
  });
});
