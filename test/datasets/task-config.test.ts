import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scorerNames } from '../../src/metrics/registry.ts';
import {
  listTasks,
  loadPreset,
  loadTask,
  loadTaskFile,
  presetMaxTiles,
  TASKS_DIR,
} from '../../src/datasets/task-config.ts';
import { put, tempDir } from './helpers.ts';

const VQA = 'Answer the question using a single word or phrase.';

describe('task configs in configs/tasks', () => {
  it('every YAML loads, validates and is named after its file', async () => {
    const tasks = await listTasks();
    expect(tasks.length).toBeGreaterThanOrEqual(32);
    for (const t of tasks) expect(path.basename(t.file)).toBe(`${t.name}.yaml`);
  });

  it('covers every card row and split the issue lists', async () => {
    const names = new Set((await listTasks()).map((t) => t.name));
    for (const n of [
      'docvqa_val',
      'docvqa_test',
      'chartqa_test_human',
      'chartqa_test_augmented',
      'infovqa_val',
      'infovqa_test',
      'textvqa_val',
      'ocrbench',
      'mme',
      'ai2d_test',
      'mmbench_dev_en',
      'mmbench_dev_cn',
      'mmbench_test_en',
      'mmbench_test_cn',
      'ccbench_dev',
      'seed_image',
      'realworldqa',
      'hallusionbench',
      'mmmu_val',
      'mvbench',
      'videomme',
      'videomme_subs',
      'refcoco_val',
      'refcoco_testa',
      'refcoco_testb',
      'refcocoplus_val',
      'refcocoplus_testa',
      'refcocoplus_testb',
      'refcocog_val',
      'refcocog_test',
      'mmvet',
      'mathvista_testmini',
    ]) {
      expect(names.has(n), n).toBe(true);
    }
  });

  it('uses only scorers the metrics registry has (external = no local scorer)', async () => {
    for (const t of await listTasks()) {
      if (t.scorer.name === 'external') expect(t.external, t.name).toBeDefined();
      else expect(scorerNames, t.name).toContain(t.scorer.name);
    }
  });

  // Official settings, eval-protocols.md §2.2 / §3 / quick reference table.
  const official: [string, number, number, number | undefined][] = [
    ['docvqa_test', 18, 100, 86.9],
    ['chartqa_test_human', 12, 100, 76.2],
    ['infovqa_test', 24, 100, 58.9],
    ['textvqa_val', 6, 10, 73.4],
    ['ocrbench', 24, 1024, 784],
    ['mme', 6, 20, 1876.8],
    ['ai2d_test', 6, 10, 74.1],
    ['mmbench_test_en', 6, 100, 73.2],
    ['mmbench_test_cn', 6, 100, 70.9],
    ['ccbench_dev', 6, 100, 74.7],
    ['mmvet', 6, 1000, 44.6],
    ['seed_image', 6, 100, 71.6],
    ['hallusionbench', 6, 1024, 37.9],
    ['mathvista_testmini', 6, 1024, 46.3],
    ['mmmu_val', 12, 1024, 36.3],
    ['realworldqa', 6, 1024, 57.3],
    ['mvbench', 1, 1000, 60.2],
    ['videomme', 1, 1024, 45.0],
    ['videomme_subs', 1, 1024, 47.3],
    ['refcoco_val', 6, 100, 82.3],
    ['refcocoplus_testb', 6, 100, 63.3],
    ['refcocog_test', 6, 100, 78.3],
  ];
  it.each(official)('%s: tiles %i, max_new_tokens %i, card %s', async (name, tiles, maxNew, card) => {
    const t = await loadTask(name);
    expect(t.maxTiles).toBe(tiles);
    expect(t.maxNewTokens).toBe(maxNew);
    expect(t.report.card).toBe(card);
  });

  it('keeps the reference prompt joiners (InternVL space, VLMEvalKit newline, MMVet trailing space)', async () => {
    expect((await loadTask('textvqa_val')).prompt).toEqual({ kind: 'suffix', joiner: ' ', suffix: VQA });
    expect((await loadTask('ocrbench')).prompt).toEqual({ kind: 'suffix', joiner: '\n', suffix: VQA });
    expect((await loadTask('mmvet')).prompt).toEqual({
      kind: 'suffix',
      joiner: ' ',
      suffix: '',
      trailingJoiner: true,
    });
    expect((await loadTask('mme')).minNewTokens).toBe(0);
    expect((await loadTask('refcoco_val')).prompt).toEqual({
      kind: 'grounding',
      template:
        'Please provide the bounding box coordinate of the region this sentence describes: <ref>{}</ref>',
    });
  });

  it('reports ChartQA as the mean of its two parts, and judge/server tasks as external', async () => {
    const h = await loadTask('chartqa_test_human');
    const a = await loadTask('chartqa_test_augmented');
    expect(h.report.combine).toEqual({
      row: 'ChartQA test',
      tasks: ['chartqa_test_human', 'chartqa_test_augmented'],
      how: 'mean',
    });
    expect(a.report.combine).toEqual(h.report.combine);
    for (const n of [
      'mmvet',
      'mathvista_testmini',
      'docvqa_test',
      'infovqa_test',
      'mmbench_test_en',
      'mmbench_test_cn',
    ]) {
      expect((await loadTask(n)).external?.submissionFormat, n).toBeTruthy();
    }
  });

  it('preset internvl2-official: tile caps 6/12/18/24/1 agree with every task YAML, greedy', async () => {
    const p = await loadPreset('internvl2-official');
    expect(p.generation).toEqual({ doSample: false, temperature: 0, numBeams: 1 });
    const caps = new Set<number>();
    for (const t of await listTasks()) {
      expect(presetMaxTiles(p, t.name), t.name).toBe(t.maxTiles);
      caps.add(t.maxTiles);
    }
    expect([...caps].sort((x, y) => x - y)).toEqual([1, 6, 12, 18, 24]);
  });
});

