import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('internvl-eval CLI', () => {
  it('lists every command in --help', () => {
    const out = execFileSync(process.execPath, ['bin/internvl-eval.js', '--help'], { encoding: 'utf8' });
    for (const cmd of ['score', 'preprocess', 'tokenize', 'prompt', 'run', 'compare', 'gate']) {
      expect(out).toContain(`internvl-eval ${cmd}`);
    }
  });
});
