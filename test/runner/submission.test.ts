import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import readXlsxFile from 'read-excel-file/node';
import { describe, expect, it } from 'vitest';
import type { TaskConfig } from '../../src/datasets/task.ts';
import type { PredictionRecord } from '../../src/runner/prediction-record.ts';
import { realDeps } from '../../src/runner/real-stages.ts';
import { runEvaluation } from '../../src/runner/run-evaluation.ts';
import { renderMarkdown } from '../../src/report/tables.ts';
import type { RunSummary as ReportSummary } from '../../src/report/summary.ts';
import {
  isNumericColumn,
  writeRunSubmissions,
  rrcQuestionId,
  submitExternalTask,
  writeSubmission,
} from '../../src/runner/submission.ts';
import { FakeBackend, fakeDeps, tempDir, writeTasks, PNG_2X2 } from './helpers.ts';

function task(
  name: string,
  submissionFormat: string,
  source: Partial<TaskConfig['source']> = {},
): TaskConfig {
  return {
    name,
    title: name,
    group: 'image',
    source: { format: 'vlmevalkit-tsv', path: 'data.tsv', ...source },
    prompt: { kind: 'suffix', suffix: '', joiner: ' ' },
    maxTiles: 6,
    useThumbnail: true,
    maxNewTokens: 10,
    minNewTokens: 1,
    scorer: { name: 'external' },
    report: {},
    external: { reason: 'hidden answers', submissionFormat },
  };
}

function rec(id: string, prediction: string, extra: Partial<PredictionRecord> = {}): PredictionRecord {
  return {
    id,
    task: 't',
    promptHash: 'h',
    prompt: `<image>\nprompt ${id}`,
    tiles: [1],
    imageTokens: 256,
    promptTokens: 10,
    outputTokens: 1,
    latencyMs: 1,
    prediction,
    answers: [],
    score: null,
    ...extra,
  };
}

const B64 = PNG_2X2.toString('base64'); // > 64 chars: a real image cell, not a reference

