import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWithReport, writeReportStep } from '../../src/report/run-with-report.ts';
import { FakeBackend, fakeDeps, tempDir, writeTasks } from '../runner/helpers.ts';

const rows = [0, 1, 2].map((i) => ({ question_id: i, question: `q${i} answer:yes`, answer: 'yes' }));

describe('runWithReport: the runner writes the run folder, this step adds the report', () => {
  it('writes report.html and records its path; report=false leaves the run folder alone', async () => {
    const root = tempDir('with-report-');
    const { configDir, dataRoot } = writeTasks(root, [{ name: 'alpha', rows }]);
    const base = {
      model: 'fake',
      tasks: ['alpha'],
      configDir,
      dataRoot,
      deps: fakeDeps,
      progress: 'none' as const,
    };
    const a = await runWithReport({ ...base, out: path.join(root, 'a'), backendInstance: new FakeBackend() });
    expect(a.report).toBe(path.join(root, 'a', 'report.html'));
    expect(existsSync(a.report!)).toBe(true);
    const b = await runWithReport(
      { ...base, out: path.join(root, 'b'), backendInstance: new FakeBackend() },
      false,
    );
    expect(b.report).toBeUndefined();
    expect(existsSync(path.join(root, 'b', 'report.html'))).toBe(false);
    expect(existsSync(path.join(root, 'b', 'manifest.json'))).toBe(true);
  });

  it('a report that cannot be written is a note, not a lost run', async () => {
    const root = tempDir('with-report-bad-');
    const runDir = path.join(root, 'not-a-run');
    mkdirSync(runDir, { recursive: true });
    writeFileSync(path.join(runDir, 'manifest.json'), '{ broken');
    const step = await writeReportStep(runDir);
    expect(step.path).toBeUndefined();
    expect(step.note).toMatch(/^report: writeRunReport failed: /);
  });
});
