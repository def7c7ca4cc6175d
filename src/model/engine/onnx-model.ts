/**
 * The three ONNX sessions of a built model (vision, embed, decoder) behind the `CausalDecoder` interface the
 * generation loop uses, plus the vision encoder run. Graph I/O names and shapes: engine-contract.md.
 */
import * as ort from 'onnxruntime-node';
import { rotaryTables } from '../graph/decoder-graph.ts';
import type { BuiltModelInfo } from './built-model.ts';
import type { CausalDecoder, DecoderStepInput, DecoderStepOutput, KvCache } from './generate.ts';
import {
  bindsInPlace,
  openSession,
  planSessions,
  type DecoderPlan,
  type HostKvBinding,
  type SessionPlan,
  type SessionSettings,
} from './sessions.ts';
import { NativeSession, nativeUnavailable, type NativeTensor } from './ort-native.ts';
// Device residency (issue 15): the WebGPU path lives in these files; this class only dispatches to it.
import { DeviceKernels } from './device-kernels.ts';
import { DeviceKvDecoder } from './device-kv-cache.ts';
import { lastPositionLogits } from './last-logits.ts';
import {
  MeteredSession,
  TransferMeter,
  deviceEmbeds,
  hostData,
  isDeviceEmbeds,
  type DeviceEmbeds,
  type Embeds,
  type TransferTotals,
} from './device-tensors.ts';
import { countRunKernels, KernelProfile, type KernelCount } from './kernel-profile.ts';
import { defaultVisionBatch } from './vision-batching.ts';

/** Preallocated cache tensors [batch, kvHeads, capacity, headDim], two per layer (key, value). */
interface CacheBuffers {
  readonly batch: number;
  readonly capacity: number;
  readonly tensors: readonly ort.Tensor[];
}

/** The cache after a step: `length` slots of `buffers` are written. */
interface StaticKvCache extends KvCache {
  readonly buffers: CacheBuffers;
}

/** Prefill runs profiled while waiting for a first decode step to count (kernel-profile.ts). */
const MAX_PROFILED_PREFILLS = 16;

/** What a decode step cost, averaged over the decode steps since `resetCosts` (chat --json, bench). */
export interface DecodeStepCosts {
  readonly decodeSteps: number;
  /** Host tensors fed to device sessions per step (0 on the CPU provider). */
  readonly hostToDeviceBytesPerStep: number;
  /** Host tensors returned by device sessions per step: the logits (0 on the CPU provider). */
  readonly deviceToHostBytesPerStep: number;
  readonly transfers: TransferTotals;
  /** Kernels of one decode step (null until one has run, or when not counted). */
  readonly kernels: KernelCount | null;
}

export type { DeviceEmbeds };

export class OnnxModel implements CausalDecoder {
  readonly hidden: number;
  readonly vocab: number;
  private readonly pastNames: { key: string; value: string; qkv: string }[];
  /** RoPE angles' cos/sin per cache slot [slots, headDim/2], grown on demand (appendFromQkv). */
  private rotary: { cos: Float32Array; sin: Float32Array; slots: number } = {
    cos: new Float32Array(0),
    sin: new Float32Array(0),
    slots: 0,
  };
  private idleCache: CacheBuffers | null = null;
  /** host↔device bytes of every session run (all zero when everything runs on the CPU provider). */
  readonly meter = new TransferMeter();
  private readonly runVision: MeteredSession;
  private readonly runEmbed: MeteredSession;
  /** The decoder through onnxruntime-node (device and 'append' paths), or null when it runs through the C API. */
  private readonly runDecoder: MeteredSession | null;
  /** The decoder through onnxruntime's C API, the host cache bound as past and present ('in-place'). */
  private readonly nativeDecoder: NativeSession | null;
  /** How the decoder's KV cache gets each run's new slots (sessions.ts HostKvBinding), or 'device'. */
  readonly kvBinding: HostKvBinding | 'device';
  /** true: KV cache and activations stay on the device (DecoderPlan kvCache.location 'device'). */
  readonly resident: boolean;
  /** The device path (WebGPU residency), null when the KV cache and activations stay on the host. */
  private readonly kernels: DeviceKernels | null;
  private readonly deviceKv: DeviceKvDecoder | null;
  /** Kernels of one decode step, once the first decode step has run (ORT's profiler, kernel-profile.ts). */
  decodeKernels: KernelCount | null = null;
  /** Decode steps since the last `resetCosts`. */
  private decodeSteps = 0;
  private profiledPrefills = 0;

