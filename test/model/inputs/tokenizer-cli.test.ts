import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { InternLM2Tokenizer } from '../../../src/model/inputs/tokenizer.ts';
import { tokenizeJsonl, tokenizeText } from '../../../src/model/inputs/tokenize-jsonl.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fixtureDir = path.resolve(repoRoot, '../shared/fixtures/internlm2-tokenizer');

let tok: InternLM2Tokenizer;
beforeAll(async () => {
  tok = await InternLM2Tokenizer.fromDir(fixtureDir);
});

describe('tokenizeJsonl', () => {
  it('adds "ids" to each line, keeping the other fields and skipping blank lines', () => {
    const out = tokenizeJsonl(tok, '{"id":7,"text":"Hello world"}\n\n{"text":"<|im_end|>"}\n', 'in.jsonl');
    expect(out).toEqual([
      '{"id":7,"text":"Hello world","ids":[1,9843,2028]}',
      '{"text":"<|im_end|>","ids":[1,92542]}',
    ]);
    expect(tokenizeJsonl(tok, '{"text":"Hello world"}', 'in.jsonl', { raw: true })).toEqual([
      '{"text":"Hello world","ids":[9843,2028]}',
    ]);
  });

  const bad: [string, string, RegExp][] = [
    ['broken JSON', '{"text":"a"}\n{oops', /in\.jsonl:2: not valid JSON/],
    ['not an object', '[1,2]', /in\.jsonl:1: expected a JSON object/],
    ['text missing', '{"txt":"a"}', /in\.jsonl:1: field "text" must be a string/],
  ];
  it.each(bad)('%s → FILE:LINE error', (_n, input, re) => {
    expect(() => tokenizeJsonl(tok, input, 'in.jsonl')).toThrow(re);
  });

  it('--raw does not split added tokens nor add BOS', () => {
    expect(tokenizeText(tok, '<|im_start|>', { raw: true })).toEqual([333, 352, 449, 5064, 352, 330]);
    expect(tokenizeText(tok, '<|im_start|>')).toEqual([1, 92543]);
  });
});

describe('internvl-eval tokenize', () => {
  // One process only: each CLI start costs seconds on CI cores (the --text path is tokenizeText, tested above).
  it('prints one line per --input line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tok-cli-'));
    const input = path.join(dir, 'in.jsonl');
    writeFileSync(input, '{"text":"Hello world"}\n');
    const run = (...args: string[]) =>
      execFileSync(process.execPath, ['bin/internvl-eval.js', 'tokenize', ...args], {
        cwd: repoRoot,
        encoding: 'utf8',
      });
    expect(run('--tokenizer', path.join(fixtureDir, 'tokenizer.model'), '--input', input, '--raw')).toBe(
      '{"text":"Hello world","ids":[9843,2028]}\n',
    );
  });
});
