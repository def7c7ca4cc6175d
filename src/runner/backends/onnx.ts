/**
 * The in-process backend: InternVLEngine (src/model/engine) behind the runner's `Backend` interface. Each request's
 * images are preprocessed as InternVL's `load_image` (its own tile cap, thumbnail flag), then up to `maxBatch`
 * requests share prefill and decode steps. A request that fails (bad image, prompt/image mismatch) gets `error`;
 * the others still run.
 *
 * Preprocessing (150-300 ms of synchronous JS for a document page in `exact` mode) happens in `prepare`, on a
 * PreprocessPool of worker threads, when the runner calls it (its preparation stage, ahead of the model); a request
 * that did not go through `prepare` is preprocessed in-process inside `generate`, as before. Both give identical
 * pixel values, since both run the same `preprocessImage`.
 */
import {
  failedResult,
  type Backend,
  type BackendInfo,
  type GenerationRequest,
  type GenerationResult,
} from '../backend.ts';
import {
  preprocessImage,
  type PreprocessedImage,
  type PreprocessOptions,
} from '../../model/inputs/image-preprocess.ts';
import { PreprocessPool, PreprocessPoolError } from '../../model/inputs/preprocess-pool.ts';
import { InternVLEngine, type ChatRequest } from '../../model/engine/engine.ts';
import type { EngineOptionsInput } from '../../model/engine/engine-options.ts';
import { defaultPreprocessWorkers } from '../../model/cpu-cores.ts';

export interface OnnxBackendOptions {
  /** How the engine is built and run (variant, device, threads, ...), passed whole to InternVLEngine.load. */
  readonly engine?: EngineOptionsInput;
  /** Requests per shared generation (default 1). */
  readonly maxBatch?: number;
  /** Image resampling: 'exact' (Pillow-identical, default) or 'fast' (sharp). */
  readonly resize?: 'exact' | 'fast';
  /**
   * Worker threads preprocessing images in `prepare` (default `defaultPreprocessWorkers()`: the engine's threads
   * take every core, cpu-cores.ts); 0 = none: `prepare` does nothing and `generate` preprocesses in-process.
   */
  readonly preprocessWorkers?: number;
  readonly onProgress?: (msg: string) => void;
}

