/**
 * InternVL2 chat on onnxruntime-node: the seed's `chat()` / `batch_chat()` (IVL `modeling_internvl_chat.py`) over
 * the graphs we build. A request's prompt is the internlm2-chat template with `<image>` expanded to
 * `<img><IMG_CONTEXT>×256·tiles</img>`; the vision encoder's embeddings overwrite the `<IMG_CONTEXT>` rows; the
 * decoder generates until `<|im_end|>` / EOS; the reply is decoded as the reference decodes it.
 */
import { buildModel } from '../graph/build.ts';
import { resolveEngineOptions, type EngineOptions, type EngineOptionsInput } from './engine-options.ts';
import { buildChatPrompt, INTERNLM2_CHAT, splitReply } from '../inputs/chat-template.ts';
import type { PreprocessedImage } from '../inputs/image-preprocess.ts';
import { InternLM2Tokenizer } from '../inputs/tokenizer.ts';
import { readBuiltModelInfo, type BuiltModelInfo } from './built-model.ts';
import { generate, type GenerateTimings, type PrefillBatch, type RowSettings } from './generate.ts';
import { embedPromptOnDevice } from './device-prompt.ts';
import { placeImageEmbeddings } from './image-embeds.ts';
import { classifyModelSource, downloadFromHub, type HubOptions } from './model-source.ts';
import { OnnxModel } from './onnx-model.ts';
import { leftPad } from './padding.ts';
import { ReplyStreamer } from './reply-text.ts';
import type { SamplingSettings } from './sampling.ts';
import { assertDeviceAvailable, type EngineDevice } from './sessions.ts';

/** EngineOptions (engine-options.ts: variant, device, threads, build overrides, vision batch, cache dir) + loading. */
export interface EngineLoadOptions extends EngineOptionsInput {
  /** Hugging Face download settings for a repo id. */
  readonly hub?: HubOptions;
  readonly onProgress?: (msg: string) => void;
}

export interface GenerationSettings extends SamplingSettings {
  /** Default 1024 (VLMEvalKit's InternVL2 default). */
  readonly maxNewTokens?: number;
  /** Default 0 (InternVL eval scripts pass 1). */
  readonly minNewTokens?: number;
  /**
   * Default: `<|im_end|>` only. InternVL's `chat()` sets `eos_token_id` to the template separator (overriding the
   * tokenizer's `</s>`), so the reference keeps generating through a `</s>`; decoding then drops it.
   */
  readonly stopTokens?: readonly string[];
  /** Stops this request's generation early (finish reason 'cancelled'); a batch's other requests go on. */
  readonly signal?: AbortSignal;
}

export interface ChatRequest {
  readonly question: string;
  /** Preprocessed images, one per `<image>` (or combined, see imageLayout). */
  readonly images?: readonly PreprocessedImage[];
  /** Alternative to `images`: raw `[tiles, 3, 448, 448]` values with tiles per image (`num_patches_list`). */
  readonly pixelValues?: Float32Array;
  readonly numPatchesList?: readonly number[];
  /** Earlier rounds as [question, answer]; `[]` differs from absent as in the reference (no `<image>\n` prefix). */
  readonly history?: readonly (readonly [string, string])[];
  readonly imageLayout?: 'combined' | 'separate';
  readonly systemMessage?: string;
  readonly generation?: GenerationSettings;
  /** Keep the logits at the last prompt position (`--dump-logits`). */
  readonly keepPromptLogits?: boolean;
}

export interface ChatTimings {
  readonly visionMs: number;
  readonly prefillMs: number;
  readonly decodeMs: number;
  readonly totalMs: number;
  /** Requests that shared these prefill/decode steps. */
  readonly batchSize: number;
  /** Real prompt tokens of the batch / prefill time. */
  readonly prefillTokensPerSecond: number;
  /** Tokens generated after the first one, over the batch / decode time. */
  readonly decodeTokensPerSecond: number;
  /** KV-cache length when decoding starts (the padded prompt length): the context the decode rate is at. */
  readonly decodeContextTokens: number;
  /** What one decode step cost (onnx-model.ts DecodeStepCosts): host↔device bytes and kernels. */
  readonly decodeStep?: {
    readonly hostToDeviceBytes: number;
    readonly deviceToHostBytes: number;
    /** Nodes run per decode step (all providers), null when not counted. */
    readonly kernels: number | null;
    /** Of which on the device (GPU dispatches). */
    readonly deviceKernels: number | null;
  };
}

