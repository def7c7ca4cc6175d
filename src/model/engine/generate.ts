/**
 * The generation loop: one shared prefill for a left-padded batch, then one decode step per new token for every
 * row still running, the KV cache carried from step to step (present → past). Rows finish independently: a
 * finished row keeps feeding `padTokenId` (as HF `generate` feeds pad tokens to finished sequences) but its
 * output stops. Each row has its own limits, stop tokens and PRNG so that batched results equal unbatched ones.
 */
import type { Embeds } from './device-tensors.ts';
import { extendMask } from './padding.ts';
import { SeededRandom, argmax, sampleToken, validateSampling, type SamplingSettings } from './sampling.ts';

/** Opaque per-step KV cache owned by the decoder implementation. */
export interface KvCache {
  /** Past length P (columns of the attention mask already cached). */
  readonly length: number;
}

export interface DecoderStepInput {
  readonly batch: number;
  readonly seq: number;
  /** [batch, seq, hidden], on the host or (device-resident decoder) on the device, consumed by the step. */
  readonly embeds: Embeds;
  /** [batch, past + seq] */
  readonly attentionMask: BigInt64Array;
  /** [batch, seq] */
  readonly positionIds: BigInt64Array;
  /** null: no past (P = 0). */
  readonly past: KvCache | null;
  /**
   * Most cache slots this generation can need (padded prompt + the largest maxNewTokens): lets a decoder with a
   * static cache allocate it once per call instead of growing it every step.
   */
  readonly capacity?: number;
  /**
   * false: the loop needs only each row's greedy token (no sampling, no suppressed stop tokens, no kept prompt
   * logits), so a decoder may return `greedyIds` instead of the logits (device residency: 8 bytes per row back
   * to the host instead of vocab × 4). Absent or true: logits are needed.
   */
  readonly needLogits?: boolean;
}

export interface DecoderStepOutput {
  /** [batch, vocab] logits at the last position of the step (may be empty when `greedyIds` is given). */
  readonly lastLogits: Float32Array;
  /** [batch] argmax of each row's logits (first index of the maximum, as `argmax`), when needLogits was false. */
  readonly greedyIds?: ArrayLike<number>;
  readonly present: KvCache;
}

/** What the loop needs from a model: token embedding and one decoder step. */
export interface CausalDecoder {
  readonly hidden: number;
  readonly vocab: number;
  /** ids [batch, seq] → embeddings [batch, seq, hidden]. */
  embed(ids: BigInt64Array, batch: number, seq: number): Promise<Embeds>;
  step(input: DecoderStepInput): Promise<DecoderStepOutput>;
  /** The generation that owns `cache` has finished (a static cache goes back to the decoder for reuse). */
  releaseCache?(cache: KvCache): void;
}

export interface RowSettings {
  readonly maxNewTokens: number;
  /** Stop tokens are suppressed until this many tokens were generated (HF MinNewTokensLengthLogitsProcessor). */
  readonly minNewTokens?: number;
  readonly stopTokenIds: readonly number[];
  readonly sampling?: SamplingSettings;
  /** Ends this row early, before its next token (finish reason 'cancelled'); the other rows go on. */
  readonly signal?: AbortSignal;
}

export interface PrefillBatch {
  readonly batch: number;
  readonly seq: number;
  /** [batch, seq, hidden], image embeddings already placed (host, or device for a device-resident decoder). */
  readonly embeds: Embeds;
  readonly attentionMask: BigInt64Array;
  readonly positionIds: BigInt64Array;
}

