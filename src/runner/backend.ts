/**
 * The model side of the runner: something that turns prepared requests into text. Implemented by the in-process
 * ONNX engine (`onnx`) and by an OpenAI-compatible HTTP client (`openai`).
 */

export interface GenerationRequest {
  /** Sample id, carried through for logs and errors. */
  readonly id: string;
  /**
   * The user turn text with `<image>` placeholders where images go (one per image / frame), as built by the
   * task's prompt recipe (`src/model/inputs/prompt-recipe.ts`). When it holds no `<image>` and there are images,
   * the backend prepends `<image>\n` as InternVL's `chat()` does.
   */
  readonly question: string;
  /** Encoded image bytes (JPEG/PNG...), one per `<image>`; video frames come as images too. */
  readonly images: readonly Uint8Array[];
  /** Tile cap for each image (InternVL's `max_num`); same length as `images`. */
  readonly maxTiles: readonly number[];
  /** Whether a thumbnail tile is appended when an image yields more than one tile (InternVL2: true). */
  readonly useThumbnail: boolean;
  readonly maxNewTokens: number;
  /** InternVL scripts pass min_new_tokens=1 (MME passes none). */
  readonly minNewTokens: number;
  /** Optional system message override (default: the template's). */
  readonly systemMessage?: string;
  /**
   * Model inputs a backend's own `prepare` computed ahead of `generate`, opaque to everyone else: other backends
   * ignore it, and it is never logged or hashed (`hashRequest` and the prediction record read the fields above).
   * OnnxBackend keeps each image's `PreprocessedImage` here (tiles, `[tiles, 3, 448, 448]` pixel values).
   */
  readonly prepared?: unknown;
}

export interface GenerationResult {
  readonly id: string;
  readonly text: string;
  readonly promptTokens: number;
  readonly outputTokens: number;
  /** Tiles per image, thumbnail included. */
  readonly tiles: readonly number[];
  /** Total image context tokens (256 per tile for InternVL2). */
  readonly imageTokens: number;
  /** Wall time of this request inside the backend, ms (for a batch: the batch's time). */
  readonly latencyMs: number;
  /** Set when this request failed; `text` is then ''. */
  readonly error?: string;
}

export interface BackendInfo {
  readonly name: string;
  /** Model identity for the manifest (folder hash, repo id, endpoint model name). */
  readonly model: string;
  readonly variant?: string;
  readonly device?: string;
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface Backend {
  readonly info: BackendInfo;
  /** Largest number of requests `generate` takes at once (1 = unbatched). */
  readonly maxBatch: number;
  /**
   * Optional: backend-specific work on one request ahead of `generate` (OnnxBackend: decode, tile and normalise
   * its images on worker threads), returning the request to pass to `generate` instead (usually the same with
   * `prepared` set). The runner calls it in its bounded preparation stage, so this work for the next samples
   * overlaps the model's work on the current batch. `generate` must give the same results for a request whether
   * or not it went through `prepare`. It should not reject for a problem of the request itself (leave that to
   * `generate`, which reports it as the result's `error`); a rejection fails the sample as an input error.
   */
  prepare?(request: GenerationRequest): Promise<GenerationRequest>;
  /** Generate for a batch; results in request order. A failing request yields a result with `error`. */
  generate(requests: readonly GenerationRequest[]): Promise<GenerationResult[]>;
  close(): Promise<void>;
}

/** The result of a request that failed: no text, no tokens, no tiles, and the reason. */
export function failedResult(req: GenerationRequest, error: string, latencyMs: number): GenerationResult {
  return {
    id: req.id,
    text: '',
    promptTokens: 0,
    outputTokens: 0,
    tiles: [],
    imageTokens: 0,
    latencyMs,
    error,
  };
}
