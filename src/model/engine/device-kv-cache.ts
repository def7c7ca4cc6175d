/**
 * The decoder step with the KV cache resident on the device (WebGPU). The cache is allocated once per generation
 * ([batch, kvHeads, capacity, headDim] per layer and key/value, zero-filled device tensors) and bound as both the
 * `past_key_values.*` feeds and the pre-allocated `present.*` fetches of the same run, so GroupQueryAttention
 * appends the new slots in place (model-runtime.md D.3 "shared-buffer mode"; the decoder session must not set
 * `preferredOutputLocation`, or 1.30 ignores pre-allocated fetches). Token embeddings arrive as device tensors and
 * only the last-position logits come back to the host. Nothing of the cache crosses to the host: the transfer meter
 * of every run shows it (held by test/model/engine/webgpu-residency.test.ts).
 *
 * Device memory is freed explicitly (nothing else frees it): a cache replaced by a larger one, the idle cache when a
 * generation of another shape needs a new one, consumed embeddings, and onnxruntime-node's per-run wrappers of the
 * pre-allocated outputs.
 */
import * as ort from 'onnxruntime-node';
import type { BuiltModelInfo } from './built-model.ts';
import type { DecoderStepInput, DecoderStepOutput, KvCache } from './generate.ts';
import { lastPositionLogits } from './last-logits.ts';
import type { DeviceKernels } from './device-kernels.ts';
import {
  disposeDevice,
  hostData,
  isDeviceEmbeds,
  isDeviceTensor,
  type MeteredSession,
} from './device-tensors.ts';

interface DeviceCacheBuffers {
  readonly batch: number;
  readonly capacity: number;
  readonly tensors: ort.Tensor[];
}

interface DeviceKvCache extends KvCache {
  readonly buffers: DeviceCacheBuffers;
}

/** What one decoder run hands back: last-position logits, or (ids only) each row's greedy token. */
interface RunResult {
  readonly lastLogits: Float32Array;
  readonly greedyIds?: number[];
}

export class DeviceKvDecoder {
  private idle: DeviceCacheBuffers | null = null;
  /** Caches handed out and not yet released (freed on close, e.g. after a failed generation). */
  private readonly live = new Set<DeviceCacheBuffers>();
  private readonly names: { past: [string, string]; present: [string, string] }[];
  /** Element type of the cache ('float32', or 'float16' for an fp16-compute build). */
  private readonly cacheType: string;
  /** The decoder returns `next_token` (builder version >= 5): greedy steps fetch it instead of the logits. */
  private readonly hasNextToken: boolean;

  constructor(
    private readonly info: BuiltModelInfo,
    private readonly decoder: MeteredSession,
    private readonly kernels: DeviceKernels,
  ) {
    this.names = Array.from({ length: info.llm.layers }, (_, i) => ({
      past: [`past_key_values.${i}.key`, `past_key_values.${i}.value`],
      present: [`present.${i}.key`, `present.${i}.value`],
    }));
    const s = decoder.session;
    const meta = s.inputMetadata.find((m) => m.name === 'past_key_values.0.key');
    this.cacheType = meta && meta.isTensor ? meta.type : 'float32';
    this.hasNextToken = s.outputNames.includes('next_token');
    for (const n of this.names.flatMap((x) => x.present)) {
      if (!s.outputNames.includes(n)) throw new Error(`${info.files.decoder}: decoder has no output '${n}'`);
    }
  }