/** What `prepare` attaches to a request (`GenerationRequest.prepared`): each image preprocessed, in order. */
class PreparedImages {
  constructor(readonly images: readonly PreprocessedImage[]) {}
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class OnnxBackend implements Backend {
  readonly info: BackendInfo;
  readonly maxBatch: number;
  /** Runs `prepare`'s preprocessing; its workers start on first use. */
  readonly preprocessPool: PreprocessPool;
  private warnedPool = false;

  constructor(
    readonly engine: InternVLEngine,
    private readonly options: {
      maxBatch?: number;
      resize?: 'exact' | 'fast';
      preprocessWorkers?: number;
    } = {},
  ) {
    const maxBatch = options.maxBatch ?? 1;
    if (!Number.isInteger(maxBatch) || maxBatch < 1)
      throw new Error(`maxBatch must be a positive integer, got ${maxBatch}`);
    this.maxBatch = maxBatch;
    this.preprocessPool = new PreprocessPool({
      size: options.preprocessWorkers ?? defaultPreprocessWorkers(),
    });
    const e = engine.info;
    this.info = {
      name: 'onnx',
      model: e.source,
      variant: e.variant,
      device: e.device,
      extra: {
        builtDir: e.dir,
        checkpointHash: e.checkpointHash,
        threads: e.threads,
        kvCache: e.kvCache,
        maxBatch,
        quant: e.built.quant,
        preprocessWorkers: this.preprocessPool.size,
      },
    };
  }

  static async load(model: string, options: OnnxBackendOptions = {}): Promise<OnnxBackend> {
    const { maxBatch, resize, preprocessWorkers, engine: engineOptions, onProgress } = options;
    const engine = await InternVLEngine.load(model, {
      ...engineOptions,
      ...(onProgress ? { onProgress } : {}),
    });
    return new OnnxBackend(engine, {
      ...(maxBatch !== undefined ? { maxBatch } : {}),
      ...(resize ? { resize } : {}),
      ...(preprocessWorkers !== undefined ? { preprocessWorkers } : {}),
    });
  }

  /**
   * Preprocesses the request's images on the pool and attaches them. Never rejects: when an image fails (or the
   * pool does), the request comes back as it was, and `generate` preprocesses it in-process and reports the
   * failure exactly as it would have without `prepare`.
   */
  async prepare(request: GenerationRequest): Promise<GenerationRequest> {
    // Size 0: nothing to gain ahead of time; `generate` preprocesses in-process, as without `prepare`.
    if (this.preprocessPool.size === 0) return request;
    if (request.images.length === 0 || request.maxTiles.length !== request.images.length) return request;
    try {
      const images = await Promise.all(
        request.images.map((bytes, i) =>
          this.preprocessPool.preprocess(
            bytes,
            this.preprocessOptions(request, i),
            `request ${request.id}: image ${i + 1}`,
          ),
        ),
      );
      return { ...request, prepared: new PreparedImages(images) };
    } catch (err) {
      // A bad image is `generate`'s to report; a broken pool is worth one warning (everything still works).
      if (err instanceof PreprocessPoolError && !this.warnedPool) {
        this.warnedPool = true;
        process.emitWarning(`${err.message}; preprocessing in-process instead`, 'PreprocessPoolWarning');
      }
      return request;
    }
  }

  async generate(requests: readonly GenerationRequest[]): Promise<GenerationResult[]> {
    const results: GenerationResult[] = new Array(requests.length);
    for (let start = 0; start < requests.length; start += this.maxBatch) {
      const chunk = requests.slice(start, start + this.maxBatch);
      const out = await this.generateChunk(chunk);
      out.forEach((r, i) => (results[start + i] = r));
    }
    return results;
  }

  private async generateChunk(requests: readonly GenerationRequest[]): Promise<GenerationResult[]> {
    const t0 = performance.now();
    const results: (GenerationResult | null)[] = requests.map(() => null);
    const ready: { index: number; chat: ChatRequest }[] = [];
    for (let i = 0; i < requests.length; i++) {
      // A request cancelled while it waited (its client went away) costs the batch nothing.
      if (requests[i].signal?.aborted) {
        results[i] = {
          id: requests[i].id,
          text: '',
          promptTokens: 0,
          outputTokens: 0,
          tiles: [],
          imageTokens: 0,
          latencyMs: 0,
          finishReason: 'cancelled',
        };
        continue;
      }
      try {
        const chat = await this.toChatRequest(requests[i]);
        this.engine.prepare(chat); // surfaces prompt/image mismatches per request
        ready.push({ index: i, chat });
      } catch (err) {
        results[i] = this.failure(requests[i], err, performance.now() - t0);
      }
    }
    if (ready.length > 0) {
      // Streaming requests get their pieces as generated; a request that already sent some is not run again
      // alone after a batch failure (its client would see the text twice).
      const emitted = ready.map(() => false);
      const streaming = ready.some((r) => requests[r.index].onText);
      const onText = ready.map((r, k) => (piece: string) => {
        emitted[k] = true;
        requests[r.index].onText?.(piece);
      });
      try {
        const out = await this.engine.batchChat(
          ready.map((r) => r.chat),
          streaming ? onText : undefined,
        );
        const ms = performance.now() - t0;
        ready.forEach((r, k) => (results[r.index] = this.success(requests[r.index], out[k], ms)));
      } catch (batchError) {
        // Isolate the failing request: run each alone.
        if (ready.length === 1) {
          results[ready[0].index] = this.failure(
            requests[ready[0].index],
            batchError,
            performance.now() - t0,
          );
        } else {
          for (const [k, r] of ready.entries()) {
            const t1 = performance.now();
            if (emitted[k]) {
              results[r.index] = this.failure(requests[r.index], batchError, t1 - t0);
              continue;
            }
            try {
              const [one] = await this.engine.batchChat(
                [r.chat],
                requests[r.index].onText ? [onText[k]] : undefined,
              );
              results[r.index] = this.success(requests[r.index], one, performance.now() - t1);
            } catch (err) {
              results[r.index] = this.failure(requests[r.index], err, performance.now() - t1);
            }
          }
        }
      }
    }
    // The model is done with these pixels: their buffers go back to the pool's workers for the next images
    // (PreprocessPool.release), instead of ~31 MB of fresh allocation per 13-tile page.
    for (const r of requests) {
      if (r.prepared instanceof PreparedImages)
        for (const image of r.prepared.images) this.preprocessPool.release(image);
    }
    return results as GenerationResult[];
  }

  private async toChatRequest(req: GenerationRequest): Promise<ChatRequest> {
    if (req.maxTiles.length !== req.images.length) {
      throw new Error(
        `request ${req.id}: ${req.images.length} images but ${req.maxTiles.length} maxTiles entries`,
      );
    }
    const prepared = req.prepared;
    const images: PreprocessedImage[] =
      // A prepared image whose buffer was already handed back (a request sent twice) is preprocessed again.
      prepared instanceof PreparedImages &&
      prepared.images.length === req.images.length &&
      prepared.images.every((image) => image.pixelValues.length > 0)
        ? [...prepared.images]
        : [];
    for (let i = images.length; i < req.images.length; i++) {
      try {
        images.push(await preprocessImage(req.images[i], this.preprocessOptions(req, i)));
      } catch (err) {
        throw new Error(`request ${req.id}: image ${i + 1}: ${errorText(err)}`);
      }
    }
    const s = req.sampling;
    return {
      question: req.question,
      ...(images.length > 0 ? { images } : {}),
      ...(req.systemMessage !== undefined ? { systemMessage: req.systemMessage } : {}),
      ...(req.history !== undefined ? { history: req.history } : {}),
      // A conversation's images each replace their own `<image>` (earlier turns included), as the model card's
      // multi-round chat passes num_patches_list.
      ...(req.history !== undefined && images.length > 0 ? { imageLayout: 'separate' as const } : {}),
      generation: {
        maxNewTokens: req.maxNewTokens,
        minNewTokens: req.minNewTokens,
        ...(s?.temperature !== undefined ? { temperature: s.temperature } : {}),
        ...(s?.topP !== undefined ? { topP: s.topP } : {}),
        ...(s?.topK !== undefined ? { topK: s.topK } : {}),
        ...(s?.seed !== undefined ? { seed: s.seed } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
      },
    };
  }

  private preprocessOptions(req: GenerationRequest, i: number): PreprocessOptions {
    return {
      maxTiles: req.maxTiles[i],
      useThumbnail: req.useThumbnail,
      ...(this.options.resize ? { resize: this.options.resize } : {}),
    };
  }

  private success(
    req: GenerationRequest,
    r: Awaited<ReturnType<InternVLEngine['chat']>>,
    latencyMs: number,
  ): GenerationResult {
    const totalTiles = r.tiles.reduce((a, b) => a + b, 0);
    return {
      id: req.id,
      text: r.text,
      promptTokens: r.inputIds.length,
      outputTokens: r.outputIds.length,
      tiles: r.tiles,
      imageTokens: totalTiles * this.engine.info.numImageToken,
      latencyMs,
      finishReason: r.finishReason,
    };
  }

  /** The prompt's length in tokens, images expanded (preprocesses the images unless `prepare` did). */
  async promptTokens(req: GenerationRequest): Promise<number> {
    return this.engine.prepare(await this.toChatRequest(req)).inputIds.length;
  }

  private failure(req: GenerationRequest, err: unknown, latencyMs: number): GenerationResult {
    return failedResult(req, errorText(err), latencyMs);
  }

  async close(): Promise<void> {
    await this.preprocessPool.close();
    await this.engine.close();
  }
}