export interface ChatResult {
  readonly text: string;
  /** Prompt ids (BOS first), as the reference's `input_ids`. */
  readonly inputIds: number[];
  /** Generated ids, stop token excluded. */
  readonly outputIds: number[];
  readonly finishReason: 'stop' | 'length' | 'cancelled';
  /** Tiles per image, thumbnail included. */
  readonly tiles: number[];
  readonly timings: ChatTimings;
  readonly promptLogits?: Float32Array;
}

export interface EngineInfo {
  /** Built model folder. */
  readonly dir: string;
  /** What was asked for: folder path or repo id. */
  readonly source: string;
  readonly variant: string;
  readonly device: EngineDevice;
  /** ORT intra-op threads per session (resolved: the default is every core). */
  readonly threads: number;
  /** How the decoder's KV cache is written: 'in-place' or 'append' on the host (sessions.ts HostKvBinding), 'device'. */
  readonly kvCache: OnnxModel['kvBinding'];
  /** The resolved options the engine was loaded with. */
  readonly options: EngineOptions;
  readonly checkpointHash: string;
  readonly numImageToken: number;
  readonly imageSize: number;
  readonly llm: BuiltModelInfo['llm'];
  readonly built: BuiltModelInfo;
}

/** A request turned into ids and pixels. */
export interface PreparedPrompt {
  readonly prompt: string;
  readonly inputIds: number[];
  readonly tiles: number[];
  readonly pixelValues: Float32Array | null;
}

const DEFAULT_MAX_NEW_TOKENS = 1024;

export class InternVLEngine {
  private constructor(
    readonly info: EngineInfo,
    readonly tokenizer: InternLM2Tokenizer,
    /** The ONNX sessions (for tests and benchmarks). */
    readonly model: OnnxModel,
  ) {}

  /**
   * Opens a built model folder (build.json), or builds a checkpoint folder first (cached by buildModel), or
   * downloads a Hugging Face repo id into the HF cache and builds it.
   */
  static async load(modelDirOrRepo: string, options: EngineLoadOptions = {}): Promise<InternVLEngine> {
    const { hub, onProgress, ...input } = options;
    const opts = resolveEngineOptions(input); // validated before any download or build
    assertDeviceAvailable(opts.device);
    let source = classifyModelSource(modelDirOrRepo);
    if (source.kind === 'hub') {
      onProgress?.(`downloading ${source.repo} from the Hugging Face hub`);
      const dir = await downloadFromHub(source.repo, source.revision, hub);
      source = classifyModelSource(dir);
      if (source.kind === 'hub') throw new Error(`download of ${modelDirOrRepo} gave no folder`);
    }
    let builtDir = source.dir;
    if (source.kind === 'checkpoint') {
      const built = await buildModel(source.dir, {
        variant: opts.variant,
        ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
        ...(opts.blockSize !== undefined ? { blockSize: opts.blockSize } : {}),
        ...(opts.accuracyLevel !== undefined ? { accuracyLevel: opts.accuracyLevel } : {}),
        ...(opts.zeroPoint !== undefined ? { zeroPoint: opts.zeroPoint } : {}),
        ...(opts.compute !== undefined ? { compute: opts.compute } : {}),
        ...(onProgress ? { onProgress } : {}),
      });
      builtDir = built.dir;
    }
    const built = readBuiltModelInfo(builtDir);
    const tokenizer = await InternLM2Tokenizer.fromDir(built.dir);
    const model = await OnnxModel.open(built, opts);
    const info: EngineInfo = {
      dir: built.dir,
      source: modelDirOrRepo,
      variant: built.variant,
      device: opts.device,
      threads: opts.threads,
      kvCache: model.kvBinding,
      options: opts,
      checkpointHash: built.checkpointHash,
      numImageToken: built.vision.numImageToken,
      imageSize: built.vision.imageSize,
      llm: built.llm,
      built,
    };
    return new InternVLEngine(info, tokenizer, model);
  }