  private constructor(
    readonly info: BuiltModelInfo,
    readonly vision: ort.InferenceSession,
    readonly embedder: ort.InferenceSession,
    /** onnxruntime-node's decoder session, or the C API's ('in-place' host cache). */
    readonly decoder: ort.InferenceSession | NativeSession,
    /** Tiles per vision run (bounds activation memory). */
    readonly visionBatch: number,
    /** How the decoder is driven on this provider (sessions.ts). */
    readonly plan: DecoderPlan = { kvCache: { location: 'cpu', binding: 'append' } },
    private readonly profile: KernelProfile | null = null,
  ) {
    this.resident = plan.kvCache.location === 'device';
    this.runVision = new MeteredSession(vision, info.files.vision, this.resident, this.meter);
    this.runEmbed = new MeteredSession(embedder, info.files.embed, this.resident, this.meter);
    if (decoder instanceof NativeSession) {
      if (!bindsInPlace(plan)) {
        throw new Error(
          `${info.files.decoder}: a C API decoder session serves the 'in-place' host cache only`,
        );
      }
      this.nativeDecoder = decoder;
      this.runDecoder = null;
    } else {
      if (bindsInPlace(plan)) {
        throw new Error(`${info.files.decoder}: the 'in-place' host cache needs the C API decoder session`);
      }
      this.nativeDecoder = null;
      this.runDecoder = new MeteredSession(decoder, info.files.decoder, this.resident, this.meter);
    }
    this.kvBinding = plan.kvCache.location === 'device' ? 'device' : plan.kvCache.binding;
    this.kernels = this.resident ? new DeviceKernels(this.meter) : null;
    this.deviceKv =
      this.kernels && this.runDecoder ? new DeviceKvDecoder(info, this.runDecoder, this.kernels) : null;
    this.hidden = info.llm.hidden;
    this.vocab = info.llm.vocab;
    this.pastNames = Array.from({ length: info.llm.layers }, (_, i) => ({
      key: `past_key_values.${i}.key`,
      value: `past_key_values.${i}.value`,
      qkv: `language_model.model.layers.${i}.attention.wqkv`,
    }));
    const need = ['inputs_embeds', 'attention_mask', ...this.pastNames.flatMap((p) => [p.key, p.value])];
    for (const name of need) {
      if (!decoder.inputNames.includes(name)) {
        throw new Error(
          `${info.files.decoder}: decoder has no input '${name}' (inputs: ${decoder.inputNames.join(', ')})`,
        );
      }
    }
    const added = this.nativeDecoder ? `present.0.key` : this.pastNames[0]?.qkv;
    if ((added && !decoder.outputNames.includes(added)) || info.llm.ropeTheta === undefined) {
      throw new Error(
        `${info.files.decoder}: no output '${added}' or no llm.ropeTheta in build.json: it was built by builder ` +
          `version ${info.builderVersion || '?'}, before the engine's static cache (5); rebuild it (build again)`,
      );
    }
  }

