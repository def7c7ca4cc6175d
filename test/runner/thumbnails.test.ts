import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { thumbnailName, thumbnailPath, writeThumbnail } from '../../src/runner/thumbnails.ts';
import { runWithReport } from '../../src/report/run-with-report.ts';
import { FakeBackend, fakeDeps, tempDir, writeTasks } from '../runner/helpers.ts';

describe('thumbnails', () => {
  it('names files safely and distinctly for ids with separators', () => {
    expect(thumbnailName('a/b')).not.toContain('/');
    expect(thumbnailName('..')).not.toBe(thumbnailName('%2E%2E'));
    expect(thumbnailName('x.y')).toBe('x%2Ey.jpg');
  });

  it('skips images that cannot be decoded instead of failing', async () => {
    const dir = tempDir('thumb-');
    expect(await writeThumbnail(dir, 't', 'bad', new Uint8Array([1, 2, 3]))).toBe(false);
    expect(existsSync(thumbnailPath(dir, 't', 'bad'))).toBe(false);
  });

  it('the runner writes them and the HTML report embeds them', async () => {
    const root = tempDir('thumb-run-');
    const rows = [0, 1].map((i) => ({
      question_id: i,
      question: `q${i} answer:yes`,
      answer: 'yes',
      image: `${i}.png`,
    }));
    const { configDir, dataRoot } = writeTasks(root, [{ name: 'thumbs', rows }]);
    const out = path.join(root, 'run');
    const summary = await runWithReport({
      model: 'fake',
      tasks: ['thumbs'],
      configDir,
      dataRoot,
      deps: fakeDeps,
      backendInstance: new FakeBackend(),
      progress: 'none',
      out,
    });
    expect(existsSync(thumbnailPath(out, 'thumbs', '0'))).toBe(true);
    const html = await readFile(summary.report!, 'utf8');
    expect(html.match(/data:image\/jpeg;base64,/g)?.length).toBe(2);
  });
});