  /** Prompt text, ids and pixels of a request (no model run). */
  prepare(req: ChatRequest): PreparedPrompt {
    let tiles: number[];
    let pixelValues: Float32Array | null;
    if (req.images && req.images.length > 0) {
      if (req.pixelValues) throw new Error('give either images or pixelValues, not both');
      tiles = req.images.map((im) => im.tiles);
      pixelValues = concatFloat32(req.images.map((im) => im.pixelValues));
    } else if (req.pixelValues) {
      const perTile = 3 * this.info.imageSize * this.info.imageSize;
      const total = req.pixelValues.length / perTile;
      if (!Number.isInteger(total) || total < 1) {
        throw new Error(
          `pixelValues hold ${req.pixelValues.length} floats, not a whole number of ${perTile}-float tiles`,
        );
      }
      tiles = req.numPatchesList ? [...req.numPatchesList] : [total];
      const sum = tiles.reduce((a, b) => a + b, 0);
      if (sum !== total) throw new Error(`numPatchesList sums to ${sum} tiles but pixelValues hold ${total}`);
      pixelValues = req.pixelValues;
    } else {
      if (req.numPatchesList && req.numPatchesList.length > 0)
        throw new Error('numPatchesList given without pixelValues');
      tiles = [];
      pixelValues = null;
    }
    const prompt = buildChatPrompt({
      question: req.question,
      numPatchesList: tiles,
      numImageToken: this.info.numImageToken,
      ...(req.systemMessage !== undefined ? { systemMessage: req.systemMessage } : {}),
      ...(req.history !== undefined ? { history: req.history } : {}),
      ...(req.imageLayout !== undefined ? { imageLayout: req.imageLayout } : {}),
    });
    const inputIds = this.tokenizer.encode(prompt, { addBos: true, splitSpecial: true });
    const contextId = this.tokenizer.imgContextId;
    const contextCount = inputIds.reduce((n, id) => n + (id === contextId ? 1 : 0), 0);
    const expected = tiles.reduce((a, b) => a + b, 0) * this.info.numImageToken;
    if (contextCount !== expected) {
      throw new Error(
        `the prompt holds ${contextCount} <IMG_CONTEXT> tokens but the images need ${expected} ` +
          `(${tiles.length} image(s), tiles ${JSON.stringify(tiles)}): check the <image> placeholders in the question`,
      );
    }
    return { prompt, inputIds, tiles, pixelValues };
  }

  async chat(req: ChatRequest, onText?: (piece: string) => void): Promise<ChatResult> {
    const [result] = await this.run([req], onText ? [onText] : undefined);
    return result;
  }

  /**
   * Several requests through shared prefill and decode steps (left padded); results in request order.
   * `onText`: one callback per request for its text pieces as they are generated (as `chat`'s).
   */
  async batchChat(
    reqs: readonly ChatRequest[],
    onText?: readonly ((piece: string) => void)[],
  ): Promise<ChatResult[]> {
    if (reqs.length === 0) return [];
    return this.run(reqs, onText ? [...onText] : undefined);
  }

  /**
   * Text pieces as they are generated; their concatenation equals `chat(req).text`. Leaving the loop early
   * (`break`, `return`) cancels the generation.
   */
  stream(req: ChatRequest): AsyncIterable<string> {
    return streamFrom((push, stopped) => {
      const g = req.generation;
      const signal = g?.signal ? AbortSignal.any([g.signal, stopped]) : stopped;
      return this.chat({ ...req, generation: { ...g, signal } }, push).then(() => undefined);
    });
  }

  async close(): Promise<void> {
    await this.model.close();
  }

  private stopIds(settings: GenerationSettings | undefined): number[] {
    const names = settings?.stopTokens ?? [INTERNLM2_CHAT.sep];
    return names.map((n) => this.tokenizer.requireId(n));
  }

  private decodeReply(ids: readonly number[]): string {
    return splitReply(this.tokenizer.decodeLikeReference(ids, { skipSpecialTokens: true }));
  }