  /**
   * Opens the three sessions as `plan` (sessions.ts planSessions: providers, threads, KV placement) says. With the
   * KV cache on the device, vision and embedding outputs stay on the device; the decoder's must not set a preferred
   * location, or onnxruntime-node 1.30 ignores the pre-allocated present.* fetches (device-kv-cache.ts). The
   * decoder is profiled until its first decode step to count its kernels (`countKernels`, default true).
   */
  static async open(
    info: BuiltModelInfo,
    settings: SessionSettings & { readonly visionBatch?: number; readonly countKernels?: boolean },
    plan: SessionPlan = planSessions(settings),
  ): Promise<OnnxModel> {
    const resident = plan.decoder.kvCache.location === 'device';
    const deviceOutputs = resident ? { preferredOutputLocation: 'gpu-buffer' as const } : {};
    const profile = settings.countKernels === false ? null : new KernelProfile();
    let decoderPlan = plan.decoder;
    if (bindsInPlace(decoderPlan)) {
      const why = await nativeUnavailable();
      if (why) {
        warnOnce(
          `onnxruntime's C API cannot load (${why}): the decoder copies its KV cache each step ('append')`,
        );
        decoderPlan = { ...decoderPlan, kvCache: { location: 'cpu', binding: 'append' } };
      }
    }
    const vision = await openSession(info.files.vision, settings, { ...plan.session, ...deviceOutputs });
    const embed = await openSession(info.files.embed, settings, { ...plan.session, ...deviceOutputs });
    const decoder = bindsInPlace(decoderPlan)
      ? await NativeSession.open(info.files.decoder, {
          threads: settings.threads ?? 0,
          ...(profile ? { profileFilePrefix: profile.sessionOptions().profileFilePrefix } : {}),
        })
      : await openSession(info.files.decoder, settings, {
          ...plan.session,
          ...(profile?.sessionOptions() ?? {}),
        });
    const cacheType =
      decoder instanceof NativeSession
        ? decoder.inputTypes.get('past_key_values.0.key')
        : tensorType(decoder.inputMetadata.find((m) => m.name === 'past_key_values.0.key'));
    if (!resident && cacheType === 'float16') {
      profile?.discard();
      await Promise.all([vision.release(), embed.release(), releaseSession(decoder)]);
      throw new Error(
        `${info.files.decoder}: built for fp16 compute (fp16 KV cache), which runs on GPU providers only; ` +
          `use --device webgpu, or build with fp32 compute for --device ${settings.device}`,
      );
    }
    const tiles = settings.visionBatch ?? defaultVisionBatch(settings.device);
    return new OnnxModel(info, vision, embed, decoder, tiles, decoderPlan, profile);
  }

  /** host↔device bytes and kernels per decode step since the last `resetCosts`. */
  decodeCosts(): DecodeStepCosts {
    const t = this.meter.totals('decode');
    const n = Math.max(1, this.decodeSteps);
    return {
      decodeSteps: this.decodeSteps,
      hostToDeviceBytesPerStep: t.toDeviceBytes / n,
      deviceToHostBytesPerStep: t.toHostBytes / n,
      transfers: t,
      kernels: this.decodeKernels,
    };
  }

  resetCosts(): void {
    this.meter.reset();
    this.decodeSteps = 0;
  }

  /** pixel values [tiles, 3, S, S] → image embeddings [tiles, numImageToken, hidden], run `visionBatch` tiles at a time. */
  async encodeImages(pixelValues: Float32Array, tiles: number): Promise<Float32Array> {
    if (this.resident) {
      throw new Error(
        'encodeImages returns host memory; a device-resident model encodes with encodeImagesOnDevice',
      );
    }
    const size = this.info.vision.imageSize;
    const perTile = 3 * size * size;
    if (pixelValues.length !== tiles * perTile) {
      throw new Error(`pixel values hold ${pixelValues.length} floats, expected ${tiles}×3×${size}×${size}`);
    }
    const perOut = this.info.vision.numImageToken * this.hidden;
    const out = new Float32Array(tiles * perOut);
    for (let t0 = 0; t0 < tiles; t0 += this.visionBatch) {
      const n = Math.min(this.visionBatch, tiles - t0);
      const input = new ort.Tensor('float32', pixelValues.subarray(t0 * perTile, (t0 + n) * perTile), [
        n,
        3,
        size,
        size,
      ]);
      const res = await this.runVision.run({ pixel_values: input });
      const emb = res.image_embeds;
      if (!emb) throw new Error(`${this.info.files.vision}: no output 'image_embeds'`);
      const data = hostData<Float32Array>(emb, `${this.info.files.vision} output 'image_embeds'`);
      if (data.length !== n * perOut) {
        throw new Error(
          `${this.info.files.vision}: image_embeds has ${data.length} values, expected ${n}×${perOut}`,
        );
      }
      out.set(data, t0 * perOut);
    }
    return out;
  }

