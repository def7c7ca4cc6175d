/// <reference lib="dom" />
/**
 * The HTML report in a real headless browser (Debian's chromium, driven by playwright-core): it renders, the
 * charts draw, and a prediction holding `<script>` shows as text and never runs.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRunReport } from '../../src/report/run-report.ts';
import { makeRun, taskConfig } from './fixture-run.ts';

const CHROMIUM =
  process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

let browser: Browser;
let htmlFile: string;

beforeAll(async () => {
  if (!CHROMIUM)
    throw new Error('chromium not found: install Debian chromium (.ci/run does) or set CHROMIUM_PATH');
  const dir = await makeRun('browser-run', [
    {
      config: taskConfig('textvqa_val', {
        title: 'TextVQA val',
        scorer: { name: 'exact_match' },
        report: { card: 73.4 },
      }),
      samples: [
        { id: 's1', prediction: 'stop', answers: ['stop'] },
        {
          id: 's2',
          prediction: '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">',
          answers: ['yes'],
        },
        { id: 's3', prediction: 'no', answers: ['no'] },
      ],
    },
  ]);
  htmlFile = (await writeRunReport(dir)).html;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
});

describe('report.html in chromium', () => {
  it('renders tables, draws charts, and shows hostile predictions as text', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    let dialogs = 0;
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('dialog', async (d) => {
      dialogs++;
      await d.dismiss();
    });
    await page.goto(`file://${htmlFile}`);
    await page.waitForFunction(() => (window as any).__chartsDrawn > 0);
    expect(errors).toEqual([]);
    expect(await page.textContent('table')).toContain('TextVQA val');
    // The chart canvas has drawn pixels (not a blank canvas).
    const painted = await page.evaluate(() => {
      const c = document.querySelector('#charts canvas') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    });
    expect(painted).toBeGreaterThan(1000);
    const cells = await page.$$eval('#samples tbody td', (tds) => tds.map((td) => td.textContent));
    expect(cells).toContain('<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">');
    expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
    expect(await page.$$('#samples tbody img')).toHaveLength(0);
    expect(dialogs).toBe(0);
    // The filter works: only the wrong sample remains.
    await page.selectOption('#filter', 'wrong');
    expect(await page.$$eval('#samples tbody tr', (trs) => trs.length)).toBe(1);
    await page.close();
  });
});
