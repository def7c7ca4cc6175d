/**
 * The in-process backend: InternVLEngine (src/model/engine) behind the runner's `Backend` interface. Each request's
 * images are preprocessed as InternVL's `load_image` (its own tile cap, thumbnail flag), then up to `maxBatch`
 * requests share prefill and decode steps. A request that fails (bad image, prompt/image mismatch) gets `error`;
 * the others still run.
 */
import type { Backend, BackendInfo, GenerationRequest, GenerationResult } from '../backend.ts';
import { VARIANTS, type Variant } from '../../model/graph/build.ts';
import { preprocessImage, type PreprocessedImage } from '../../model/inputs/image-preprocess.ts';
import { InternVLEngine, type ChatRequest, type EngineLoadOptions } from '../../model/engine/engine.ts';
import { ENGINE_DEVICES, type EngineDevice } from '../../model/engine/sessions.ts';

export interface OnnxBackendOptions extends Omit<EngineLoadOptions, 'variant' | 'device'> {
  /** fp32 | fp16 | int8 | int4 (default fp32). */
  readonly variant?: string;
  /** cpu | cuda | webgpu (default cpu). */
  readonly device?: string;
  /** Requests per shared generation (default 1). */
  readonly maxBatch?: number;
  /** Image resampling: 'exact' (Pillow-identical, default) or 'fast' (sharp). */
  readonly resize?: 'exact' | 'fast';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class OnnxBackend implements Backend {
  readonly info: BackendInfo;
  readonly maxBatch: number;

  constructor(
    readonly engine: InternVLEngine,
    private readonly options: { maxBatch?: number; resize?: 'exact' | 'fast' } = {},
  ) {
    const maxBatch = options.maxBatch ?? 1;
    if (!Number.isInteger(maxBatch) || maxBatch < 1)
      throw new Error(`maxBatch must be a positive integer, got ${maxBatch}`);
    this.maxBatch = maxBatch;
    const e = engine.info;
    this.info = {
      name: 'onnx',
      model: e.source,
      variant: e.variant,
      device: e.device,
      extra: {
        builtDir: e.dir,
        checkpointHash: e.checkpointHash,
        threads: e.threads ?? null,
        maxBatch,
        quant: e.built.quant,
      },
    };
  }

  static async load(model: string, options: OnnxBackendOptions = {}): Promise<OnnxBackend> {
    const variant = options.variant ?? 'fp32';
    if (!(VARIANTS as readonly string[]).includes(variant)) {
      throw new Error(`unknown variant '${variant}' (expected ${VARIANTS.join(', ')})`);
    }
    const device = options.device ?? 'cpu';
    if (!(ENGINE_DEVICES as readonly string[]).includes(device)) {
      throw new Error(`unknown device '${device}' (expected ${ENGINE_DEVICES.join(', ')})`);
    }
    const { maxBatch, resize, ...rest } = options;
    const engine = await InternVLEngine.load(model, {
      ...rest,
      variant: variant as Variant,
      device: device as EngineDevice,
    });
    return new OnnxBackend(engine, {
      ...(maxBatch !== undefined ? { maxBatch } : {}),
      ...(resize ? { resize } : {}),
    });
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
      try {
        const chat = await this.toChatRequest(requests[i]);
        this.engine.prepare(chat); // surfaces prompt/image mismatches per request
        ready.push({ index: i, chat });
      } catch (err) {
        results[i] = this.failure(requests[i], err, performance.now() - t0);
      }
    }
    if (ready.length > 0) {
      try {
        const out = await this.engine.batchChat(ready.map((r) => r.chat));
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
          for (const r of ready) {
            const t1 = performance.now();
            try {
              const [one] = await this.engine.batchChat([r.chat]);
              results[r.index] = this.success(requests[r.index], one, performance.now() - t1);
            } catch (err) {
              results[r.index] = this.failure(requests[r.index], err, performance.now() - t1);
            }
          }
        }
      }
    }
    return results as GenerationResult[];
  }

  private async toChatRequest(req: GenerationRequest): Promise<ChatRequest> {
    if (req.maxTiles.length !== req.images.length) {
      throw new Error(
        `request ${req.id}: ${req.images.length} images but ${req.maxTiles.length} maxTiles entries`,
      );
    }
    const images: PreprocessedImage[] = [];
    for (let i = 0; i < req.images.length; i++) {
      try {
        images.push(
          await preprocessImage(req.images[i], {
            maxTiles: req.maxTiles[i],
            useThumbnail: req.useThumbnail,
            ...(this.options.resize ? { resize: this.options.resize } : {}),
          }),
        );
      } catch (err) {
        throw new Error(`request ${req.id}: image ${i + 1}: ${errorText(err)}`);
      }
    }
    return {
      question: req.question,
      ...(images.length > 0 ? { images } : {}),
      ...(req.systemMessage !== undefined ? { systemMessage: req.systemMessage } : {}),
      generation: { maxNewTokens: req.maxNewTokens, minNewTokens: req.minNewTokens },
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
    };
  }

  private failure(req: GenerationRequest, err: unknown, latencyMs: number): GenerationResult {
    return {
      id: req.id,
      text: '',
      promptTokens: 0,
      outputTokens: 0,
      tiles: [],
      imageTokens: 0,
      latencyMs,
      error: errorText(err),
    };
  }

  async close(): Promise<void> {
    await this.engine.close();
  }
}
