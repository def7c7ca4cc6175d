import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  aggregateJson,
  formatAggregate,
  parseDelimited,
  parseJsonl,
  scoreFile,
  serializeRecords,
} from '../../src/metrics/score-file.ts';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'score-file-'));

describe('parsing prediction files', () => {
  it('JSONL: blank lines skipped, line numbers kept, non-objects rejected with FILE:LINE', () => {
    const recs = parseJsonl('{"id":"a","prediction":"x"}\n\n{"id":"b","prediction":"y"}\r\n', 'f.jsonl');
    expect(recs.map((r) => r.line)).toEqual([1, 3]);
    expect(() => parseJsonl('{"id":"a"}\n[1,2]\n', 'f.jsonl')).toThrow(
      'f.jsonl:2: a line must be a JSON object',
    );
    expect(() => parseJsonl('{"id":"a"}\n{oops\n', 'f.jsonl')).toThrow(/^f\.jsonl:2: not valid JSON/);
  });

  it('CSV: JSON columns parsed, numeric columns converted, quoted newlines counted in line numbers', () => {
    const csv = 'id,prediction,answers,width,note\nq1,"two\nlines","[""a"",""b""]",640,x\nq2,y,"[""c""]",,\n';
    const recs = parseDelimited(csv, 'f.csv', ',');
    expect(recs).toEqual([
      { line: 2, record: { id: 'q1', prediction: 'two\nlines', answers: ['a', 'b'], width: 640, note: 'x' } },
      { line: 4, record: { id: 'q2', prediction: 'y', answers: ['c'] } },
    ]);
    expect(() => parseDelimited('id,prediction,answers\nq1,x,[oops\n', 'f.csv', ',')).toThrow(
      'f.csv:2: field "answers" must be JSON text',
    );
  });

  it('TSV with a BOM', () => {
    const recs = parseDelimited('\uFEFFid\tprediction\tanswer\nq\tA\tA\n', 'f.tsv', '\t');
    expect(recs[0].record).toEqual({ id: 'q', prediction: 'A', answer: 'A' });
  });
});

describe('scoreFile', () => {
  it('scores, writes every record back with score/extracted, and returns the aggregate', async () => {
    const dir = tmp();
    const input = path.join(dir, 'in.jsonl');
    const output = path.join(dir, 'out.jsonl');
    writeFileSync(
      input,
      [
        { id: '1', prediction: 'B.', answer: 'B', choices: { A: 'cat', B: 'dog' }, extra: 7 },
        { id: '2', prediction: 'a cat', answer: 'B', choices: { A: 'cat', B: 'dog' } },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const { aggregate } = await scoreFile(input, 'mcq', { output });
    expect(aggregate.score).toBe(50);
    const out = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out[0]).toMatchObject({ id: '1', extra: 7, score: 1, extracted: 'B' });
    expect(out[1]).toMatchObject({ id: '2', score: 0, extracted: 'A' });
    expect(JSON.parse(aggregateJson(aggregate))).toMatchObject({ metric: 'mcq', n: 2, score: 50 });
    expect(formatAggregate(aggregate)).toMatch(/score\s+50 \(x100\)\s+95% CI \[/);
  });

  it('a bad line stops with FILE:LINE: field and leaves no output (not even a temp file)', async () => {
    const dir = tmp();
    const input = path.join(dir, 'in.jsonl');
    const output = path.join(dir, 'out.jsonl');
    writeFileSync(input, '{"id":"1","prediction":"a","answers":["a"]}\n{"id":"2","prediction":"b"}\n');
    await expect(scoreFile(input, 'anls', { output })).rejects.toThrow(
      `${input}:2: field "answers" is missing`,
    );
    expect(existsSync(output)).toBe(false);
    expect(readdirSync(dir)).toEqual(['in.jsonl']);
  });

  it('scorer field errors carry the line too', async () => {
    const dir = tmp();
    const input = path.join(dir, 'in.jsonl');
    writeFileSync(input, '{"id":"1","prediction":"a","answers":["a"],"category":"Nope"}\n');
    await expect(scoreFile(input, 'ocrbench')).rejects.toThrow(
      `${input}:1: field "category" "Nope" is not an OCRBench category`,
    );
  });

  it('an existing output is untouched when scoring fails', async () => {
    const dir = tmp();
    const input = path.join(dir, 'in.jsonl');
    const output = path.join(dir, 'out.jsonl');
    writeFileSync(output, 'old\n');
    writeFileSync(input, '{"id":"1","prediction":2,"answers":["a"]}\n');
    await expect(scoreFile(input, 'anls', { output })).rejects.toThrow(
      `${input}:1: field "prediction" must be a string`,
    );
    expect(readFileSync(output, 'utf8')).toBe('old\n');
  });

  it('VLMEvalKit-style TSV: index as id, option columns, circular rotations by index', async () => {
    const dir = tmp();
    const input = path.join(dir, 'MMBench_DEV_EN.tsv');
    writeFileSync(
      input,
      'index\tquestion\tA\tB\tC\tanswer\tcategory\tprediction\n' +
        '1\tq\tcat\tdog\t\tA\tx\tA\n' +
        '1000001\tq\tdog\tcat\t\tB\tx\tcat\n' +
        '2\tq\tred\tblue\tgreen\tC\ty\tC\n' +
        '1000002\tq\tgreen\tred\tblue\tA\ty\tB\n',
    );
    const { aggregate, records } = await scoreFile(input, 'mcq');
    expect(records.map((r) => r.extracted)).toEqual(['A', 'B', 'C', 'B']);
    expect(aggregate.n).toBe(2);
    expect(aggregate.score).toBe(50);
    expect(aggregate.breakdown).toEqual({ x: 100, y: 0 });
  });

  it('OCRBench answer as a Python list literal (VLMEvalKit eval()s it)', async () => {
    const dir = tmp();
    const input = path.join(dir, 'OCRBench.tsv');
    writeFileSync(
      input,
      'index\tanswer\tcategory\tprediction\n' +
        `0\t['Centre', "it's"]\tRegular Text Recognition\tit's here\n` +
        '1\t[not a list\tRegular Text Recognition\t[not a list!\n',
    );
    const { aggregate } = await scoreFile(input, 'ocrbench');
    expect(aggregate.score).toBe(2);
  });

  it('MME with VLMEvalKit image_path pairs', async () => {
    const dir = tmp();
    const input = path.join(dir, 'mme.jsonl');
    const rows = [
      { index: 0, image_path: 'a.jpg', category: 'OCR', answer: 'Yes', prediction: 'Yes' },
      { index: 1, image_path: 'a.jpg', category: 'OCR', answer: 'No', prediction: 'No' },
      { index: 2, image_path: 'b.jpg', category: 'OCR', answer: 'Yes', prediction: 'Yes' },
      { index: 3, image_path: 'b.jpg', category: 'OCR', answer: 'No', prediction: 'Yes' },
    ];
    writeFileSync(input, rows.map((r) => JSON.stringify(r)).join('\n'));
    const { aggregate } = await scoreFile(input, 'mme_vlmevalkit');
    expect(aggregate.breakdown.OCR).toBe(75 + 50);
    expect(aggregate.score).toBe(125);
  });

  it('CSV output keeps objects as JSON text', () => {
    const text = serializeRecords([{ id: '1', answers: ['a'], score: 1 }], 'x.csv');
    expect(text).toBe('id,answers,score\n1,"[""a""]",1\n');
  });
});
