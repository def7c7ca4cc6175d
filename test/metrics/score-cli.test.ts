// End-to-end: spawn the real CLI on temp files.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const run = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/internvl-eval.js', 'score', ...args], { encoding: 'utf8' });

describe('internvl-eval score', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'score-cli-'));

  it('JSONL in, --json aggregate out, scored records written', () => {
    const input = path.join(dir, 'docvqa.jsonl');
    const output = path.join(dir, 'scored.jsonl');
    writeFileSync(
      input,
      '{"id":"1","prediction":"Paris","answers":["paris"]}\n{"id":"2","prediction":"hallo","answers":["hello"]}\n',
    );
    const r = run('--metric', 'anls', '--input', input, '--output', output, '--json');
    expect(r.status, r.stderr).toBe(0);
    const agg = JSON.parse(r.stdout);
    expect(agg).toMatchObject({ metric: 'anls', n: 2, score: 90, breakdown: {} });
    expect(agg.ci95).toHaveLength(2);
    const lines = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.score)).toEqual([1, 0.8]);
  });

  it('CSV input with JSON-valued columns, readable table', () => {
    const input = path.join(dir, 'refcoco.csv');
    writeFileSync(
      input,
      'id,prediction,bbox,width,height\n' +
        'a,"<box>[[100, 100, 500, 500]]</box>","[64,48,320,240]",640,480\n' +
        'b,"[[600, 600, 900, 900]]","[64,48,320,240]",640,480\n',
    );
    const r = run('--metric', 'refcoco_acc', '--input', input);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/metric\s+refcoco_acc/);
    expect(r.stdout).toMatch(/score\s+50 \(x100\)\s+95% CI \[0, 100\]/);
  });

  it('a bad line names file, line and field; nothing is written', () => {
    const input = path.join(dir, 'bad.jsonl');
    const output = path.join(dir, 'never.jsonl');
    writeFileSync(input, '{"id":"1","prediction":"A","answer":"A"}\n{"id":"2","prediction":"B"}\n');
    const r = run('--metric', 'seed', '--input', input, '--output', output);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${input}:2: field "answer" is missing`);
    expect(existsSync(output)).toBe(false);
  });

  it('an unknown metric is refused with the valid names', () => {
    const r = run('--metric', 'nope', '--input', 'x.jsonl');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Choices: "anls", "vqa_accuracy"/);
  });
});