  /**
   * One decoder step on the device cache. `prefillChunk` (sessions.ts DecoderPlan): a longer prompt runs row by row
   * in chunks of at most that many tokens (ORT 1.30's WebGPU GQA is wrong from 32 new tokens per run on).
   */
  async step(input: DecoderStepInput, prefillChunk?: number): Promise<DecoderStepOutput> {
    const { batch, seq } = input;
    const past = input.past as DeviceKvCache | null;
    const pastLength = past ? past.length : 0;
    const total = pastLength + seq;
    let buffers = past ? past.buffers : await this.take(batch, Math.max(total, input.capacity ?? total));
    if (total > buffers.capacity) buffers = await this.grow(buffers, total, input.capacity);
    const present: DeviceKvCache = { length: total, buffers };
    const idsOnly = input.needLogits === false && this.hasNextToken;
    if (prefillChunk && seq > prefillChunk) {
      return { ...(await this.chunked(input, buffers, pastLength, prefillChunk, idsOnly)), present };
    }
    return { ...(await this.run(input, buffers.tensors, idsOnly)), present };
  }

  /**
   * A long prefill as several runs: each row alone (batch 1: GQA takes S > 1 on a past only at batch 1) on its own
   * copy of its cache rows, in chunks of at most `chunk` tokens; the rows are then stacked back into the batch cache.
   */
  private async chunked(
    input: DecoderStepInput,
    buffers: DeviceCacheBuffers,
    pastLength: number,
    chunk: number,
    idsOnly: boolean,
  ): Promise<RunResult> {
    const { batch, seq } = input;
    const total = pastLength + seq;
    const vocab = this.info.llm.vocab;
    const k = this.kernels;
    const embeds = isDeviceEmbeds(input.embeds) ? input.embeds.tensor : null;
    const hostEmbeds = embeds ? null : (input.embeds as Float32Array);
    const hidden = this.info.llm.hidden;
    const lastLogits = new Float32Array(idsOnly ? 0 : batch * vocab);
    const greedyIds = new Array<number>(batch).fill(0);
    const rows: ort.Tensor[][] = [];
    try {
      for (let b = 0; b < batch; b++) {
        const row =
          batch === 1
            ? buffers.tensors
            : await Promise.all(buffers.tensors.map((t) => k.slice(t, [b], [b + 1], [0])));
        rows.push(row);
        for (let s0 = 0; s0 < seq; s0 += chunk) {
          const s1 = Math.min(seq, s0 + chunk);
          const part = embeds
            ? {
                kind: 'device' as const,
                tensor: await k.slice(embeds, [b, s0], [b + 1, s1], [0, 1]),
                length: 0,
              }
            : hostEmbeds!.subarray((b * seq + s0) * hidden, (b * seq + s1) * hidden);
          const last = s1 === seq;
          const r = await this.run(
            {
              batch: 1,
              seq: s1 - s0,
              embeds: part,
              attentionMask: input.attentionMask.subarray(b * total, b * total + pastLength + s1),
              positionIds: input.positionIds.subarray(b * seq + s0, b * seq + s1),
              past: null,
            },
            row,
            // Earlier chunks' outputs are dropped: fetch the 8-byte ids rather than the logits when there are ids.
            last ? idsOnly : this.hasNextToken,
          );
          if (last && r.greedyIds) greedyIds[b] = Number(r.greedyIds[0]);
          else if (last) lastLogits.set(r.lastLogits.subarray(0, vocab), b * vocab);
        }
      }
      if (batch > 1) {
        for (let i = 0; i < buffers.tensors.length; i++) {
          const joined = await k.concatRows(rows.map((r) => r[i]));
          buffers.tensors[i].dispose();
          buffers.tensors[i] = joined;
        }
      }
    } finally {
      if (batch > 1) for (const r of rows) for (const t of r) disposeDevice(t);
      if (embeds) disposeDevice(embeds);
    }
    return idsOnly ? { lastLogits, greedyIds } : { lastLogits };
  }