/** A pandas-style TSV (QUOTE_MINIMAL) from a header and rows. */
function writeTsv(file: string, header: string[], rows: string[][]): void {
  const q = (v: string) => (/[\t\n"]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, [header, ...rows].map((r) => r.map(q).join('\t')).join('\n') + '\n');
}

async function readSheet(file: string): Promise<unknown[][]> {
  const sheets = await readXlsxFile(file, { trim: false });
  expect(sheets.map((s) => s.sheet)).toEqual(['Sheet1']);
  return sheets[0].data as unknown[][];
}

const MMB_HEADER = [
  'index',
  'question',
  'hint',
  'A',
  'B',
  'C',
  'D',
  'answer',
  'category',
  'image',
  'source',
  'l2-category',
  'comment',
  'split',
];
// Lines: header is line 1, so row k is line k + 2.
const MMB_ROWS = [
  ['10', 'Which animal?', 'a hint', 'cat', 'dog', 'cow', '', 'B', 'animals', B64, 'src', 'l2', 'c', 'dev'],
  ['11', 'Multi\nline "q"', '', 'red', 'blue', '', '', 'A', 'colours', '10', 'src', 'l2', 'c', 'dev'],
  ['12', 'Third', '', 'x', 'y', 'z', 'w', 'D', 'misc', B64, 'src', 'l2', 'c', 'dev'],
];

describe('writeSubmission: RRC DocVQA / InfoVQA JSON', () => {
  it.each(['rrc-docvqa-json', 'rrc-infovqa-json'])(
    '%s: questionId as a number when integral',
    async (fmt) => {
      const dir = tempDir('sub-');
      const records = [
        rec('57344', ' 1970 '),
        rec('abc', 'x'),
        rec('007', 'y'),
        rec('9', 'partial', { error: 'model: timeout' }),
      ];
      const s = await writeSubmission(dir, task('docvqa_test', fmt, { format: 'lmms-parquet' }), records);
      expect(s.file).toBe(path.join(dir, 'submissions', 'docvqa_test.json'));
      expect(JSON.parse(readFileSync(s.file, 'utf8'))).toEqual([
        { questionId: 57344, answer: ' 1970 ' },
        { questionId: 'abc', answer: 'x' },
        { questionId: '007', answer: 'y' },
        { questionId: 9, answer: '' },
      ]);
      expect(s).toMatchObject({ rows: 4, failed: 1 });
      expect(s.notes.join()).toMatch(/1 failed sample\(s\) written with an empty prediction/);
    },
  );

  it.each([
    ['0', 0],
    ['123', 123],
    ['-1', '-1'],
    ['1.5', '1.5'],
    ['00', '00'],
    ['99999999999999999999', '99999999999999999999'],
  ])('rrcQuestionId(%j) = %j', (id, want) => {
    expect(rrcQuestionId(id)).toBe(want);
  });
});

describe('writeSubmission: MM-Vet JSON', () => {
  it('keys v1_<question_id>, keeps lmms-lab v1_ ids, empties failures', async () => {
    const dir = tempDir('sub-');
    const records = [
      rec('0', 'A cat.\nOn a mat.'),
      rec('v1_5', 'five'),
      rec('7', 'x', { error: 'bad image' }),
    ];
    const s = await writeSubmission(dir, task('mmvet', 'mmvet-json', { format: 'internvl-jsonl' }), records);
    expect(path.relative(dir, s.file)).toBe(path.join('submissions', 'mmvet.json'));
    const parsed = JSON.parse(readFileSync(s.file, 'utf8')) as Record<string, string>;
    expect(parsed).toEqual({ v1_0: 'A cat.\nOn a mat.', v1_5: 'five', v1_7: '' });
    expect(Object.keys(parsed)).toEqual(['v1_0', 'v1_5', 'v1_7']);
    expect(s.failed).toBe(1);
  });
});

describe('writeSubmission: MMBench / CCBench xlsx (InternVL evaluate_mmbench.py layout)', () => {
  it('MMBench: drops hint/category/source/image/comment/l2-category, prediction at column 6, post_process', async () => {
    const root = tempDir('sub-');
    writeTsv(path.join(root, 'data.tsv'), MMB_HEADER, MMB_ROWS);
    const records = [
      rec('10', ' The answer is dog '), // not a key, not one char: option text "dog" -> B
      rec('11', 'A. red', { meta: { line: 3 } }), // first char is a key -> A
      rec('12', 'z', { meta: { line: 5 }, error: 'model: boom' }),
    ];
    records[0].meta = { line: 2 };
    const s = await writeSubmission(root, task('mmbench_test_en', 'mmbench-xlsx'), records, {
      dataRoot: root,
    });
    expect(path.relative(root, s.file)).toBe(path.join('submissions', 'mmbench_test_en.xlsx'));
    const data = await readSheet(s.file);
    expect(data).toEqual([
      ['index', 'question', 'A', 'B', 'C', 'D', 'prediction', 'answer', 'split'],
      [10, 'Which animal?', 'cat', 'dog', 'cow', null, 'B', 'B', 'dev'],
      [11, 'Multi\nline "q"', 'red', 'blue', null, null, 'A', 'A', 'dev'],
      [12, 'Third', 'x', 'y', 'z', 'w', null, 'D', 'dev'],
    ]);
    expect(s).toMatchObject({ rows: 3, failed: 1 });
  });

  it('CCBench: drops only category/image, prediction at column 8; a partial run says what it covers', async () => {
    const root = tempDir('sub-');
    writeTsv(path.join(root, 'data.tsv'), MMB_HEADER, MMB_ROWS);
    const records = [rec('12', 'Apple', { meta: { line: 4 } })]; // line 4 = index 12; 'A' is a key -> A
    const s = await writeSubmission(root, task('ccbench_dev', 'mmbench-xlsx'), records, { dataRoot: root });
    const data = await readSheet(s.file);
    expect(data[0]).toEqual([
      'index',
      'question',
      'hint',
      'A',
      'B',
      'C',
      'D',
      'answer',
      'prediction',
      'source',
      'l2-category',
      'comment',
      'split',
    ]);
    expect(data.slice(1)).toEqual([
      [12, 'Third', null, 'x', 'y', 'z', 'w', 'D', 'A', 'src', 'l2', 'c', 'dev'],
    ]);
    expect(s.notes.join()).toMatch(/covers 1 of the 3 rows/);
  });

  it('matches records by index when they carry no line number', async () => {
    const root = tempDir('sub-');
    writeTsv(path.join(root, 'data.tsv'), MMB_HEADER, MMB_ROWS);
    const s = await writeSubmission(root, task('mmbench_dev_en', 'mmbench-xlsx'), [rec('11', 'blue')], {
      dataRoot: root,
    });
    expect((await readSheet(s.file)).slice(1)).toEqual([
      [11, 'Multi\nline "q"', 'red', 'blue', null, null, 'B', 'A', 'dev'],
    ]);
  });

  it('without the source TSV, rebuilds the columns from the log and says so', async () => {
    const root = tempDir('sub-');
    const records = [
      rec('5', 'dog', {
        answers: ['B'],
        meta: { index: 5, choices: { A: 'cat', B: 'dog' }, category: 'pets' },
      }),
    ];
    const s = await writeSubmission(root, task('mmbench_test_cn', 'mmbench-xlsx'), records, {
      dataRoot: path.join(root, 'nowhere'),
    });
    expect(await readSheet(s.file)).toEqual([
      // prediction goes to column 6 as in the reference, or last when there are fewer columns
      ['index', 'question', 'A', 'B', 'answer', 'prediction'],
      [5, 'prompt 5', 'cat', 'dog', 'B', 'B'],
    ]);
    expect(s.notes.join()).toMatch(/source TSV not readable .*rebuilt from the prediction log/);
  });
});

describe('writeSubmission: VLMEvalKit xlsx (MathVista)', () => {
  it('every TSV column but image, prediction last and raw; XML-illegal characters removed', async () => {
    const root = tempDir('sub-');
    const header = ['index', 'image', 'question', 'answer', 'question_type', 'choices', 'precision'];
    writeTsv(path.join(root, 'MathVista_MINI.tsv'), header, [
      ['1', B64, 'What is 2+2?', '4', 'free_form', '', '1.0'],
      ['2', B64, 'Pick one', 'B', 'multi_choice', "['x', 'y']", ''],
    ]);
    const t = task('mathvista_testmini', 'vlmevalkit-xlsx', { path: 'MathVista_MINI.tsv' });
    const records = [rec('1', 'The answer is 4.\u0007'), rec('2', ' B ', { meta: { line: 3 } })];
    records[0].meta = { line: 2 };
    const s = await writeSubmission(root, t, records, { dataRoot: root });
    expect(await readSheet(s.file)).toEqual([
      ['index', 'question', 'answer', 'question_type', 'choices', 'precision', 'prediction'],
      [1, 'What is 2+2?', '4', 'free_form', null, 1, 'The answer is 4.'],
      [2, 'Pick one', 'B', 'multi_choice', "['x', 'y']", null, ' B '],
    ]);
  });

  it.each([
    [['1', '2', ''], true],
    [['1', 'a'], false],
    [['1.5', '-2', '3e4'], true],
    [['', ''], false],
  ])('isNumericColumn(%j) = %j', (values, want) => {
    expect(isNumericColumn(values)).toBe(want);
  });
});

describe('submitExternalTask', () => {
  it('an unknown format writes nothing and says so in the note', async () => {
    const dir = tempDir('sub-');
    const r = await submitExternalTask(dir, task('x', 'fax'), [rec('1', 'a')]);
    expect(r.file).toBeUndefined();
    expect(r.note).toMatch(
      /^x: score is external, not computed here \(hidden answers\); no submission file written: .*"fax"/,
    );
    expect(existsSync(path.join(dir, 'submissions'))).toBe(false);
  });
});

describe('runEvaluation writes the submission of an external task', () => {
  it('mmvet-json through the runner (fake adapter)', async () => {
    const root = tempDir('sub-');
    const { configDir, dataRoot } = writeTasks(root, [
      {
        name: 'vet',
        rows: [
          { question_id: 0, question: 'q answer:cat', answer: '' },
          { question_id: 1, question: 'fail please', answer: '' },
        ],
        external: true,
      },
    ]);
    const yaml = path.join(configDir, 'vet.yaml');
    writeFileSync(
      yaml,
      readFileSync(yaml, 'utf8').replace('submissionFormat: json', 'submissionFormat: mmvet-json'),
    );
    const out = path.join(root, 'run');
    const s = await runEvaluation({
      model: 'fake',
      backend: 'echo',
      tasks: ['vet'],
      configDir,
      dataRoot,
      out,
      progress: 'none',
      deps: fakeDeps,
      commandLine: ['test'],
      backendInstance: new FakeBackend(),
    });
    expect(s.tasks[0].submissionFile).toBe(path.join(out, 'submissions', 'vet.json'));
    expect(JSON.parse(readFileSync(s.tasks[0].submissionFile!, 'utf8'))).toEqual({ v1_0: 'cat', v1_1: '' });
    // writeRunSubmissions (merge / redo) rebuilds the same file from the manifest and the log.
    const first = readFileSync(s.tasks[0].submissionFile!, 'utf8');
    rmSync(path.join(out, 'submissions'), { recursive: true });
    const again = await writeRunSubmissions(out);
    expect(again.map((x) => x.task)).toEqual(['vet']);
    expect(readFileSync(s.tasks[0].submissionFile!, 'utf8')).toBe(first);
    expect(s.notes.join('\n')).toMatch(
      /vet: score is external, not computed here \(answers are hidden\); submission file submissions\/vet\.json \(mmvet-json, 2 rows\); 1 failed sample/,
    );
  });

  it('mmbench-xlsx through the real TSV adapter and prompt builder', async () => {
    const root = tempDir('sub-');
    const dataRoot = path.join(root, 'data');
    const rows = MMB_ROWS.map((r, i) => {
      const row = [...r];
      row[1] = `${row[1]} answer:${['dog', 'C', 'w'][i]}`; // FakeBackend echoes what follows "answer:"
      return row;
    });
    writeTsv(path.join(dataRoot, 'mmb.tsv'), MMB_HEADER, rows);
    const configDir = path.join(root, 'tasks');
    mkdirSync(configDir, { recursive: true });
    writeFileSync(
      path.join(configDir, 'mmbench_test_en.yaml'),
      [
        'name: mmbench_test_en',
        'title: MMBench-EN test',
        'group: image',
        'source: { format: vlmevalkit-tsv, path: mmb.tsv }',
        'prompt: { kind: mcq, style: internvl, lang: en }',
        'maxTiles: 6',
        'useThumbnail: true',
        'maxNewTokens: 100',
        'minNewTokens: 1',
        'scorer: { name: external }',
        'report: {}',
        'external: { reason: server-scored, submissionFormat: mmbench-xlsx }',
        '',
      ].join('\n'),
    );
    const s = await runEvaluation({
      model: 'fake',
      backend: 'echo',
      tasks: ['mmbench_test_en'],
      configDir,
      dataRoot,
      out: path.join(root, 'run'),
      progress: 'none',
      deps: realDeps,
      commandLine: ['test'],
      backendInstance: new FakeBackend(),
    });
    const data = await readSheet(s.tasks[0].submissionFile!);
    expect(data.map((r) => [r[0], r[6]])).toEqual([
      ['index', 'prediction'],
      [10, 'B'],
      [11, 'C'],
      [12, 'w'],
    ]);
  });
});

describe('results.md footnote', () => {
  it('says the score is external and where the submission file is', () => {
    const summary: ReportSummary = {
      run: 'r',
      model: 'm',
      variant: null,
      createdAt: '',
      rows: [
        {
          task: 'mmvet',
          title: 'MMVet',
          group: 'image',
          metric: 'external',
          unit: '',
          score: null,
          ci95: null,
          card: 44.6,
          delta: null,
          n: 2,
          errors: 0,
          tilesPerSample: null,
          imageTokensPerSample: null,
          latencyMsMean: null,
          samplesPerSec: null,
          external: 'GPT-4 judge',
          breakdown: {},
        },
      ],
    };
    const md = renderMarkdown(summary);
    expect(md).toContain('| MMVet | external¹ |');
    expect(md).toMatch(/no local score is computed/);
    expect(md).toContain('- MMVet: GPT-4 judge (file `submissions/mmvet.*`)');
  });
});