describe('broken configs fail with the file and key', () => {
  const good = async () => await readFile(path.join(TASKS_DIR, 'textvqa_val.yaml'), 'utf8');
  const cases: [string, (y: string) => string, RegExp][] = [
    ['a wrong type', (y) => y.replace('maxTiles: 6', 'maxTiles: six'), /textvqa_val\.yaml: key "maxTiles"/],
    ['an unknown key', (y) => y + 'maxTile: 6\n', /key "\(top level\)".*maxTile/],
    ['an unknown scorer', (y) => y.replace('name: vqa_accuracy', 'name: vqa_acc'), /key "scorer\.name"/],
    ['an unknown format', (y) => y.replace('format: lmms-parquet', 'format: csv'), /key "source\.format"/],
    ['a prompt without its fields', (y) => y.replace('  joiner: " "\n', ''), /key "prompt\.joiner"/],
    [
      'a hub file leaving the repo',
      (y) => y.replace('files: [data/validation', 'files: [../data/validation'),
      /key "source\.hub\.files\.0"/,
    ],
    [
      'a YAML syntax error',
      (y) => y.replace('group: image', 'group: [image'),
      /textvqa_val\.yaml:\d+:\d+: YAML syntax error/,
    ],
    [
      'a name differing from the file',
      (y) => y.replace('name: textvqa_val', 'name: textvqa'),
      /key "name".*differs/,
    ],
  ];
  it.each(cases)('%s', async (_what, edit, re) => {
    const dir = await tempDir();
    const file = await put(dir, 'textvqa_val.yaml', edit(await good()));
    await expect(loadTaskFile(file)).rejects.toThrow(re);
  });

  it('an unknown task name lists the known ones', async () => {
    await expect(loadTask('docvqa')).rejects.toThrow(/unknown task "docvqa".*known: .*docvqa_val/);
  });

  it('a combine row naming a missing task is refused', async () => {
    const dir = await tempDir();
    const y = await readFile(path.join(TASKS_DIR, 'chartqa_test_human.yaml'), 'utf8');
    await put(dir, 'chartqa_test_human.yaml', y);
    await expect(listTasks({ configDir: dir })).rejects.toThrow(
      /key "report\.combine\.tasks": unknown task "chartqa_test_augmented"/,
    );
  });
});

