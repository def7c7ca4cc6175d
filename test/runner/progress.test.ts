import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, formatProgressLine } from '../../src/runner/progress.ts';

describe('progress', () => {
  it.each([
    ['t', 120, 5349, 4.1, 0, 't 120/5349 (2.2%) 4.10 samples/s ETA 21m15s errors 0'],
    ['t', 5, null, 2, 1, 't 5/? 2.00 samples/s ETA ? errors 1'],
    ['t', 0, 10, 0, 0, 't 0/10 (0.0%) 0.00 samples/s ETA ? errors 0'],
    ['t', 1, 40000, 1, 0, 't 1/40000 (0.0%) 1.00 samples/s ETA 11h06m errors 0'],
  ] as const)('formats %s %d/%s', (task, done, total, rate, errors, want) => {
    expect(formatProgressLine(task, done, total, rate, errors)).toBe(want);
  });

  it('writes plain lines off a TTY: a start line, periodic lines, a done line with the error count', () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    let text = '';
    (stream as unknown as PassThrough).on('data', (d) => (text += String(d)));
    const p = createProgress('auto', stream, 0);
    const t = p.startTask('alpha', 3, 1);
    t.sampleDone(false);
    t.sampleDone(true);
    t.end();
    p.close();
    const lines = text.trim().split('\n');
    expect(lines[0]).toMatch(/^alpha 1\/3 \(33\.3%\)/);
    expect(lines.at(-1)).toMatch(/^alpha 3\/3 \(100\.0%\) .* errors 1 done$/);
    expect(lines).toHaveLength(4);
  });

  it('is silent with none (--quiet)', () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    let text = '';
    (stream as unknown as PassThrough).on('data', (d) => (text += String(d)));
    const t = createProgress('none', stream).startTask('alpha', 3, 0);
    t.sampleDone(true);
    t.end();
    expect(text).toBe('');
  });
});
