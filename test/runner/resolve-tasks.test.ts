import { describe, expect, it } from 'vitest';
import { realDeps } from '../../src/runner/real-stages.ts';
import { resolveTasks } from '../../src/runner/run-evaluation.ts';

describe('task resolution with the shipped configs', () => {
  it('takes the tasks and tile caps from --preset internvl2-official', async () => {
    const { tasks, preset } = await resolveTasks({ preset: 'internvl2-official' }, realDeps);
    expect(preset?.name).toBe('internvl2-official');
    const caps = Object.fromEntries(tasks.map((t) => [t.name, t.maxTiles]));
    expect(caps).toMatchObject({
      docvqa_test: 18,
      chartqa_test_human: 12,
      infovqa_test: 24,
      textvqa_val: 6,
      mvbench: 1,
    });
    expect(tasks.every((t) => !('file' in t) && !('samples' in t))).toBe(true);
  });

  it.each([
    [{ tasks: ['ai2d_test'], maxTiles: 3 }, 3],
    [{ tasks: ['docvqa_val'], preset: 'internvl2-official', maxTiles: 2 }, 2],
    [{ tasks: ['docvqa_val'] }, 18],
  ])('applies --max-tiles over preset over task (%j)', async (opts, want) => {
    const { tasks } = await resolveTasks(opts, realDeps);
    expect(tasks[0].maxTiles).toBe(want);
  });

  it.each([
    [{}, /no tasks/],
    [{ tasks: ['ai2d_test', 'ai2d_test'] }, /names "ai2d_test" twice/],
    [{ tasks: ['nope'] }, /unknown task "nope"/],
    [{ tasks: ['ai2d_test'], maxTiles: 0 }, /--max-tiles/],
  ])('refuses %j', async (opts, err) => {
    await expect(resolveTasks(opts, realDeps)).rejects.toThrow(err);
  });
});