describe('task families (extends:)', () => {
  const base = async () => await readFile(path.join(TASKS_DIR, 'families/refcoco.yaml'), 'utf8');
  const child = async () => await readFile(path.join(TASKS_DIR, 'refcoco_val.yaml'), 'utf8');
  const load = async (childYaml: string, baseYaml?: string) => {
    const dir = await tempDir();
    await put(dir, 'families/refcoco.yaml', baseYaml ?? (await base()));
    return loadTaskFile(await put(dir, 'refcoco_val.yaml', childYaml));
  };

  it('a child is its base with its own keys merged in (lists and scalars replace, mappings merge)', async () => {
    const t = await load(await child());
    expect(t).toMatchObject({
      name: 'refcoco_val',
      group: 'grounding',
      source: {
        format: 'refcoco-jsonl',
        path: 'data/refcoco/refcoco_val.jsonl',
        options: { imageRoot: '.' },
      },
      report: { card: 82.3 },
    });
    expect(Object.keys(t.source.options ?? {})).toEqual(['imageRoot', 'url']);
  });

  const refused: [string, (c: string) => string, (b: string) => string, RegExp][] = [
    [
      'a key the base does not list in childKeys',
      (c) => c + 'maxTiles: 12\n',
      (b) => b,
      /refcoco_val\.yaml: key "maxTiles": not settable by a task extending families\/refcoco\.yaml/,
    ],
    [
      'a nested key outside the allowed one',
      (c) => c.replace('  options:\n', '  options:\n    imageRoot: images\n'),
      (b) => b,
      /key "source\.options\.imageRoot": not settable/,
    ],
    ['a base with a name', (c) => c, (b) => 'name: refcoco\n' + b, /families\/refcoco\.yaml: key "name"/],
    ['a base without childKeys', (c) => c, (b) => b.replace(/^childKeys:.*$/m, ''), /key "childKeys"/],
    [
      'a merged config that fails the task schema',
      (c) => c,
      (b) => b.replace('maxNewTokens: 100', 'maxNewTokens: many'),
      /refcoco_val\.yaml: key "maxNewTokens"/,
    ],
  ];
  it.each(refused)('refuses %s, naming the file and key', async (_what, editChild, editBase, re) => {
    await expect(load(editChild(await child()), editBase(await base()))).rejects.toThrow(re);
  });

  it('a missing base names the child and the path', async () => {
    const dir = await tempDir();
    const file = await put(dir, 'refcoco_val.yaml', await child());
    await expect(loadTaskFile(file)).rejects.toThrow(
      /refcoco_val\.yaml: key "extends": .*families\/refcoco\.yaml: cannot read \(ENOENT\)/,
    );
  });
});

describe('datasets list rows', () => {
  it('show source, size and card value, with the combined card row for ChartQA', async () => {
    const { formatTaskTable, taskRow } = await import('../../src/datasets/task-table.ts');
    const rows = (await listTasks()).map(taskRow);
    const chart = rows.find((r) => r.name === 'chartqa_test_human')!;
    expect(chart).toMatchObject({
      source: 'hf:datasets/lmms-lab/ChartQA',
      samples: 1250,
      card: 76.2,
      cardRow: 'ChartQA test (mean)',
    });
    expect(rows.find((r) => r.name === 'ocrbench')).toMatchObject({
      source: 'local:OCRBench.tsv',
      card: 784,
      external: false,
    });
    expect(rows.find((r) => r.name === 'mmvet')).toMatchObject({ external: true });
    const table = formatTaskTable(rows).split('\n');
    expect(table[0]).toMatch(/^task\s+title\s+format\s+source\s+samples\s+card\s+scored$/);
    expect(table.find((l) => l.startsWith('mme '))).toMatch(
      /MME sum\s+mme-txt\s+hf:OpenGVLab\/InternVL\s+2374\s+1876\.8\s+mme/,
    );
    expect(table).toHaveLength(rows.length + 2);
  });
});