  /**
   * Vision encoder over every tile of the batch, token embeddings of the left-padded prompts, image embeddings
   * placed over the `<IMG_CONTEXT>` rows: the decoder's prefill input (exposed for tests and benchmarks).
   */
  async buildPrefill(
    prepared: readonly PreparedPrompt[],
  ): Promise<{ prefill: PrefillBatch; visionMs: number }> {
    const hidden = this.info.llm.hidden;
    const tv = performance.now();
    const rowTiles = prepared.map((p) => p.tiles.reduce((a, b) => a + b, 0));
    if (this.model.resident) return this.buildPrefillOnDevice(prepared, rowTiles);
    const totalTiles = rowTiles.reduce((a, b) => a + b, 0);
    const imageEmbeds: (Float32Array | null)[] = prepared.map(() => null);
    if (totalTiles > 0) {
      const all = concatFloat32(
        prepared.filter((p) => p.pixelValues).map((p) => p.pixelValues as Float32Array),
      );
      const embeds = await this.model.encodeImages(all, totalTiles);
      const perTile = this.info.numImageToken * hidden;
      let offset = 0;
      prepared.forEach((_, b) => {
        if (rowTiles[b] === 0) return;
        imageEmbeds[b] = embeds.subarray(offset * perTile, (offset + rowTiles[b]) * perTile);
        offset += rowTiles[b];
      });
    }
    const visionMs = performance.now() - tv;
    const padded = leftPad(
      prepared.map((p) => p.inputIds),
      this.tokenizer.eosId,
    );
    const embeds = await this.model.embedOnHost(padded.inputIds, padded.batch, padded.seq);
    placeImageEmbeddings(
      embeds,
      padded.inputIds,
      padded.batch,
      padded.seq,
      hidden,
      this.tokenizer.imgContextId,
      imageEmbeds,
    );
    return { prefill: prefillBatch(padded, embeds), visionMs };
  }

  /** buildPrefill with the embeddings kept on the device (WebGPU residency, device-prompt.ts). */
  private async buildPrefillOnDevice(
    prepared: readonly PreparedPrompt[],
    rowTiles: readonly number[],
  ): Promise<{ prefill: PrefillBatch; visionMs: number }> {
    const padded = leftPad(
      prepared.map((p) => p.inputIds),
      this.tokenizer.eosId,
    );
    const withPixels = prepared.filter((p) => p.pixelValues).map((p) => p.pixelValues as Float32Array);
    const { embeds, visionMs } = await embedPromptOnDevice(this.model, {
      inputIds: padded.inputIds,
      batch: padded.batch,
      seq: padded.seq,
      imageTokenId: this.tokenizer.imgContextId,
      pixelValues: withPixels.length > 0 ? concatFloat32(withPixels) : null,
      rowTiles,
    });
    return { prefill: prefillBatch(padded, embeds), visionMs };
  }

  /** Generation settings of a request as the loop takes them. */
  rowSettings(req: ChatRequest): RowSettings {
    const g = req.generation;
    return {
      maxNewTokens: g?.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS,
      minNewTokens: g?.minNewTokens ?? 0,
      stopTokenIds: this.stopIds(g),
      ...(g && (g.temperature ?? 0) > 0 ? { sampling: g } : {}),
      ...(g?.signal ? { signal: g.signal } : {}),
    };
  }

