import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { cardRuleOf, cardVerdict, DEFAULT_CARD_RULE, defaultPrecision } from '../../src/report/card-check.ts';
import {
  configKeyOf,
  gateExitCode,
  gateHeadline,
  pairedVerdict,
  splitSettingsDiff,
  type CardGateResult,
} from '../../src/report/gate.ts';
import { renderJunit, xmlEscape } from '../../src/report/gate-report.ts';
import { parseThresholds, thresholdFor } from '../../src/report/gate-thresholds.ts';
import { buildSummary } from '../../src/report/summary.ts';
import { loadRun } from '../../src/report/run-data.ts';
import { makeRun, taskConfig } from './fixture-run.ts';

describe('pairedVerdict (non-inferiority with an inconclusive zone)', () => {
  const rule = { maxDrop: 1, minSamples: 30 };
  it.each([
    ['interval above -maxDrop', 100, [-0.8, 0.4], 0, 'pass'],
    ['lower end exactly at -maxDrop', 100, [-1, 0.2], 0, 'pass'],
    ['identical runs', 100, [0, 0], 0, 'pass'],
    ['a clear gain, however wide', 100, [1, 9], 0, 'pass'],
    ['whole interval below -maxDrop', 100, [-5, -2], 0, 'regressed'],
    ['narrow but reaching below -maxDrop', 100, [-1.5, -0.1], 0, 'regressed'],
    ['wider than the allowed drop', 100, [-3, 1], 0, 'inconclusive'],
    ['too few samples, even if identical', 10, [0, 0], 0, 'inconclusive'],
    ['no interval', 100, [NaN, NaN], 0, 'inconclusive'],
    ['candidate failed where the baseline scored', 100, [0, 0], 2, 'regressed'],
  ] as const)('%s -> %s', (_, n, ci, newErrors, expected) => {
    const v = pairedVerdict({ n, delta: (ci[0] + ci[1]) / 2, ci: [...ci], newErrors }, rule);
    expect(v.verdict).toBe(expected);
    expect(v.reason).not.toBe('');
  });
  it('a zero allowed drop still passes identical runs', () => {
    expect(
      pairedVerdict({ n: 50, delta: 0, ci: [0, 0], newErrors: 0 }, { maxDrop: 0, minSamples: 30 }).verdict,
    ).toBe('pass');
  });
});

describe('cardVerdict (card value inside the 95% CI widened by the tolerance)', () => {
  const ev = (card: number | null, ci: [number, number] | null, n = 500, score = 80) => ({
    score,
    ci95: ci,
    card,
    n,
  });
  it.each([
    ['inside', ev(80.5, [79, 81]), DEFAULT_CARD_RULE, 'reproduced'],
    ['on the edge', ev(81, [79, 81]), DEFAULT_CARD_RULE, 'reproduced'],
    ['outside', ev(82, [79, 81]), DEFAULT_CARD_RULE, 'not reproduced'],
    ['outside, within tolerance', ev(82, [79, 81]), { ...DEFAULT_CARD_RULE, tolerance: 1.5 }, 'reproduced'],
    ['inside but CI too wide', ev(80, [74, 86]), DEFAULT_CARD_RULE, 'inconclusive'],
    ['wide CI, outside anyway', ev(95, [74, 86]), DEFAULT_CARD_RULE, 'not reproduced'],
    ['too few samples', ev(80, [79, 81], 10), DEFAULT_CARD_RULE, 'inconclusive'],
    ['no card value', ev(null, [79, 81]), DEFAULT_CARD_RULE, 'no card value'],
    ['no CI', ev(80, null), DEFAULT_CARD_RULE, 'inconclusive'],
  ] as const)('%s -> %s', (_, e, rule, expected) => {
    expect(cardVerdict(e, rule).verdict).toBe(expected);
  });
  it.each([
    ['x100', 2],
    ['/1000', 20],
    ['sum', 56],
  ])('default precision for unit %s is 2%% of its range: %d', (unit, p) => {
    expect(defaultPrecision(unit)).toBeCloseTo(p, 10);
    expect(cardRuleOf({}, unit).precision).toBeCloseTo(p, 10);
    expect(cardRuleOf({ precision: 7 }, unit).precision).toBe(7);
  });

  it('no local score, or an explicit reason, is "no card value"', () => {
    expect(cardVerdict({ score: null, ci95: null, card: 60, n: 0 }, DEFAULT_CARD_RULE).verdict).toBe(
      'no card value',
    );
    const v = cardVerdict(
      { ...ev(80, [79, 81]), noCardReason: 'the card value belongs to X' },
      DEFAULT_CARD_RULE,
    );
    expect(v).toMatchObject({ verdict: 'no card value', reason: 'the card value belongs to X' });
  });
});

