/**
 * Scorer contract: a pure per-sample function plus an aggregate over a task. Each metric lives in its own file
 * in src/metrics and registers itself in `registry.ts`.
 */

/** What a scorer sees of one sample: the `score` CLI's JSONL line, or the runner's record. */
export interface ScoreInput {
  readonly id: string;
  readonly prediction: string;
  readonly answers?: readonly string[];
  readonly answer?: string;
  readonly choices?: Readonly<Record<string, string>>;
  readonly bbox?: readonly [number, number, number, number];
  readonly width?: number;
  readonly height?: number;
  readonly category?: string;
  /** MME pair key / HallusionBench grouping etc. */
  readonly image?: string;
  readonly [extra: string]: unknown;
}

export interface SampleScore {
  /** 0..1 for most metrics (ANLS, VQA acc); 0/1 for exact metrics. */
  readonly score: number;
  /** What the scorer extracted from the prediction (option letter, box, yes/no), when it extracts. */
  readonly extracted?: unknown;
}

export interface Aggregate {
  readonly metric: string;
  readonly n: number;
  /** In the card's units (×100, MME sum, OCRBench out of 1000). */
  readonly score: number;
  readonly ci95: [number, number];
  readonly breakdown: Readonly<Record<string, number>>;
  /** Unit label for tables: 'x100', 'sum', '/1000'. */
  readonly unit: string;
}

/**
 * How a task score is recomputed on a bootstrap resample of its samples (used by the paired regression gate,
 * src/report/paired-stats.ts `pairedScoreDifference`): which samples are drawn together and the score of a draw.
 * Plain means draw single samples; grouped metrics draw whole groups (MME images, MMBench circular groups,
 * HallusionBench sets), because a group's score is not a mean of independent samples.
 */
export interface Resampling {
  /** Samples drawn together, as indices into the inputs given to `resampling` (each input in at most one unit). */
  readonly units: readonly (readonly number[])[];
  /** Per unit, the stratum it is redrawn within (MME subtask, ChartQA split), keeping each stratum's size. */
  readonly strata?: readonly string[];
  /**
   * The task score in card units (as `aggregate().score`) of a draw: `drawn` are indices into `units` (a unit
   * drawn twice counts twice), `scores` the per-sample scores in input order. Drawing every unit once gives
   * `aggregate().score`.
   */
  score(drawn: readonly number[], scores: readonly SampleScore[]): number;
}

export interface Scorer<Opts = Record<string, unknown>> {
  readonly name: string;
  /** Fields a ScoreInput must have (checked by the CLI / runner to give `FILE:LINE: field "x"` errors). */
  readonly requires: readonly string[];
  scoreSample(input: ScoreInput, options?: Opts): SampleScore;
  aggregate(inputs: readonly ScoreInput[], scores: readonly SampleScore[], options?: Opts): Aggregate;
  /** The resampling unit of the task score over these inputs (the same inputs `aggregate` sees). */
  resampling(inputs: readonly ScoreInput[], options?: Opts): Resampling;
}
