import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildSamplePrompt, compactImageTokens } from '../../../src/model/inputs/sample-prompt.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fixtureDir = path.resolve(repoRoot, '../shared/fixtures/internlm2-tokenizer');
const SYS =
  '你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型，英文名叫InternVL, 是一个有用无害的人工智能助手。';

describe('buildSamplePrompt', () => {
  it('puts the recipe text in the template with the image expanded', () => {
    const { userText, prompt } = buildSamplePrompt(
      { kind: 'suffix', joiner: ' ', suffix: 'Answer briefly.' },
      { id: '1', task: 't', images: [], question: 'Q?', answers: [], meta: {} },
      [2],
      3,
    );
    expect(userText).toBe('Q? Answer briefly.');
    expect(compactImageTokens(prompt)).toBe(
      `<|im_start|>system\n${SYS}<|im_end|><|im_start|>user\n<img><IMG_CONTEXT>×6</img>\nQ? Answer briefly.<|im_end|><|im_start|>assistant\n`,
    );
  });
});

describe('internvl-eval prompt', () => {
  it('prints the prompt and ids for a task YAML from --config-dir', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'prompt-cli-'));
    // A task YAML of our own: the textvqa config with another suffix (so the test does not depend on its text).
    const yaml = readFileSync(path.join(repoRoot, 'configs/tasks/textvqa_val.yaml'), 'utf8').replace(
      'suffix: "Answer the question using a single word or phrase."',
      'suffix: "Be brief."',
    );
    writeFileSync(path.join(dir, 'textvqa_val.yaml'), yaml);
    const tokDir = path.join(dir, 'tok');
    execFileSync('mkdir', [tokDir]);
    copyFileSync(path.join(fixtureDir, 'tokenizer.model'), path.join(tokDir, 'tokenizer.model'));
    const out = execFileSync(
      process.execPath,
      [
        'bin/internvl-eval.js',
        'prompt',
        '--task',
        'textvqa_val',
        '--question',
        'what is written?',
        '--tiles',
        '2',
        '--config-dir',
        dir,
        '--tokenizer',
        tokDir,
        '--json',
      ],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    const r = JSON.parse(out) as { task: string; userText: string; prompt: string; ids: number[] };
    expect(r.task).toBe('textvqa_val');
    expect(r.userText).toBe('what is written? Be brief.');
    expect(r.prompt).toBe(
      `<|im_start|>system\n${SYS}<|im_end|><|im_start|>user\n<img>${'<IMG_CONTEXT>'.repeat(512)}</img>\nwhat is written? Be brief.<|im_end|><|im_start|>assistant\n`,
    );
    expect(r.ids[0]).toBe(1);
    expect(r.ids.filter((id) => id === 92546)).toHaveLength(512);
    // ... Be brief.<|im_end|><|im_start|>assistant\n
    expect(r.ids.slice(-5)).toEqual([92542, 92543, 525, 11353, 364]);
  });
});
