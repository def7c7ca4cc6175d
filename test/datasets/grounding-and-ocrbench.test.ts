import { symlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect, png, put, split, task, tempDir } from './helpers.ts';

describe('refcoco-jsonl adapter', () => {
  it('keeps the pixel xyxy box with the image size, and the sentence as the question', async () => {
    const root = await tempDir();
    const img = await png(8, 6, [10, 20, 30]);
    await put(root, 'data/coco/train2014/COCO_1.jpg', img);
    const lines = [
      {
        image: 'data/coco/train2014/COCO_1.jpg',
        sent: 'man on the left',
        bbox: [1.5, 2, 4.25, 5],
        width: 8,
        height: 6,
      },
      { image: 'data/coco/train2014/COCO_1.jpg', sent: 'no box', bbox: [1, 2, 3], width: 8, height: 6 },
      { image: 'data/coco/train2014/COCO_1.jpg', sent: 'no size', bbox: [1, 2, 3, 4] },
      { image: '../../../etc/passwd', sent: 'evil', bbox: [1, 2, 3, 4], width: 8, height: 6 },
    ];
    await put(root, 'data/refcoco/refcoco_val.jsonl', lines.map((l) => JSON.stringify(l)).join('\n'));
    const t = task({ format: 'refcoco-jsonl', path: 'data/refcoco/refcoco_val.jsonl' });
    const { samples, errors } = split(await collect(t, root));
    expect(samples).toHaveLength(1);
    expect(samples[0]).toMatchObject({
      id: 'line1',
      question: 'man on the left',
      bbox: [1.5, 2, 4.25, 5],
      width: 8,
      height: 6,
    });
    expect(Buffer.from(await samples[0].images[0].load())).toEqual(img);
    expect(errors.map((e) => e.error)).toEqual([
      'data/refcoco/refcoco_val.jsonl:2: field "bbox" must be 4 numbers [x1, y1, x2, y2]',
      'data/refcoco/refcoco_val.jsonl:3: fields "width"/"height" must be positive numbers',
      expect.stringMatching(/refcoco_val\.jsonl:4: field "image": path .* escapes the dataset root/),
    ]);
  });

  it('refuses a symlink that points out of the root', async () => {
    const root = await tempDir();
    const outside = await tempDir();
    await put(outside, 'secret.png', await png(2, 2, [0, 0, 0]));
    await symlink(path.join(outside, 'secret.png'), path.join(root, 'link.png'));
    await put(
      root,
      'r.jsonl',
      JSON.stringify({ image: 'link.png', sent: 's', bbox: [0, 0, 1, 1], width: 2, height: 2 }),
    );
    const { errors } = split(await collect(task({ format: 'refcoco-jsonl', path: 'r.jsonl' }), root));
    expect(errors[0].error).toMatch(
      /field "image": path "link\.png" resolves \(through a link\) outside the dataset root/,
    );
  });
});

describe('ocrbench-json adapter', () => {
  it('reads OCRBench.json items (answers as string or list, type = category)', async () => {
    const root = await tempDir();
    await put(root, 'OCRBench_Images/IIIT5K/1.png', await png(3, 2, [5, 5, 5]));
    await put(
      root,
      'OCRBench.json',
      JSON.stringify([
        {
          dataset_name: 'IIIT5K',
          id: 0,
          image_path: 'IIIT5K/1.png',
          question: 'what is written?',
          answers: 'Centre',
          type: 'Regular Text Recognition',
        },
        {
          dataset_name: 'HME100k',
          id: 1,
          image_path: 'IIIT5K/1.png',
          question: 'latex?',
          answers: ['x^2', 'x ^ 2'],
          type: 'Handwritten Mathematical Expression Recognition',
        },
        {
          dataset_name: 'IIIT5K',
          id: 2,
          image_path: 'IIIT5K/none.png',
          question: 'q',
          answers: 'a',
          type: 'Regular Text Recognition',
        },
        {
          dataset_name: 'IIIT5K',
          id: 3,
          image_path: 'IIIT5K/1.png',
          question: 'q',
          type: 'Regular Text Recognition',
        },
      ]),
    );
    const t = task({
      format: 'ocrbench-json',
      path: 'OCRBench.json',
      options: { imageRoot: 'OCRBench_Images' },
    });
    const { samples, errors } = split(await collect(t, root));
    expect(samples.map((s) => [s.id, s.answers, s.category])).toEqual([
      ['0', ['Centre'], 'Regular Text Recognition'],
      ['1', ['x^2', 'x ^ 2'], 'Handwritten Mathematical Expression Recognition'],
    ]);
    expect(errors.map((e) => e.error)).toEqual([
      expect.stringMatching(/^OCRBench\.json: item 2: field "image_path": file not found/),
      'OCRBench.json: item 3: field "answers" is missing',
    ]);
  });
});