  /**
   * Device path: pixel values → image embeddings left on the device, `visionBatch` tiles per run; `onChunk` gets
   * each run's [n, numImageToken, hidden] tensor with its first tile index and owns (disposes) it.
   */
  async encodeImagesOnDevice(
    pixelValues: Float32Array,
    tiles: number,
    onChunk: (embeds: ort.Tensor, firstTile: number, count: number) => Promise<void>,
  ): Promise<void> {
    const size = this.info.vision.imageSize;
    const perTile = 3 * size * size;
    if (pixelValues.length !== tiles * perTile) {
      throw new Error(`pixel values hold ${pixelValues.length} floats, expected ${tiles}×3×${size}×${size}`);
    }
    for (let t0 = 0; t0 < tiles; t0 += this.visionBatch) {
      const n = Math.min(this.visionBatch, tiles - t0);
      const input = new ort.Tensor('float32', pixelValues.subarray(t0 * perTile, (t0 + n) * perTile), [
        n,
        3,
        size,
        size,
      ]);
      const emb = (await this.runVision.run({ pixel_values: input })).image_embeds;
      if (!emb) throw new Error(`${this.info.files.vision}: no output 'image_embeds'`);
      await onChunk(emb, t0, n);
    }
  }

  /** The device helper graphs (zeros, row placement, sync) of a device-resident model. */
  deviceKernels(): DeviceKernels {
    if (!this.kernels) throw new Error('this model keeps its tensors on the host (no device kernels)');
    return this.kernels;
  }

  /** ids [batch, seq] → embeddings: host memory, or a device tensor on a device-resident model. */
  async embed(ids: BigInt64Array, batch: number, seq: number): Promise<Embeds> {
    const res = await this.runEmbed.run({ input_ids: new ort.Tensor('int64', ids, [batch, seq]) });
    const out = res.inputs_embeds;
    if (!out || out.dims.reduce((a, b) => a * b, 1) !== batch * seq * this.hidden) {
      throw new Error(`${this.info.files.embed}: inputs_embeds missing or of wrong size`);
    }
    if (this.resident) return deviceEmbeds(out);
    return hostData<Float32Array>(out, `${this.info.files.embed} output 'inputs_embeds'`);
  }

  /** `embed` on a host model (tests and tools that edit the embeddings). */
  async embedOnHost(ids: BigInt64Array, batch: number, seq: number): Promise<Float32Array> {
    const e = await this.embed(ids, batch, seq);
    if (isDeviceEmbeds(e)) {
      e.tensor.dispose();
      throw new Error('embedOnHost: this model keeps its embeddings on the device');
    }
    return e;
  }

  /**
   * One decoder run on the static cache. The prefill (no past) takes a cache of `input.capacity` slots (an idle one
   * of the same batch with room enough, else a new one). How each run's new slots get into it is the host binding
   * (sessions.ts HostKvBinding):
   * - 'in-place' (runInPlace): through onnxruntime's C API, the cache tensors bound as `past_key_values.*` and as
   *   `present.*`; GQA reads the written slots where they lie and writes the new ones; only logits come back.
   * - 'append' (run): through onnxruntime-node, the cache fed whole as past (no copy: the binding wraps the JS
   *   memory) and each layer's packed qkv fetched, from which the engine writes the new slots (appendFromQkv). GQA
   *   then zeroes its own present buffer and copies the past into it every step. The shared-buffer form is no way
   *   out through onnxruntime-node 1.30: it copies every fetched output into a fresh ArrayBuffer (held by
   *   onnx-model.test.ts), the whole cache per step (110 ms/step against 39 at context 1800, 24 GQA layers).
   */
  async step(input: DecoderStepInput): Promise<DecoderStepOutput> {
    const decode = input.past !== null;
    this.meter.phase = decode ? 'decode' : 'prefill';
    const out = this.deviceKv
      ? await this.deviceKv.step(input, this.plan.prefillChunk)
      : await this.hostStep(input);
    if (!decode && this.profile && !this.decodeKernels && ++this.profiledPrefills > MAX_PROFILED_PREFILLS) {
      // Prefill-only use (e.g. scoring with one new token): stop profiling rather than let events pile up.
      this.profile.finish(this.decoder);
    }
    if (decode) {
      this.decodeSteps++;
      if (this.profile && !this.decodeKernels) {
        // Runs so far: the prefill(s) and this first decode step, which is the last one in the profile.
        const events = this.profile.finish(this.decoder);
        const runs = events.filter((e) => e.name === 'model_run').length;
        if (runs > 0) this.decodeKernels = countRunKernels(events, runs - 1);
      }
    }
    // The next token's embedding (and anything until the next prefill) belongs to the decode phase.
    this.meter.phase = 'decode';
    return out;
  }

