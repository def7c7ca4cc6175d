/**
 * The runner's stages as the other modules implement them (see stages.ts). Kept in one file so the runner
 * imports the dataset adapters, prompt recipes, ffmpeg frame sampling and scorers only when it really runs.
 */
import { resolveTaskRoot } from '../datasets/task-fetch.ts';
import { openTask } from '../datasets/open-task.ts';
import { loadPreset, loadTask, presetMaxTiles } from '../datasets/task-config.ts';
import type { SampleOrError } from '../datasets/sample.ts';
import { getScorer } from '../metrics/registry.ts';
import { buildUserText } from '../datasets/user-text.ts';
import { loadVideoFrames, loadVideoMmeFrames } from '../model/inputs/video-frames.ts';
import type { RunDeps } from './stages.ts';

export const realDeps: RunDeps = {
  loadTask: (name, opts) => loadTask(name, opts),
  async loadPreset(name, opts) {
    const p = await loadPreset(name, { configDir: opts.configDir });
    return {
      name: p.name,
      tasks: p.tasks,
      dynamic: p.dynamic,
      useThumbnail: p.useThumbnail,
      maxTilesFor: (task: string) => presetMaxTiles(p, task),
    };
  },
  openTask: async function* (task, opts): AsyncGenerator<SampleOrError> {
    // --data-root, else the task's cached hub snapshot (never a download here: `datasets fetch` does that).
    const root = await resolveTaskRoot(task, { root: opts.root });
    yield* openTask(task, { root, limit: opts.limit });
  },
  buildUserText,
  loadVideoFrames(video, frames, task) {
    // Video-MME samples frames as VLMEvalKit's save_video_frames does, not InternVL's get_index.
    if (task.prompt.kind === 'videomme' && video.kind === 'file')
      return loadVideoMmeFrames(video.path, frames);
    return loadVideoFrames(video, frames);
  },
  getScorer,
};