  private async run(
    reqs: readonly ChatRequest[],
    onText?: ((piece: string) => void)[],
  ): Promise<ChatResult[]> {
    const t0 = performance.now();
    this.model.resetCosts();
    const prepared = reqs.map((r) => this.prepare(r));
    const { prefill, visionMs } = await this.buildPrefill(prepared);
    const padId = this.tokenizer.eosId;
    const rowSettings = reqs.map((r) => this.rowSettings(r));
    const streamers = onText?.map(
      () =>
        new ReplyStreamer(
          (ids) => this.tokenizer.decodeLikeReference(ids, { skipSpecialTokens: true }),
          INTERNLM2_CHAT.sep,
        ),
    );
    const out = await generate(this.model, prefill, rowSettings, {
      padTokenId: padId,
      keepPromptLogits: reqs.some((r) => r.keepPromptLogits),
      ...(streamers
        ? {
            onToken: (row: number, id: number) => {
              const piece = streamers[row].push(id);
              if (piece) onText![row](piece);
            },
          }
        : {}),
    });
    streamers?.forEach((s, row) => {
      const piece = s.finish();
      if (piece) onText![row](piece);
    });
    const totalMs = performance.now() - t0;
    const costs = this.model.decodeCosts();
    const timings: ChatTimings = {
      ...batchTimings(
        out.timings,
        visionMs,
        totalMs,
        prepared,
        out.rows.map((r) => r.outputIds.length),
        prefill.seq,
      ),
      decodeStep: {
        hostToDeviceBytes: costs.hostToDeviceBytesPerStep,
        deviceToHostBytes: costs.deviceToHostBytesPerStep,
        kernels: costs.kernels?.total ?? null,
        deviceKernels: costs.kernels?.device ?? null,
      },
    };
    return out.rows.map((row, b) => ({
      text: this.decodeReply(row.outputIds),
      inputIds: prepared[b].inputIds,
      outputIds: row.outputIds,
      finishReason: row.finishReason,
      tiles: prepared[b].tiles,
      timings,
      ...(reqs[b].keepPromptLogits && row.promptLogits ? { promptLogits: row.promptLogits } : {}),
    }));
  }
}

function batchTimings(
  t: GenerateTimings,
  visionMs: number,
  totalMs: number,
  prepared: readonly PreparedPrompt[],
  generated: readonly number[],
  promptWidth: number,
): ChatTimings {
  const promptTokens = prepared.reduce((n, p) => n + p.inputIds.length, 0);
  const decodeTokens = generated.reduce((n, g) => n + Math.max(0, g - 1), 0);
  return {
    visionMs,
    prefillMs: t.prefillMs,
    decodeMs: t.decodeMs,
    totalMs,
    batchSize: prepared.length,
    prefillTokensPerSecond: t.prefillMs > 0 ? (promptTokens * 1000) / t.prefillMs : 0,
    decodeTokensPerSecond: t.decodeMs > 0 ? (decodeTokens * 1000) / t.decodeMs : 0,
    decodeContextTokens: promptWidth,
  };
}

function concatFloat32(parts: readonly Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0];
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Turns a callback-driven producer into an async iterable of its pieces (errors rethrown to the consumer). The
 * producer's `stopped` signal aborts when the consumer leaves early (the iterator's `return`).
 */
export function streamFrom(
  produce: (push: (piece: string) => void, stopped: AbortSignal) => Promise<void>,
): AsyncIterable<string> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<string> {
      const stop = new AbortController();
      const queue: string[] = [];
      let finished = false;
      let failure: unknown = null;
      let wake: (() => void) | null = null;
      const notify = () => {
        const w = wake;
        wake = null;
        w?.();
      };
      produce((piece) => {
        queue.push(piece);
        notify();
      }, stop.signal).then(
        () => {
          finished = true;
          notify();
        },
        (err) => {
          failure = err ?? new Error('stream failed');
          finished = true;
          notify();
        },
      );
      return {
        async next(): Promise<IteratorResult<string>> {
          for (;;) {
            if (queue.length > 0) return { value: queue.shift() as string, done: false };
            if (failure) throw failure;
            if (finished) return { value: undefined, done: true };
            await new Promise<void>((resolve) => (wake = resolve));
          }
        },
        async return(): Promise<IteratorResult<string>> {
          stop.abort(new Error('stream consumer stopped early'));
          return { value: undefined, done: true };
        },
      };
    },
  };
}

/** The prefill of a left-padded batch (padding.ts) with its embeddings, on the host or on the device. */
function prefillBatch(padded: ReturnType<typeof leftPad>, embeds: PrefillBatch['embeds']): PrefillBatch {
  return {
    batch: padded.batch,
    seq: padded.seq,
    embeds,
    attentionMask: padded.attentionMask,
    positionIds: padded.positionIds,
  };
}