  private async hostStep(input: DecoderStepInput): Promise<DecoderStepOutput> {
    const { batch, seq } = input;
    if (isDeviceEmbeds(input.embeds)) throw new Error('a host decoder step got device embeddings');
    const past = input.past as StaticKvCache | null;
    const pastLength = past ? past.length : 0;
    const total = pastLength + seq;
    let buffers = past ? past.buffers : this.takeCache(batch, Math.max(total, input.capacity ?? total));
    if (total > buffers.capacity) buffers = this.growCache(buffers, pastLength, total, input.capacity);
    const chunk = this.plan.prefillChunk;
    if (chunk && seq > chunk) {
      const lastLogits = await this.chunkedRun(input, buffers, pastLength, chunk);
      return { lastLogits, present: { length: total, buffers } as StaticKvCache };
    }
    const logits = await this.run(input, buffers, pastLength);
    const present: StaticKvCache = { length: total, buffers };
    return { lastLogits: logits, present };
  }

  /**
   * A long prefill as several runs: each row alone (batch 1, on a zero-copy view of its own cache rows), in chunks
   * of at most `chunk` tokens on the slots written so far (DecoderPlan.prefillChunk says why).
   */
  private async chunkedRun(
    input: DecoderStepInput,
    buffers: CacheBuffers,
    pastLength: number,
    chunk: number,
  ): Promise<Float32Array> {
    const { batch, seq } = input;
    const total = pastLength + seq;
    const { kvHeads, headDim } = this.info.llm;
    const H = this.hidden;
    const perRow = kvHeads * buffers.capacity * headDim;
    const lastLogits = new Float32Array(batch * this.vocab);
    for (let b = 0; b < batch; b++) {
      const row: CacheBuffers = {
        batch: 1,
        capacity: buffers.capacity,
        tensors: buffers.tensors.map(
          (t) =>
            new ort.Tensor('float32', (t.data as Float32Array).subarray(b * perRow, (b + 1) * perRow), [
              1,
              kvHeads,
              buffers.capacity,
              headDim,
            ]),
        ),
      };
      let logits: Float32Array | null = null;
      for (let s0 = 0; s0 < seq; s0 += chunk) {
        const s1 = Math.min(seq, s0 + chunk);
        logits = await this.run(
          {
            batch: 1,
            seq: s1 - s0,
            embeds: (input.embeds as Float32Array).subarray((b * seq + s0) * H, (b * seq + s1) * H),
            attentionMask: input.attentionMask.subarray(b * total, b * total + pastLength + s1),
            positionIds: input.positionIds.subarray(b * seq + s0, b * seq + s1),
            past: null,
          },
          row,
          pastLength + s0,
        );
      }
      lastLogits.set(logits!.subarray(0, this.vocab), b * this.vocab);
    }
    return lastLogits;
  }