describe('splitSettingsDiff (which manifest differences block the gate)', () => {
  const diff = [
    { key: 'variant', a: 'fp16', b: 'int4' },
    { key: 'maxTiles', a: null, b: 12 },
    { key: 'tasks.docvqa_val.maxTiles', a: 18, b: 12 },
    { key: 'tasks.docvqa_val.report.card', a: 86.9, b: 87 },
    { key: 'tasks.mme.prompt.suffix', a: 'x', b: 'y' },
    { key: 'backend', a: 'onnx', b: 'openai' },
  ];
  it('default: only variant/model may differ; report blocks and ungated tasks are ignored', () => {
    const { varied, blocking } = splitSettingsDiff(diff, ['variant', 'model'], ['docvqa_val']);
    expect(varied.map((d) => d.key)).toEqual(['variant']);
    expect(blocking.map((d) => d.key)).toEqual(['maxTiles', 'tasks.docvqa_val.maxTiles', 'backend']);
  });
  it('a varied key covers the same key inside each task; flag spellings are accepted', () => {
    const { varied, blocking } = splitSettingsDiff(
      diff,
      ['variant', 'max-tiles', 'backend'].map(configKeyOf),
      ['docvqa_val', 'mme'],
    );
    expect(varied.map((d) => d.key)).toEqual(['variant', 'maxTiles', 'tasks.docvqa_val.maxTiles', 'backend']);
    expect(blocking.map((d) => d.key)).toEqual(['tasks.mme.prompt.suffix']);
  });
});

describe('thresholds YAML', () => {
  it('numbers and objects, task entries over flags over default', () => {
    const t = parseThresholds(
      'default: 1.0\ndocvqa_val: 0.5\nmme: { max-drop: 30, tolerance: 20, precision: 60, min-samples: 100 }\n',
      'th.yaml',
    );
    expect(thresholdFor(t, 'docvqa_val', {})).toMatchObject({ maxDrop: 0.5, tolerance: 0.5 });
    expect(thresholdFor(t, 'mme', { maxDrop: 2 })).toEqual({
      maxDrop: 30,
      tolerance: 20,
      precision: 60,
      minSamples: 100,
    });
    expect(thresholdFor(t, 'textvqa_val', { maxDrop: 2 }).maxDrop).toBe(2);
    expect(thresholdFor(t, 'textvqa_val', {}).maxDrop).toBe(1);
    expect(thresholdFor(null, 'x', {}).maxDrop).toBeUndefined();
    expect(parseThresholds('', 'empty.yaml').tasks).toEqual({});
  });
  it.each([
    ['docvqa_val: -1\n', /th.yaml: docvqa_val: Too small/],
    ['docvqa_val: { max_drop: 1 }\n', /th.yaml: docvqa_val: Unrecognized key: "max_drop"/],
    ['docvqa_val: "1"\n', /th.yaml: docvqa_val:/],
    ['- 1\n', /th.yaml: \(top level\)/],
    ['a: [1\n', /th.yaml: not valid YAML/],
  ])('%j is refused naming the file and key', (text, re) => {
    expect(() => parseThresholds(text, 'th.yaml')).toThrow(re);
  });
});

describe('exit code and headline', () => {
  it('skipped tasks do not fail; inconclusive ones do', () => {
    const c = (task: string, outcome: 'pass' | 'fail' | 'inconclusive' | 'skipped') => ({
      task,
      outcome,
      verdict: outcome,
    });
    expect(gateExitCode([c('a', 'pass'), c('b', 'skipped')])).toBe(0);
    expect(gateExitCode([c('a', 'pass'), c('b', 'inconclusive')])).toBe(1);
    expect(gateHeadline([c('a', 'fail'), c('b', 'inconclusive'), c('c', 'fail')])).toBe(
      'FAIL — regressed: a, c; inconclusive: b',
    );
  });
});

describe('JUnit writer', () => {
  it('escapes markup and drops characters XML cannot hold', () => {
    expect(xmlEscape('a<b>&"\'\u0001z')).toBe('a&lt;b&gt;&amp;&quot;&apos;\uFFFDz');
    const r: CardGateResult = {
      mode: 'card',
      run: 'r<&>',
      headline: 'FAIL',
      exitCode: 1,
      thresholds: null,
      notes: [],
      tasks: [
        {
          task: 'odd"name<\u0007>',
          title: 't',
          metric: 'm',
          unit: 'x100',
          verdict: 'no card value',
          outcome: 'skipped',
          reason: 'a & b',
          score: null,
          ci95: null,
          card: null,
          window: null,
          tolerance: 0,
          precision: 2,
          minSamples: 30,
          n: 0,
        },
      ],
    };
    const xml = renderJunit(r);
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
    expect(doc.testsuites.testsuite.testcase.name).toBe('odd"name<\uFFFD>');
    expect(doc.testsuites.testsuite.testcase.skipped.message).toBe('no card value: a & b');
    expect(doc.testsuites).toMatchObject({ tests: '1', failures: '0', skipped: '1' });
  });
});

describe('summary: a split of a combined card row run alone', () => {
  it("has no card value of its own (the card number is the combined row's)", async () => {
    const combine = { row: 'ChartQA test', tasks: ['h', 'a'], how: 'mean' as const };
    const dir = await makeRun('split', [
      {
        config: taskConfig('h', { scorer: { name: 'relaxed_accuracy' }, report: { card: 76.2, combine } }),
        samples: [{ id: '1', prediction: '1', answers: ['1'] }],
      },
    ]);
    const rows = (await buildSummary(await loadRun(dir))).rows;
    expect(rows.map((r) => [r.task, r.card, r.delta])).toEqual([['h', null, null]]);
  });
});
