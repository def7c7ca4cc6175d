/**
 * The unit every dataset adapter yields and every later stage consumes (Sample -> ModelInput -> Prediction -> Score).
 * Images and videos are *sources*: bytes are read only when the runner asks, so a 20k-row TSV never sits decoded
 * in memory.
 */

/** One image of a sample, loaded on demand (file on disk, base64 cell, parquet bytes, ...). */
export interface ImageSource {
  /** Where it came from, for error messages and the report (`images/001.jpg`, `row 17 column image`). */
  readonly origin: string;
  /** The encoded image bytes (JPEG/PNG/...), exactly as stored. */
  load(): Promise<Uint8Array>;
}

/** A video: a file that ffmpeg can read, or a folder of numbered frames (MVBench's tvqa layout). */
export type VideoSource =
  | { readonly kind: 'file'; readonly path: string; readonly bound?: [number, number] }
  | {
      readonly kind: 'frames';
      readonly dir: string;
      /** frames per second the folder was extracted at (tvqa: 3). */
      readonly fps: number;
      /** index of the first frame file (tvqa: 1). */
      readonly firstIndex: number;
      /** printf-style name of a frame file, e.g. `%05d.jpg`. */
      readonly pattern: string;
      readonly bound?: [number, number];
    };

export interface Sample {
  /** Unique within its task; stable across runs (used for resume, sharding and pairing in `compare`). */
  readonly id: string;
  /** Task name (`docvqa_val`). */
  readonly task: string;
  readonly images: readonly ImageSource[];
  readonly video?: VideoSource;
  /** The question exactly as the dataset holds it (the prompt recipe turns it into the user text). */
  readonly question: string;
  /** Ground truth answers (one or many). Empty when hidden (test splits scored by a server). */
  readonly answers: readonly string[];
  /** MCQ options keyed by letter, in order (`{A: "...", B: "..."}`). */
  readonly choices?: Readonly<Record<string, string>>;
  /** MCQ hint (MMBench). */
  readonly hint?: string;
  /** Grounding target box, pixel xyxy, with the image size it refers to. */
  readonly bbox?: readonly [number, number, number, number];
  readonly width?: number;
  readonly height?: number;
  /** Category / subtask used by breakdowns and pairing (MME subtask, OCRBench category, MVBench task). */
  readonly category?: string;
  /** Anything else the scorer or report needs (split, question type, MME image key, index, ...). */
  readonly meta: Readonly<Record<string, unknown>>;
}

/** A row that could not become a Sample. It is recorded in the results, never silently dropped. */
export interface SampleError {
  readonly id: string;
  readonly task: string;
  /** `FILE:LINE: field "x" ...` style reason. */
  readonly error: string;
}

export type SampleOrError = Sample | SampleError;

export function isSampleError(s: SampleOrError): s is SampleError {
  return (s as SampleError).error !== undefined;
}