  /**
   * One decoder run on `buffers` through the C API ('in-place'): each cache tensor is bound as its layer's
   * `past_key_values.*` and as its `present.*`, so GroupQueryAttention reads the written slots where they lie and
   * writes the new ones (rotated K, V) into them; only the logits come back.
   */
  private async runInPlace(
    session: NativeSession,
    input: DecoderStepInput,
    buffers: CacheBuffers,
  ): Promise<Float32Array> {
    const { batch, seq } = input;
    const total = input.attentionMask.length / batch;
    const inputs: Record<string, NativeTensor> = {
      inputs_embeds: { data: input.embeds as Float32Array, dims: [batch, seq, this.hidden] },
      attention_mask: { data: input.attentionMask, dims: [batch, total] },
    };
    const bound: Record<string, NativeTensor> = {};
    this.pastNames.forEach((p, i) => {
      const key = buffers.tensors[2 * i];
      const value = buffers.tensors[2 * i + 1];
      inputs[p.key] = { data: key.data as Float32Array, dims: key.dims };
      inputs[p.value] = { data: value.data as Float32Array, dims: value.dims };
      bound[`present.${i}.key`] = inputs[p.key];
      bound[`present.${i}.value`] = inputs[p.value];
    });
    const { logits } = await session.run(inputs, bound, ['logits']);
    if (!(logits.data instanceof Float32Array)) throw new Error(`${session.file}: logits are not float32`);
    return lastPositionLogits(logits.data, batch, logits.dims[1], this.vocab);
  }

