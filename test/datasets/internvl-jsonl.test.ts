import { describe, expect, it } from 'vitest';
import { collect, png, put, split, task, tempDir } from './helpers.ts';

const jsonl = (rows: unknown[]) =>
  rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

describe('internvl-jsonl adapter', () => {
  it('reads DocVQA-style lines with answers from val_v1.0.json (data[].questionId/answers)', async () => {
    const root = await tempDir();
    const red = await png(4, 3, [255, 0, 0]);
    await put(root, 'data/docvqa/val/documents/a.png', red);
    await put(
      root,
      'data/docvqa/val.jsonl',
      jsonl([
        { image: 'data/docvqa/val/documents/a.png', question: 'What is the date?', question_id: 57349 },
        { image: 'data/docvqa/val/documents/a.png', question: 'Who signed?', question_id: 57350 },
      ]),
    );
    await put(
      root,
      'data/docvqa/val/val_v1.0.json',
      JSON.stringify({
        data: [
          { questionId: 57349, answers: ['1/8/93', 'January 8, 1993'] },
          { questionId: 57350, answers: ['T.F. Riehl'] },
        ],
      }),
    );
    const t = task({
      format: 'internvl-jsonl',
      path: 'data/docvqa/val.jsonl',
      options: { gt: { file: 'data/docvqa/val/val_v1.0.json', kind: 'docvqa' } },
    });
    const { samples, errors } = split(await collect(t, root));
    expect(errors).toEqual([]);
    expect(samples.map((s) => [s.id, s.question, s.answers])).toEqual([
      ['57349', 'What is the date?', ['1/8/93', 'January 8, 1993']],
      ['57350', 'Who signed?', ['T.F. Riehl']],
    ]);
    expect(Buffer.from(await samples[0].images[0].load())).toEqual(red);
  });

  it('reads TextVQA answers from the annotations file and insists on exactly 10 (textvqa_eval assert)', async () => {
    const root = await tempDir();
    await put(root, 'img/1.png', await png(2, 2, [0, 0, 255]));
    const ten = Array.from({ length: 10 }, (_, k) => ({
      answer: k < 7 ? 'nokia' : 'nokia phone',
      answer_id: k + 1,
    }));
    await put(
      root,
      'textvqa_val.jsonl',
      jsonl([
        { image: 'img/1.png', question: 'what brand?', question_id: 34602, answer: 'nokia' },
        { image: 'img/1.png', question: 'what model?', question_id: 34603 },
      ]),
    );
    await put(
      root,
      'textvqa_val_annotations.json',
      JSON.stringify({
        annotations: [
          { question_id: 34602, answers: ten },
          { question_id: 34603, answers: ten.slice(0, 9) },
        ],
      }),
    );
    const t = task({
      format: 'internvl-jsonl',
      path: 'textvqa_val.jsonl',
      options: { gt: { file: 'textvqa_val_annotations.json', kind: 'vqa-annotations' }, expectAnswers: 10 },
    });
    const { samples, errors } = split(await collect(t, root));
    expect(samples).toHaveLength(1);
    expect(samples[0].answers).toHaveLength(10);
    expect(samples[0].answers.filter((a) => a === 'nokia')).toHaveLength(7);
    expect(errors).toEqual([
      {
        id: '34603',
        task: 'test_task',
        error: 'textvqa_val.jsonl:2: question "34603" has 9 answers, expected 10',
      },
    ]);
  });

  it('maps MM-Vet `text` onto the question through the fields table', async () => {
    const root = await tempDir();
    await put(root, 'images/v1_0.png', await png(2, 2, [1, 2, 3]));
    await put(root, 'mmvet.jsonl', jsonl([{ question_id: 0, image: 'v1_0.png', text: 'What is x?' }]));
    const t = task(
      { format: 'internvl-jsonl', path: 'mmvet.jsonl', options: { imageRoot: 'images' } },
      { fields: { question_id: 'id', text: 'question', image: 'image' } },
    );
    const { samples } = split(await collect(t, root));
    expect(samples.map((s) => [s.id, s.question, s.answers])).toEqual([['0', 'What is x?', []]]);
  });

  it('turns bad rows into SampleErrors naming file, line and field, and keeps going', async () => {
    const root = await tempDir();
    await put(root, 'data/ok.png', await png(2, 2, [9, 9, 9]));
    await put(
      root,
      'q.jsonl',
      jsonl([
        { image: 'data/ok.png', question: 'fine', question_id: 1, answer: 'A' },
        '{"image": "data/ok.png", "question": ',
        { image: 'data/ok.png', question_id: 3, answer: 'B' },
        { image: 'data/missing.png', question: 'q', question_id: 4, answer: 'C' },
        { image: '../../etc/passwd', question: 'q', question_id: 5, answer: 'D' },
        { image: '/etc/passwd', question: 'q', question_id: 6, answer: 'D' },
        { image: 'data/ok.png', question: 'last', question_id: 7, answer: 'E' },
      ]),
    );
    const { samples, errors } = split(
      await collect(task({ format: 'internvl-jsonl', path: 'q.jsonl' }), root),
    );
    expect(samples.map((s) => s.id)).toEqual(['1', '7']);
    expect(errors.map((e) => e.id)).toEqual(['line2', '3', '4', '5', '6']);
    expect(errors[0].error).toMatch(/^q\.jsonl:2: invalid JSON line/);
    expect(errors[1].error).toBe('q.jsonl:3: field "question" is missing');
    expect(errors[2].error).toMatch(/^q\.jsonl:4: field "image": file not found: .*data\/missing\.png$/);
    expect(errors[3].error).toMatch(
      /^q\.jsonl:5: field "image": path "\.\.\/\.\.\/etc\/passwd" escapes the dataset root/,
    );
    expect(errors[4].error).toMatch(/^q\.jsonl:6: field "image": path "\/etc\/passwd" is absolute/);
  });

  it('refuses a source path outside the root', async () => {
    const root = await tempDir();
    await expect(collect(task({ format: 'internvl-jsonl', path: '../x.jsonl' }), root)).rejects.toThrow(
      /escapes the dataset root/,
    );
  });
});

describe('openTask', () => {
  it('stops after `limit` items, counting SampleErrors too', async () => {
    const { openTask } = await import('../../src/datasets/open-task.ts');
    const root = await tempDir();
    await put(root, 'a.png', await png(2, 2, [0, 0, 0]));
    await put(
      root,
      'q.jsonl',
      jsonl([
        { image: 'a.png', question: 'q1', question_id: 1 },
        { image: 'nope.png', question: 'q2', question_id: 2 },
        { image: 'a.png', question: 'q3', question_id: 3 },
      ]),
    );
    const t = task({ format: 'internvl-jsonl', path: 'q.jsonl' });
    const ids: string[] = [];
    for await (const s of openTask(t, { root, limit: 2 })) ids.push(s.id);
    expect(ids).toEqual(['1', '2']);
    const none: string[] = [];
    for await (const s of openTask(t, { root, limit: 0 })) none.push(s.id);
    expect(none).toEqual([]);
  });
});
