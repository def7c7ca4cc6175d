/**
 * What the runner needs from the other stages (datasets, prompt recipes, video frames, metrics), as an interface.
 * Production code uses `realDeps` from `real-stages.ts` (imported lazily by run-evaluation.ts so that a runner
 * test can inject small doubles without loading the engine or ffmpeg); tests may pass their own.
 */
import type { Sample, SampleOrError, VideoSource } from '../datasets/sample.ts';
import type { TaskConfig } from '../datasets/task.ts';
import type { Scorer } from '../metrics/scorer.ts';
import type { PromptRecipe } from '../datasets/prompt-recipe.ts';

export interface PresetSettings {
  readonly name: string;
  readonly tasks: readonly string[];
  readonly dynamic: boolean;
  readonly useThumbnail: boolean;
  maxTilesFor(task: string): number;
}

export interface RunDeps {
  loadTask(name: string, opts: { configDir?: string }): Promise<TaskConfig>;
  loadPreset(name: string, opts: { configDir?: string }): Promise<PresetSettings>;
  /** Streams a task's items from the data root (default: the task's cached hub snapshot); `limit`: a count. */
  openTask(task: TaskConfig, opts: { root?: string; limit?: number }): AsyncIterable<SampleOrError>;
  buildUserText(recipe: PromptRecipe, sample: Sample): string;
  /** Encoded frames of a sample's video (the task decides the sampling rule: InternVL get_index or Video-MME's). */
  loadVideoFrames(video: VideoSource, frames: number, task: TaskConfig): Promise<Uint8Array[]>;
  getScorer(name: string): Scorer;
}