  /** One decoder run of `input` on `buffers`, whose first `pastLength` slots are written; appends the new slots. */
  private async run(
    input: DecoderStepInput,
    buffers: CacheBuffers,
    pastLength: number,
  ): Promise<Float32Array> {
    if (this.nativeDecoder) return this.runInPlace(this.nativeDecoder, input, buffers);
    if (!this.runDecoder) throw new Error(`${this.info.files.decoder}: no decoder session`);
    const { batch, seq } = input;
    const total = pastLength + seq;
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: new ort.Tensor('float32', input.embeds as Float32Array, [batch, seq, this.hidden]),
      attention_mask: new ort.Tensor('int64', input.attentionMask, [batch, total]),
    };
    const fetches: string[] = ['logits'];
    this.pastNames.forEach((p, i) => {
      feeds[p.key] = buffers.tensors[2 * i];
      feeds[p.value] = buffers.tensors[2 * i + 1];
      fetches.push(p.qkv);
    });
    const res = await this.runDecoder.run(feeds, fetches);
    const logits = res.logits;
    if (!logits) throw new Error(`${this.info.files.decoder}: no output 'logits'`);
    this.pastNames.forEach((p, i) => this.appendFromQkv(buffers, i, res[p.qkv], pastLength, seq));
    const data = hostData<Float32Array>(logits, `${this.info.files.decoder} output 'logits'`);
    return lastPositionLogits(data, batch, logits.dims[1], this.vocab);
  }

  /**
   * The S new cache slots of layer `layer` from its packed projection qkv [B, S, (NH + 2·KV)·D] (before rotary):
   * V as is, K rotated by its slot, as GroupQueryAttention rotates it (half-split rotate_half, do_rotary with the
   * graph's cos/sin tables, position = slot: decoder-graph.ts). Written to slots [from, from + S) of the cache.
   */
  private appendFromQkv(
    buffers: CacheBuffers,
    layer: number,
    qkv: ort.Tensor | undefined,
    from: number,
    seq: number,
  ): void {
    const { heads, kvHeads, headDim } = this.info.llm;
    if (!qkv) throw new Error(`${this.info.files.decoder}: no qkv output for layer ${layer}`);
    const src = hostData<Float32Array>(qkv, `${this.info.files.decoder} layer ${layer} qkv`);
    const width = (heads + 2 * kvHeads) * headDim;
    if (src.length !== buffers.batch * seq * width) {
      throw new Error(
        `${this.info.files.decoder}: layer ${layer} qkv holds ${src.length} values, expected ${buffers.batch}×${seq}×${width}`,
      );
    }
    const keys = buffers.tensors[2 * layer].data as Float32Array;
    const values = buffers.tensors[2 * layer + 1].data as Float32Array;
    const half = headDim / 2;
    const { cos, sin } = this.rotaryUpTo(from + seq);
    for (let b = 0; b < buffers.batch; b++) {
      for (let s = 0; s < seq; s++) {
        const slot = from + s;
        const row = (b * seq + s) * width;
        const angles = slot * half;
        for (let h = 0; h < kvHeads; h++) {
          const k = row + (heads + h) * headDim;
          const v = row + (heads + kvHeads + h) * headDim;
          const dst = ((b * kvHeads + h) * buffers.capacity + slot) * headDim;
          for (let j = 0; j < half; j++) {
            const c = cos[angles + j];
            const sn = sin[angles + j];
            const x1 = src[k + j];
            const x2 = src[k + half + j];
            keys[dst + j] = x1 * c - x2 * sn;
            keys[dst + half + j] = x2 * c + x1 * sn;
          }
          values.set(src.subarray(v, v + headDim), dst);
        }
      }
    }
  }

  /** cos/sin tables covering `slots` positions (rotaryTables of the graph builder: the same float32 values). */
  private rotaryUpTo(slots: number): { cos: Float32Array; sin: Float32Array } {
    if (slots > this.rotary.slots) {
      const grown = Math.max(slots, 2 * this.rotary.slots, 256);
      const t = rotaryTables(grown, this.info.llm.headDim, this.info.llm.ropeTheta as number);
      this.rotary = { ...t, slots: grown };
    }
    return this.rotary;
  }

  /**
   * A cache of `batch` rows and `capacity` slots whose first `length` slots count as written (holding whatever the
   * buffers hold): benchmarks time decode steps at a context without paying for its prefill (a step's cost does
   * not depend on the cached values).
   */
  prefilledCache(batch: number, capacity: number, length: number): KvCache {
    if (length > capacity) throw new Error(`prefilledCache: length ${length} > capacity ${capacity}`);
    const cache: StaticKvCache = { length, buffers: this.takeCache(batch, capacity) };
    return cache;
  }

  releaseCache(cache: KvCache): void {
    if (this.deviceKv) {
      this.deviceKv.releaseCache(cache);
      return;
    }
    // One idle cache is kept: the next generation of the same batch size reuses it (no allocation, no zeroing:
    // a prefill writes every slot it later reads).
    this.idleCache = (cache as StaticKvCache).buffers;
  }

  /** An idle cache of this batch size with room for `capacity` slots, or a new one. */
  private takeCache(batch: number, capacity: number): CacheBuffers {
    const idle = this.idleCache;
    this.idleCache = null;
    if (idle && idle.batch === batch && idle.capacity >= capacity) return idle;
    return this.allocateCache(batch, capacity);
  }

  private allocateCache(batch: number, capacity: number): CacheBuffers {
    const { kvHeads, headDim, layers } = this.info.llm;
    const dims = [batch, kvHeads, capacity, headDim];
    const size = batch * kvHeads * capacity * headDim;
    const tensors = Array.from(
      { length: 2 * layers },
      () => new ort.Tensor('float32', new Float32Array(size), dims),
    );
    return { batch, capacity, tensors };
  }

  /** A generation that outgrew its capacity hint (a decoder driven without one): copy into a larger cache. */
  private growCache(old: CacheBuffers, filled: number, needed: number, hint?: number): CacheBuffers {
    const capacity = Math.max(needed, Math.min(hint ?? Infinity, 2 * old.capacity));
    const next = this.allocateCache(old.batch, capacity);
    const { kvHeads, headDim } = this.info.llm;
    old.tensors.forEach((t, i) => {
      const from = t.data as Float32Array;
      const to = next.tensors[i].data as Float32Array;
      for (let r = 0; r < old.batch * kvHeads; r++) {
        to.set(
          from.subarray(r * old.capacity * headDim, (r * old.capacity + filled) * headDim),
          r * capacity * headDim,
        );
      }
    });
    return next;
  }

  async close(): Promise<void> {
    this.idleCache = null;
    this.deviceKv?.close();
    await this.kernels?.close();
    this.profile?.discard();
    await Promise.all([this.vision.release(), this.embedder.release(), releaseSession(this.decoder)]);
  }
}

function tensorType(meta: ort.InferenceSession.ValueMetadata | undefined): string | undefined {
  return meta?.isTensor ? meta.type : undefined;
}

async function releaseSession(s: ort.InferenceSession | NativeSession): Promise<void> {
  if (s instanceof NativeSession) s.release();
  else await s.release();
}

const warned = new Set<string>();
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  process.stderr.write(`warning: ${message}\n`);
}
