/**
 * Writes MVBench-like data in the HF OpenGVLab/MVBench layout: `json/TASK.json` lists and videos under
 * `video/PREFIX/`. Two tasks of the real table: Moving Direction (clevrer prefix, MP4 files, unbounded) and
 * Episodic Reasoning (tvqa frame folders at 3 fps, first index 1, bounded by `start`/`end` seconds).
 */
import type { ExpectedSample, WriterContext } from './expected.ts';
import { put } from './expected.ts';
import { DIRECTIONS, makeColorChange, makeMovingSquare, writeFrameFolder, writeMp4 } from './video.ts';
import { COLOR_NAMES } from './shapes.ts';

/** The rows of the real MVBench task table that the synthetic data fills (see configs/tasks/mvbench.yaml). */
export const SYNTHETIC_MVBENCH_TABLE = [
  {
    name: 'Moving Direction',
    json: 'moving_direction.json',
    prefix: 'clevrer/video_validation/',
    type: 'video',
    bound: false,
  },
  {
    name: 'Episodic Reasoning',
    json: 'episodic_reasoning.json',
    prefix: 'tvqa/frames_fps3_hq/',
    type: 'frame',
    bound: true,
  },
] as const;

const letterOf = (candidates: readonly string[], answer: string) =>
  String.fromCharCode(65 + candidates.indexOf(answer));

export async function writeMvbench(ctx: WriterContext, task = 'synth_mvbench'): Promise<void> {
  const rng = ctx.rng.fork(task);
  const base = 'data/MVBench';
  const expected: ExpectedSample[] = [];

  const moving: unknown[] = [];
  for (let k = 0; k < ctx.counts.videos; k++) {
    const clip = makeMovingSquare(rng);
    const video = `video_${String(10000 + k)}.mp4`;
    await writeMp4(clip.frames, clip.fps, `${ctx.root}/${base}/video/clevrer/video_validation/${video}`);
    const question = `Which direction is the ${clip.color} square moving?`;
    const candidates = rng.shuffle(DIRECTIONS);
    moving.push({ video, question, candidates, answer: clip.direction });
    const l = letterOf(candidates, clip.direction);
    expected.push({
      id: `Moving Direction/${k}`,
      question,
      answers: [`(${l}) ${clip.direction}`],
      choices: Object.fromEntries(candidates.map((c, j) => [String.fromCharCode(65 + j), c])),
      category: 'Moving Direction',
      truth: { frames: clip.frames.length, fps: clip.fps, color: clip.color, direction: clip.direction },
    });
  }
  await put(ctx.root, `${base}/json/moving_direction.json`, JSON.stringify(moving, null, 1));

  const episodic: unknown[] = [];
  for (let k = 0; k < ctx.counts.frameFolders; k++) {
    const clip = makeColorChange(rng);
    const video = `synth_clip_${String(k).padStart(4, '0')}`;
    await writeFrameFolder(clip.frames, `${ctx.root}/${base}/video/tvqa/frames_fps3_hq/${video}`);
    // The bound starts after the change, so only frames of the second colour are sampled (the clip starts in the
    // first colour: reading the whole folder would show both).
    const start = clip.changeAt + 0.5;
    const end = clip.frames.length / clip.fps;
    const question = 'What colour is the square in this part of the clip?';
    const others = COLOR_NAMES.filter((c) => c !== clip.before && c !== clip.after);
    const candidates = rng.shuffle([clip.after, clip.before, rng.pick(others)]);
    episodic.push({ video, question, candidates, answer: clip.after, start, end });
    const l = letterOf(candidates, clip.after);
    expected.push({
      id: `Episodic Reasoning/${k}`,
      question,
      answers: [`(${l}) ${clip.after}`],
      choices: Object.fromEntries(candidates.map((c, j) => [String.fromCharCode(65 + j), c])),
      category: 'Episodic Reasoning',
      truth: {
        frames: clip.frames.length,
        fps: clip.fps,
        before: clip.before,
        after: clip.after,
        start,
        end,
      },
    });
  }
  await put(ctx.root, `${base}/json/episodic_reasoning.json`, JSON.stringify(episodic, null, 1));
  ctx.expected[task] = expected;
}
