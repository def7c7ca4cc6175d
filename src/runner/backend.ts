/**
 * The model side of the runner: something that turns prepared requests into text. Implemented by the in-process
 * ONNX engine (`onnx`) and by an OpenAI-compatible HTTP client (`openai`).
 */
export interface GenerationRequest {
  /** Sample id, carried through for logs and errors. */
  readonly id: string;
  /**
   * The user turn text with `<image>` placeholders where images go (one per image / frame), as built by the
   * task's prompt recipe (`src/datasets/prompt-recipe.ts`). When it holds no `<image>` and there are images,
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
  /**
   * Earlier rounds as [user, assistant] texts, as InternVL's `chat(history=...)` takes them; their `<image>`
   * placeholders take the first images of `images`, in order (the model card's multi-turn chat). Absent for
   * evaluation requests.
   */
  readonly history?: readonly (readonly [string, string])[];
  /** Sampling instead of greedy decoding (`serve` requests; evaluation is greedy). */
  readonly sampling?: SamplingRequest;
  /** Stops this request's generation early (client gone, stop string seen); its result then says 'cancelled'. */
  readonly signal?: AbortSignal;
  /** Called with each piece of reply text as it is generated (streaming); the pieces concatenate to the text. */
  readonly onText?: (piece: string) => void;
}

/** Sampling settings as OpenAI clients send them; temperature 0 / absent means greedy. */
export interface SamplingRequest {
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly seed?: number;
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
  /** Why generation ended, when the backend knows: stop token, token limit, or the request's signal. */
  readonly finishReason?: 'stop' | 'length' | 'cancelled';
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
  /** Optional: the prompt's token count (images expanded), for a server's prompt-length limit. */
  promptTokens?(request: GenerationRequest): Promise<number>;
  /** Optional: per-endpoint counts of an HTTP backend, for the run summary and manifest. */
  endpointStats?(): EndpointStats[];
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

/** What one HTTP endpoint saw during a run (the run summary and manifest carry one per endpoint). */
export interface EndpointStats {
  readonly url: string;
  /** Attempts sent there. */
  requests: number;
  /** Attempts that got a usable reply. */
  ok: number;
  /** Attempts sent there that repeated a request which had failed before (anywhere). */
  retries: number;
  /** Failed attempts by failure kind (http-json.ts FailureKind: http-5xx, rate-limited, reset...). */
  errors: Record<string, number>;
  /** Times it was taken out of the balance as dead. */
  markedDown: number;
  /** Time its Retry-After answers kept it out of the balance, ms. */
  retryAfterMs: number;
}
