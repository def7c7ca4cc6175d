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

export interface Scorer<Opts = Record<string, unknown>> {
  readonly name: string;
  /** Fields a ScoreInput must have (checked by the CLI / runner to give `FILE:LINE: field "x"` errors). */
  readonly requires: readonly string[];
  scoreSample(input: ScoreInput, options?: Opts): SampleScore;
  aggregate(inputs: readonly ScoreInput[], scores: readonly SampleScore[], options?: Opts): Aggregate;
}
