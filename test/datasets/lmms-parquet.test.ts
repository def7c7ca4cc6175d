import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { collect, png, put, split, task, tempDir } from './helpers.ts';

type Col = { name: string; kind: 'string' | 'strings' | 'image'; data: unknown[] };

/** A parquet file shaped like a Hugging Face `datasets` export: STRING, LIST<STRING>, STRUCT<bytes, path>. */
async function writeParquet(file: string, cols: Col[], rowGroupSize = 2): Promise<void> {
  const schema: any[] = [{ name: 'root', num_children: cols.length }];
  for (const c of cols) {
    if (c.kind === 'string')
      schema.push({ name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
    if (c.kind === 'strings') {
      schema.push(
        { name: c.name, repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST' },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      );
    }
    if (c.kind === 'image') {
      schema.push(
        { name: c.name, repetition_type: 'OPTIONAL', num_children: 2 },
        { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
        { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      );
    }
  }
  const buf = parquetWriteBuffer({
    columnData: cols.map((c) => ({ name: c.name, data: c.data })),
    schema,
    rowGroupSize,
  });
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, new Uint8Array(buf));
}

describe('lmms-parquet adapter', () => {
  it('streams ChartQA-like rows over row groups and files, splitting human/augmented by `type`', async () => {
    const root = await tempDir();
    const imgs = await Promise.all([0, 1, 2, 3, 4].map((k) => png(2, 2, [k * 40, 0, 0])));
    const types = ['human_test', 'augmented_test', 'human_test', 'augmented_test', 'human_test'];
    const qs = types.map((_, k) => `q${k}`);
    const ans = types.map((_, k) => [`${k * 10}`]);
    const img = imgs.map((b, k) => ({ bytes: new Uint8Array(b), path: `${k}.png` }));
    await writeParquet(path.join(root, 'data/test-00000-of-00002.parquet'), [
      { name: 'type', kind: 'string', data: types.slice(0, 3) },
      { name: 'question', kind: 'string', data: qs.slice(0, 3) },
      { name: 'answer', kind: 'strings', data: ans.slice(0, 3) },
      { name: 'image', kind: 'image', data: img.slice(0, 3) },
    ]);
    await writeParquet(path.join(root, 'data/test-00001-of-00002.parquet'), [
      { name: 'type', kind: 'string', data: types.slice(3) },
      { name: 'question', kind: 'string', data: qs.slice(3) },
      { name: 'answer', kind: 'strings', data: ans.slice(3) },
      { name: 'image', kind: 'image', data: img.slice(3) },
    ]);
    const fields = { question: 'question', answer: 'answers', image: 'image', type: 'meta.type' };
    const human = task(
      {
        format: 'lmms-parquet',
        path: 'data/test-*.parquet',
        options: { filter: { column: 'type', equals: 'human_test' } },
      },
      { fields },
    );
    const aug = task(
      {
        format: 'lmms-parquet',
        path: 'data/test-*.parquet',
        options: { filter: { column: 'type', notEquals: 'human_test' } },
      },
      { fields },
    );
    const h = split(await collect(human, root)).samples;
    const a = split(await collect(aug, root)).samples;
    expect(h.map((s) => [s.id, s.question, s.answers, s.meta.type])).toEqual([
      ['row0', 'q0', ['0'], 'human_test'],
      ['row2', 'q2', ['20'], 'human_test'],
      ['row4', 'q4', ['40'], 'human_test'],
    ]);
    expect(a.map((s) => s.id)).toEqual(['row1', 'row3']);
    // Row ids are stable across the two parts: together they are every row once.
    expect([...h, ...a].map((s) => s.id).sort()).toEqual(['row0', 'row1', 'row2', 'row3', 'row4']);
    expect(Buffer.from(await h[2].images[0].load())).toEqual(imgs[4]);
    expect(h[2].images[0].origin).toBe('data/test-00001-of-00002.parquet: row 1: field "image"');
  });

  it('TextVQA-like: 10 answers per question, anything else is a SampleError', async () => {
    const root = await tempDir();
    const ten = Array.from({ length: 10 }, (_, k) => (k < 4 ? 'stop' : 'stop sign'));
    const img = { bytes: new Uint8Array(await png(2, 2, [0, 0, 0])), path: null };
    await writeParquet(path.join(root, 'val.parquet'), [
      { name: 'question_id', kind: 'string', data: ['34602', '34603', '34604'] },
      { name: 'question', kind: 'string', data: ['what sign?', 'short', null] },
      { name: 'answers', kind: 'strings', data: [ten, ten.slice(0, 3), ten] },
      { name: 'image', kind: 'image', data: [img, img, img] },
    ]);
    const t = task({ format: 'lmms-parquet', path: 'val.parquet', options: { expectAnswers: 10 } });
    const { samples, errors } = split(await collect(t, root));
    expect(samples.map((s) => [s.id, s.answers.length])).toEqual([['34602', 10]]);
    expect(errors).toEqual([
      {
        id: '34603',
        task: 'test_task',
        error: 'val.parquet: row 1: question "34603" has 3 answers, expected 10',
      },
      { id: '34604', task: 'test_task', error: 'val.parquet: row 2: field "question" is missing' },
    ]);
  });

  it('image structs without bytes fall back to a path inside the root; empty or escaping ones are errors', async () => {
    const root = await tempDir();
    const blue = await png(2, 2, [0, 0, 255]);
    await put(root, 'images/b.png', blue);
    await writeParquet(path.join(root, 'x.parquet'), [
      { name: 'question', kind: 'string', data: ['a', 'b', 'c'] },
      {
        name: 'image',
        kind: 'image',
        data: [
          { bytes: null, path: 'images/b.png' },
          { bytes: null, path: '../../etc/passwd' },
          { bytes: null, path: null },
        ],
      },
    ]);
    const { samples, errors } = split(
      await collect(task({ format: 'lmms-parquet', path: 'x.parquet' }), root),
    );
    expect(Buffer.from(await samples[0].images[0].load())).toEqual(blue);
    expect(errors.map((e) => e.error)).toEqual([
      expect.stringMatching(
        /^x\.parquet: row 1: field "image": path "\.\.\/\.\.\/etc\/passwd" escapes the dataset root/,
      ),
      'x.parquet: row 2: field "image" holds no image bytes or path',
    ]);
  });

  it('Video-MME-like: lettered options become choices, videoID names the video file', async () => {
    const root = await tempDir();
    await put(root, 'data/abc.mp4', 'not really a video');
    await writeParquet(path.join(root, 'videomme/test-00000-of-00001.parquet'), [
      { name: 'question_id', kind: 'string', data: ['001-1', '002-1'] },
      { name: 'videoID', kind: 'string', data: ['abc', 'gone'] },
      { name: 'question', kind: 'string', data: ['What happens?', 'Where?'] },
      {
        name: 'options',
        kind: 'strings',
        data: [
          ['A. a cat. runs', 'B. nothing', 'C. rain', 'D. snow'],
          ['A. x', 'B. y', 'C. z', 'D. w'],
        ],
      },
      { name: 'answer', kind: 'string', data: ['A', 'C'] },
      { name: 'task_type', kind: 'string', data: ['Action Recognition', 'Spatial Perception'] },
    ]);
    const t = task(
      {
        format: 'lmms-parquet',
        path: 'videomme/test-*.parquet',
        options: { video: { column: 'videoID', dir: 'data', ext: '.mp4' }, choicesFormat: 'lettered-list' },
      },
      {
        group: 'video',
        fields: {
          question_id: 'id',
          question: 'question',
          options: 'choices',
          answer: 'answer',
          task_type: 'category',
        },
      },
    );
    const { samples, errors } = split(await collect(t, root));
    expect(samples).toHaveLength(1);
    expect(samples[0]).toMatchObject({
      id: '001-1',
      answers: ['A'],
      category: 'Action Recognition',
      choices: { A: 'a cat. runs', B: 'nothing', C: 'rain', D: 'snow' },
      video: { kind: 'file', path: path.join(root, 'data/abc.mp4') },
      images: [],
    });
    expect(errors[0].error).toMatch(/row 1: field "videoID": video file not found: .*data\/gone\.mp4/);
  });

  it('a glob matching nothing and a missing question column are clear errors', async () => {
    const root = await tempDir();
    await expect(collect(task({ format: 'lmms-parquet', path: 'none/*.parquet' }), root)).rejects.toThrow(
      /no file matches none\/\*\.parquet/,
    );
    await writeParquet(path.join(root, 'q.parquet'), [{ name: 'query', kind: 'string', data: ['x'] }]);
    await expect(collect(task({ format: 'lmms-parquet', path: 'q.parquet' }), root)).rejects.toThrow(
      /q\.parquet: no column "question"/,
    );
  });
});