  /**
   * One decoder run on `cache` (bound as past and present: GQA appends in place); returns the last logits, or with
   * `idsOnly` the greedy token of each row (`next_token`, 8 bytes per row back to the host).
   */
  private async run(
    input: DecoderStepInput,
    cache: readonly ort.Tensor[],
    idsOnly = false,
  ): Promise<RunResult> {
    const { batch, seq } = input;
    const total = input.attentionMask.length / batch;
    const hidden = this.info.llm.hidden;
    const embeds = isDeviceEmbeds(input.embeds)
      ? input.embeds.tensor
      : new ort.Tensor('float32', input.embeds, [batch, seq, hidden]);
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: embeds,
      attention_mask: new ort.Tensor('int64', input.attentionMask, [batch, total]),
    };
    const fetches: Record<string, ort.Tensor | null> = idsOnly ? { next_token: null } : { logits: null };
    this.names.forEach((n, i) => {
      for (const k of [0, 1]) {
        feeds[n.past[k]] = cache[2 * i + k];
        fetches[n.present[k]] = cache[2 * i + k];
      }
    });
    let res: Record<string, ort.Tensor>;
    try {
      res = await this.decoder.run(feeds, fetches);
    } finally {
      // The step consumes device embeddings (the loop never reuses them on this path).
      if (isDeviceEmbeds(input.embeds)) disposeDevice(input.embeds.tensor);
    }
    // The returned present.* are per-run wrappers of the cache tensors (not owners): free the wrappers only.
    for (const n of this.names.flatMap((x) => x.present)) {
      const t = res[n];
      if (t && !cache.includes(t)) disposeDevice(t);
    }
    if (idsOnly) {
      const ids = res.next_token;
      if (!ids) throw new Error(`${this.info.files.decoder}: no output 'next_token'`);
      const data = hostData<BigInt64Array>(ids, `${this.info.files.decoder} output 'next_token'`);
      return { lastLogits: new Float32Array(0), greedyIds: Array.from(data, Number) };
    }
    const logits = res.logits;
    if (!logits) throw new Error(`${this.info.files.decoder}: no output 'logits'`);
    const data = hostData<Float32Array>(logits, `${this.info.files.decoder} output 'logits'`);
    return { lastLogits: lastPositionLogits(data, batch, logits.dims[1], this.info.llm.vocab) };
  }

  releaseCache(cache: KvCache): void {
    const buffers = (cache as DeviceKvCache).buffers;
    this.live.delete(buffers);
    if (this.idle && this.idle !== buffers) this.free(this.idle);
    this.idle = buffers;
  }

  private async take(batch: number, capacity: number): Promise<DeviceCacheBuffers> {
    const idle = this.idle;
    this.idle = null;
    if (idle && idle.batch === batch && idle.capacity >= capacity) {
      this.live.add(idle);
      return idle;
    }
    if (idle) this.free(idle); // replaced: free it before allocating the new one
    return this.allocate(batch, capacity);
  }

  private async allocate(batch: number, capacity: number): Promise<DeviceCacheBuffers> {
    const { kvHeads, headDim, layers } = this.info.llm;
    const tensors: ort.Tensor[] = [];
    for (let i = 0; i < 2 * layers; i++) {
      tensors.push(await this.kernels.zeros(this.cacheType, [batch, kvHeads, capacity, headDim]));
    }
    const buffers = { batch, capacity, tensors };
    this.live.add(buffers);
    return buffers;
  }

  /** A generation that outgrew its capacity hint: copy into a larger cache on the device, free the old one. */
  private async grow(old: DeviceCacheBuffers, needed: number, hint?: number): Promise<DeviceCacheBuffers> {
    const capacity = Math.max(needed, Math.min(hint ?? Infinity, 2 * old.capacity));
    const tensors: ort.Tensor[] = [];
    for (const t of old.tensors) tensors.push(await this.kernels.growCache(t, capacity));
    this.live.delete(old);
    this.free(old);
    const next = { batch: old.batch, capacity, tensors };
    this.live.add(next);
    return next;
  }

  private free(b: DeviceCacheBuffers): void {
    for (const t of b.tensors) if (isDeviceTensor(t)) t.dispose();
  }

  close(): void {
    if (this.idle) this.free(this.idle);
    this.idle = null;
    for (const b of this.live) this.free(b);
    this.live.clear();
  }
}
