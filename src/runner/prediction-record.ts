/**
 * One line of a run's prediction log (`results/RUN/predictions/TASK.jsonl`): everything needed to re-score,
 * resume, compare and explain a sample without re-running the model.
 */
export interface PredictionRecord {
  id: string;
  task: string;
  /** sha256 (hex, first 16 chars) of the full user text + images' byte hashes + generation settings. */
  promptHash: string;
  /** The user text as sent (with `<image>` placeholders). */
  prompt: string;
  /** Tiles per image, thumbnail included. */
  tiles: number[];
  imageTokens: number;
  promptTokens: number;
  outputTokens: number;
  latencyMs: number;
  /** Raw model output. */
  prediction: string;
  /** Ground truth as the scorer saw it. */
  answers: string[];
  /** What the scorer extracted (letter, box, yes/no), if anything. */
  extracted?: unknown;
  /** Per-sample score (null when the task is scored externally or the sample failed). */
  score: number | null;
  /** Why this sample failed (bad data, model error); failed samples are counted, never dropped. */
  error?: string;
  /** Fields scorers need beyond answers (choices, bbox, width, height, category, image key, ...). */
  meta?: Record<string, unknown>;
}
