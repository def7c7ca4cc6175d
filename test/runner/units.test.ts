import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffConfigKeys } from '../../src/runner/config-diff.ts';
import { PredictionLogWriter, readPredictionLog } from '../../src/runner/prediction-log.ts';
import { compareIdsNaturally } from '../../src/runner/record-order.ts';
import { parseShard, shardOf } from '../../src/runner/shard.ts';
import { parseLimit } from '../../src/runner/run-evaluation.ts';
import { tempDir } from './helpers.ts';

const rec = (id: string) => ({
  id,
  task: 't',
  promptHash: '',
  prompt: 'q',
  tiles: [],
  imageTokens: 0,
  promptTokens: 0,
  outputTokens: 0,
  latencyMs: 0,
  prediction: 'p',
  answers: ['a'],
  score: 1,
});

describe('prediction log', () => {
  const cases: { name: string; tail: string; records: number; torn: boolean }[] = [
    { name: 'clean', tail: '', records: 2, torn: false },
    { name: 'half a JSON line', tail: '{"id":"3","ta', records: 2, torn: true },
    { name: 'complete JSON without newline', tail: JSON.stringify(rec('3')), records: 2, torn: true },
    { name: 'garbage last line with newline', tail: '{"id":\n', records: 2, torn: true },
    { name: 'blank lines', tail: '\n\n', records: 2, torn: false },
  ];
  for (const c of cases) {
    it(`reads a log with ${c.name} and repairs it`, () => {
      const file = path.join(tempDir(), 'log.jsonl');
      writeFileSync(file, JSON.stringify(rec('1')) + '\n' + JSON.stringify(rec('2')) + '\n' + c.tail);
      const got = readPredictionLog(file, { repair: true });
      expect(got.records.map((r) => r.id)).toEqual(['1', '2'].slice(0, c.records));
      expect(got.tornBytes > 0).toBe(c.torn);
      // After repair the file is clean and appends land on a fresh line.
      const w = new PredictionLogWriter(file, ['1', '2']);
      w.append(rec('3'));
      w.close();
      expect(readPredictionLog(file).records.map((r) => r.id)).toEqual(['1', '2', '3']);
    });
  }

  it('refuses a corrupt line in the middle, naming file and line', () => {
    const file = path.join(tempDir(), 'log.jsonl');
    writeFileSync(file, JSON.stringify(rec('1')) + '\nnot json\n' + JSON.stringify(rec('2')) + '\n');
    expect(() => readPredictionLog(file)).toThrow(/log\.jsonl:2: not valid JSON/);
  });

  it('never appends an id twice', () => {
    const file = path.join(tempDir(), 'log.jsonl');
    const w = new PredictionLogWriter(file, ['1']);
    expect(() => w.append(rec('1'))).toThrow(/already logged/);
    w.append(rec('2'));
    w.close();
    appendFileSync(file, '');
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
  });
});

describe('natural id order', () => {
  const table: [string, string, number][] = [
    ['q2', 'q10', -1],
    ['10', '9', 1],
    ['a', 'b', -1],
    ['img_007', 'img_7', 1],
    ['x1y2', 'x1y10', -1],
    ['same', 'same', 0],
    ['123456789012345678901234567890', '123456789012345678901234567891', -1],
  ];
  it.each(table)('%s vs %s', (a, b, sign) => {
    expect(Math.sign(compareIdsNaturally(a, b))).toBe(sign);
    expect(Math.sign(compareIdsNaturally(b, a)) + 0).toBe(-sign + 0);
  });
});

describe('shards', () => {
  it.each([
    ['0/1', { index: 0, count: 1 }],
    ['3/4', { index: 3, count: 4 }],
    [' 1 / 2 ', { index: 1, count: 2 }],
  ])('parses %s', (text, want) => expect(parseShard(text)).toEqual(want));
  it.each(['4/4', '1/0', 'a/b', '1', '-1/2'])('refuses %s', (text) =>
    expect(() => parseShard(text)).toThrow(/--shard/),
  );
  it('partitions ids stably and roughly evenly', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[shardOf('t', String(i), 4)]++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
    expect(shardOf('t', '17', 4)).toBe(shardOf('t', '17', 4));
  });
});

describe('limit and config diff', () => {
  it.each([
    ['5', 5],
    ['0.25', 0.25],
  ])('parses --limit %s', (t, n) => expect(parseLimit(t)).toBe(n));
  it.each(['0', '-1', '1.5', 'x'])('refuses --limit %s', (t) =>
    expect(() => parseLimit(t)).toThrow(/--limit/),
  );
  it('names the differing keys', () => {
    expect(
      diffConfigKeys(
        { a: 1, tasks: { x: { maxTiles: 6, p: [1] } }, s: null },
        { a: 1, tasks: { x: { maxTiles: 12, p: [1] }, y: {} }, s: { index: 0 } },
      ),
    ).toEqual(['s', 'tasks.x.maxTiles', 'tasks.y']);
  });
});
