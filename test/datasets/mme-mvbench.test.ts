import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mvbenchAnswerLetter } from '../../src/datasets/formats/mvbench-json.ts';
import { collect, png, put, split, task, tempDir } from './helpers.ts';

describe('mme-txt adapter', () => {
  it('reads per-subtask txt files, pairs questions by image, finds images in either layout', async () => {
    const root = await tempDir();
    const img = await png(3, 3, [7, 7, 7]);
    await put(root, 'data/mme/MME/existence/000000006040.jpg', img);
    await put(root, 'data/mme/MME/artwork/images/10002.jpg', img); // release layout with images/
    await put(
      root,
      'eval/mme/Your_Results/existence.txt',
      [
        '000000006040.jpg\tIs there a train in this image? Please answer yes or no.\tYes',
        '000000006040.jpg\tIs there a bed in this image? Please answer yes or no.\tNo',
      ].join('\n') + '\n',
    );
    await put(
      root,
      'eval/mme/Your_Results/artwork.txt',
      [
        '10002.jpg\tIs this artwork created by Leonardo? Please answer yes or no.\tYes',
        '10002.jpg\tIs this artwork created by Monet? Please answer yes or no.\tNo',
        '10003.jpg\tmissing image? Please answer yes or no.\tNo',
        'only two\tfields',
        '10002.jpg\tgt is odd\tMaybe',
      ].join('\n') + '\n',
    );
    const t = task({
      format: 'mme-txt',
      path: '.',
      options: { questionsDir: 'eval/mme/Your_Results', imagesDir: 'data/mme/MME' },
    });
    const { samples, errors } = split(await collect(t, root));
    expect(samples.map((s) => [s.id, s.category, s.meta.image, s.answers[0], s.meta.group])).toEqual([
      ['artwork/10002.jpg#0', 'artwork', 'artwork/10002.jpg', 'Yes', 'perception'],
      ['artwork/10002.jpg#1', 'artwork', 'artwork/10002.jpg', 'No', 'perception'],
      ['existence/000000006040.jpg#0', 'existence', 'existence/000000006040.jpg', 'Yes', 'perception'],
      ['existence/000000006040.jpg#1', 'existence', 'existence/000000006040.jpg', 'No', 'perception'],
    ]);
    expect(samples[2].question).toBe('Is there a train in this image? Please answer yes or no.');
    expect(Buffer.from(await samples[0].images[0].load())).toEqual(img);
    expect(errors.map((e) => e.error)).toEqual([
      expect.stringMatching(/^eval\/mme\/Your_Results\/artwork\.txt:3: field "img": file not found/),
      'eval/mme/Your_Results/artwork.txt:4: expected 3 tab-separated fields (img, question, gt), got 2',
      'eval/mme/Your_Results/artwork.txt:5: field "gt": "Maybe" is not Yes or No',
    ]);
  });
});

const table = [
  {
    name: 'Action Sequence',
    json: 'action_sequence.json',
    prefix: 'star/Charades_v1_480/',
    type: 'video',
    bound: true,
  },
  { name: 'Action Antonym', json: 'action_antonym.json', prefix: 'ssv2_video/', type: 'video', bound: false },
  {
    name: 'Episodic Reasoning',
    json: 'episodic_reasoning.json',
    prefix: 'tvqa/frames_fps3_hq/',
    type: 'frame',
    bound: true,
  },
];

describe('mvbench-json adapter', () => {
  it('yields videos with bounds only for bounded tasks, frame folders for tvqa, and the (X) answer string', async () => {
    const root = await tempDir();
    const base = 'data/MVBench';
    await put(root, `${base}/video/star/Charades_v1_480/A1.mp4`, 'v');
    await put(root, `${base}/video/ssv2_video/7.webm`, 'v');
    await mkdir(path.join(root, base, 'video/tvqa/frames_fps3_hq/clip1'), { recursive: true });
    await put(
      root,
      `${base}/json/action_sequence.json`,
      JSON.stringify([
        {
          video: 'A1.mp4',
          question: 'What did the person do first?',
          candidates: ['Sat.', 'Ran.', 'Ate.'],
          answer: 'Ran.',
          start: 11.2,
          end: 30.5,
        },
        { video: 'A1.mp4', question: 'No bound given', candidates: ['a', 'b'], answer: 'a' },
      ]),
    );
    await put(
      root,
      `${base}/json/action_antonym.json`,
      JSON.stringify([
        // start/end present but the task is unbounded: ignored, as in the reference
        {
          video: '7.webm',
          question: 'Which?',
          candidates: ['up', 'down', 'not sure'],
          answer: 'sideways',
          start: 1,
          end: 2,
        },
        { video: 'missing.webm', question: 'Which?', candidates: ['up'], answer: 'up' },
      ]),
    );
    await put(
      root,
      `${base}/json/episodic_reasoning.json`,
      JSON.stringify([
        {
          video: 'clip1',
          question: 'Why?',
          candidates: ['x', 'y', 'z', 'w'],
          answer: 'w',
          start: 0.5,
          end: 4,
        },
      ]),
    );
    const t = task(
      { format: 'mvbench-json', path: base, options: { tasks: table } },
      { group: 'video', frames: 16 },
    );
    const { samples, errors } = split(await collect(t, root));
    expect(samples.map((s) => [s.id, s.video, s.answers[0], s.category])).toEqual([
      [
        'Action Sequence/0',
        {
          kind: 'file',
          path: path.join(root, base, 'video/star/Charades_v1_480/A1.mp4'),
          bound: [11.2, 30.5],
        },
        '(B) Ran.',
        'Action Sequence',
      ],
      [
        'Action Antonym/0',
        { kind: 'file', path: path.join(root, base, 'video/ssv2_video/7.webm') },
        '(@) sideways',
        'Action Antonym',
      ],
      [
        'Episodic Reasoning/0',
        {
          kind: 'frames',
          dir: path.join(root, base, 'video/tvqa/frames_fps3_hq/clip1'),
          fps: 3,
          firstIndex: 1,
          pattern: '%05d.jpg',
          bound: [0.5, 4],
        },
        '(D) w',
        'Episodic Reasoning',
      ],
    ]);
    expect(samples[0].choices).toEqual({ A: 'Sat.', B: 'Ran.', C: 'Ate.' });
    expect(errors.map((e) => e.error)).toEqual([
      'data/MVBench/json/action_sequence.json: item 1: fields "start"/"end" must be numbers for the bounded task "Action Sequence"',
      expect.stringMatching(/action_antonym\.json: item 1: field "video": file not found/),
    ]);
  });

  it.each([
    [['a', 'b', 'c'], 'c', 'C'],
    [['a', 'b', 'a'], 'a', 'C'], // the loop keeps the last match
    [['a', 'b'], 'z', '@'], // not found: index -1 -> chr(64)
  ])('answer letter of %j / %s is %s', (cands, ans, l) => {
    expect(mvbenchAnswerLetter(cands, ans)).toBe(l);
  });
});