export interface GenerateOptions {
  /** Token fed to finished rows. */
  readonly padTokenId: number;
  /** false: recompute the whole sequence every step without a cache (the reference check for the KV cache). */
  readonly useCache?: boolean;
  /** Keep each row's logits at the last prompt position (for --dump-logits). */
  readonly keepPromptLogits?: boolean;
  /** Called for each generated (non-stop) token of a row, in order. */
  readonly onToken?: (row: number, tokenId: number) => void;
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

export interface RowOutput {
  /** Generated ids, stop token excluded. */
  readonly outputIds: number[];
  readonly finishReason: FinishReason;
  /** The stop token that ended the row, if any. */
  readonly stopTokenId?: number;
  readonly promptLogits?: Float32Array;
}

export interface GenerateTimings {
  readonly prefillMs: number;
  readonly decodeMs: number;
  readonly decodeSteps: number;
}

export interface GenerateOutput {
  readonly rows: RowOutput[];
  readonly timings: GenerateTimings;
}

function validateRow(s: RowSettings, row: number): void {
  if (!Number.isInteger(s.maxNewTokens) || s.maxNewTokens < 0) {
    throw new Error(`row ${row}: maxNewTokens must be an integer >= 0, got ${s.maxNewTokens}`);
  }
  const min = s.minNewTokens ?? 0;
  if (!Number.isInteger(min) || min < 0)
    throw new Error(`row ${row}: minNewTokens must be an integer >= 0, got ${min}`);
  if (s.sampling) validateSampling(s.sampling);
}

export async function generate(
  decoder: CausalDecoder,
  prefill: PrefillBatch,
  settings: readonly RowSettings[],
  options: GenerateOptions,
): Promise<GenerateOutput> {
  const { batch, seq } = prefill;
  const { hidden, vocab } = decoder;
  if (settings.length !== batch)
    throw new Error(`generate: ${settings.length} row settings for a batch of ${batch}`);
  if (prefill.embeds.length !== batch * seq * hidden) {
    throw new Error(
      `generate: embeds have ${prefill.embeds.length} values, expected ${batch}×${seq}×${hidden}`,
    );
  }
  settings.forEach(validateRow);
  const useCache = options.useCache ?? true;
  if (!useCache && !(prefill.embeds instanceof Float32Array)) {
    throw new Error(
      'generate: the recompute path (useCache false) needs host embeddings, not device tensors',
    );
  }

  const outputs: number[][] = settings.map(() => []);
  const done: boolean[] = settings.map((s) => s.maxNewTokens === 0);
  const reasons: FinishReason[] = settings.map(() => 'length');
  const stopIds: (number | undefined)[] = settings.map(() => undefined);
  const stopSets = settings.map((s) => new Set(s.stopTokenIds));
  const randoms = settings.map((s) => new SeededRandom(s.sampling?.seed ?? 0));
  const promptLogits: (Float32Array | undefined)[] = settings.map(() => undefined);

  // Current step inputs.
  let mask = prefill.attentionMask;
  let width = seq;
  let stepEmbeds = prefill.embeds;
  let stepSeq = seq;
  let stepPositions = prefill.positionIds;
  // Next position per row = number of real tokens so far (cumsum of mask).
  const nextPosition: number[] = [];
  for (let b = 0; b < batch; b++) {
    let n = 0;
    for (let s = 0; s < seq; s++) n += Number(mask[b * seq + s]);
    nextPosition.push(n);
  }
  // For the no-cache path: the whole sequence so far.
  let allEmbeds = prefill.embeds;
  let allPositions = prefill.positionIds;

  let past: KvCache | null = null;
  const capacity = seq + Math.max(0, ...settings.map((s) => s.maxNewTokens));
  let prefillMs = 0;
  let decodeMs = 0;
  let decodeSteps = 0;
  let step = 0;

  // The prefill always runs when prompt logits are wanted, even with nothing to generate.
  while (!done.every(Boolean) || (step === 0 && options.keepPromptLogits)) {
    // Cancelled rows stop before the next step; when none is left, the step is not run at all.
    settings.forEach((s, b) => {
      if (!done[b] && s.signal?.aborted) {
        done[b] = true;
        reasons[b] = 'cancelled';
      }
    });
    if (done.every(Boolean) && !(step === 0 && options.keepPromptLogits)) break;
    // Recompute path: each step starts from an empty cache, so the previous one can be reused at once.
    if (past && !useCache) decoder.releaseCache?.(past);
    // Logits are needed for sampling, for suppressed stop tokens and for kept prompt logits; otherwise the greedy
    // token of each running row is enough.
    const needLogits =
      (step === 0 && Boolean(options.keepPromptLogits)) ||
      settings.some(
        (s, b) =>
          !done[b] &&
          (Boolean(s.sampling) || (outputs[b].length < (s.minNewTokens ?? 0) && stopSets[b].size > 0)),
      );
    const t0 = performance.now();
    const out: DecoderStepOutput = useCache
      ? await decoder.step({
          batch,
          seq: stepSeq,
          embeds: stepEmbeds,
          attentionMask: mask,
          positionIds: stepPositions,
          past,
          capacity,
          needLogits,
        })
      : await decoder.step({
          batch,
          seq: width,
          embeds: allEmbeds,
          attentionMask: mask,
          positionIds: allPositions,
          past: null,
          capacity,
        });
    const ms = performance.now() - t0;
    if (step === 0) prefillMs = ms;
    else {
      decodeMs += ms;
      decodeSteps++;
    }
    past = out.present;

    const next = new BigInt64Array(batch);
    const greedy = needLogits ? undefined : out.greedyIds;
    for (let b = 0; b < batch; b++) {
      const row = greedy ? out.lastLogits : out.lastLogits.subarray(b * vocab, (b + 1) * vocab);
      if (step === 0 && options.keepPromptLogits) promptLogits[b] = row.slice();
      if (done[b]) {
        next[b] = BigInt(options.padTokenId);
        continue;
      }
      const s = settings[b];
      const produced = outputs[b].length;
      const suppressed = produced < (s.minNewTokens ?? 0) ? stopSets[b] : undefined;
      const token = greedy
        ? Number(greedy[b])
        : s.sampling
          ? sampleToken(row, s.sampling, randoms[b], suppressed)
          : argmax(row, suppressed);
      if (stopSets[b].has(token)) {
        done[b] = true;
        reasons[b] = 'stop';
        stopIds[b] = token;
        next[b] = BigInt(options.padTokenId);
        continue;
      }
      outputs[b].push(token);
      options.onToken?.(b, token);
      if (outputs[b].length >= s.maxNewTokens) done[b] = true;
      next[b] = BigInt(token);
    }
    step++;
    if (done.every(Boolean)) break;

    // Next step: one new token per row.
    const newEmbeds = await decoder.embed(next, batch, 1);
    const positions = new BigInt64Array(batch);
    for (let b = 0; b < batch; b++) positions[b] = BigInt(nextPosition[b]++);
    mask = extendMask(mask, batch, width, 1);
    if (!useCache) {
      allEmbeds = appendColumn(allEmbeds as Float32Array, newEmbeds as Float32Array, batch, width, hidden);
      allPositions = appendColumn(allPositions, positions, batch, width, 1);
    }
    width += 1;
    stepEmbeds = newEmbeds;
    stepSeq = 1;
    stepPositions = positions;
  }
  // Not on an error: a failed generation's cache is simply dropped, never reused half-written.
  if (past) decoder.releaseCache?.(past);

  return {
    rows: outputs.map((ids, b) => ({
      outputIds: ids,
      finishReason: reasons[b],
      ...(stopIds[b] !== undefined ? { stopTokenId: stopIds[b] } : {}),
      ...(promptLogits[b] ? { promptLogits: promptLogits[b] } : {}),
    })),
    timings: { prefillMs, decodeMs, decodeSteps },
  };
}

/** [batch, width, inner] + [batch, 1, inner] → [batch, width + 1, inner]. */
function appendColumn<T extends Float32Array | BigInt64Array>(
  all: T,
  column: T,
  batch: number,
  width: number,
  inner: number,
): T {
  const ctor = all.constructor as new (n: number) => T;
  const out = new ctor(batch * (width + 1) * inner);
  for (let b = 0; b < batch; b++) {
    out.set(all.subarray(b * width * inner, (b + 1) * width * inner) as never, b * (width + 1) * inner);
    out.set(column.subarray(b * inner, (b + 1) * inner) as never, (b * (width + 1) + width) * inner);
  }
  return out;
}
