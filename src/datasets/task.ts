/**
 * A task is one benchmark split as configured in `configs/tasks/NAME.yaml` (lm-evaluation-harness style: a task
 * is a file, not a class). The zod schema that validates the YAML is in `task-config.ts`; this is the shape the
 * rest of the code consumes.
 */
import type { PromptRecipe } from './prompt-recipe.ts';

export type DatasetFormat =
  | 'internvl-jsonl'
  | 'vlmevalkit-tsv'
  | 'lmms-parquet'
  | 'mme-txt'
  | 'mvbench-json'
  | 'refcoco-jsonl'
  | 'ocrbench-json';

export interface TaskSource {
  format: DatasetFormat;
  /** Local path (file or folder), relative to the dataset root given at run time, or absolute. */
  path?: string;
  /** Hugging Face repo to fetch from when no local copy is given. */
  hub?: {
    repo: string;
    type: 'dataset' | 'model';
    revision?: string;
    files: string[];
    /** Zip archives among `files` to unpack under the dataset root (`to` may hold `{stem}`); see archive.ts. */
    extract?: { file: string; to?: string; limits?: Record<string, number> }[];
    /** Repo files that must also appear at another path under the dataset root. */
    place?: { file: string; to: string }[];
  };
  /** Format-specific options (GT file for InternVL JSONL, image folder, config/split for parquet, ...). */
  options?: Record<string, unknown>;
}

export interface TaskConfig {
  /** `docvqa_val` — also the YAML file name. */
  name: string;
  /** Card row label, e.g. `DocVQA val`. */
  title: string;
  /** Which card table the row belongs to. */
  group: 'image' | 'video' | 'grounding';
  source: TaskSource;
  /** Dataset field -> Sample field mapping, where the format allows renames. */
  fields?: Record<string, string>;
  prompt: PromptRecipe;
  /** Official tile cap (InternVL `max_num`). */
  maxTiles: number;
  useThumbnail: boolean;
  maxNewTokens: number;
  minNewTokens: number;
  /** Video tasks: frames sampled per video. */
  frames?: number;
  scorer: { name: string; options?: Record<string, unknown> };
  report: {
    /** The card's value for this row (in card units), when published. */
    card?: number;
    /** Tasks combined into one card row (ChartQA = mean of human and augmented). */
    combine?: { row: string; tasks: string[]; how: 'mean' | 'sum' };
  };
  /**
   * Set when the official score comes from a server or a GPT judge: predictions are written, not scored.
   * `judge` names the grader an optional local GPT judge (`run --judge-endpoint`) scores the task with.
   */
  external?: { reason: string; submissionFormat: string; judge?: JudgeKind };
}

/** The GPT-judge graders (metrics/mmvet-judge.ts, metrics/mathvista-judge.ts). */
export type JudgeKind = 'mmvet' | 'mathvista';
