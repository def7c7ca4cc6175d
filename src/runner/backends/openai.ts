/**
 * `--backend openai`: chat completions against OpenAI-compatible servers (our `serve`, lmdeploy, vLLM).
 *
 * - Images go as base64 `data:` URLs in `image_url` parts, interleaved with the text where the question has
 *   `<image>` placeholders, else before the text (InternVL's `chat()` puts `<image>\n` first).
 * - Per-request tiling (anchors.md §1.5): lmdeploy reads `image_url.max_dynamic_patch` on each image
 *   (lmdeploy/vl/model/internvl.py); vLLM reads the top-level extra field `mm_processor_kwargs.max_dynamic_patch`
 *   (vllm/entrypoints/openai/protocol.py, InternVL processor PR #8946). `generic` sends both (our `serve` reads
 *   either); servers that know neither ignore unknown fields, which is why the manifest records the server kind.
 * - Greedy: temperature 0, `max_tokens` from the task; min tokens as each server spells it.
 * - Several endpoints (endpoint-pool.ts): least-loaded or round-robin among the healthy ones; a dead endpoint is
 *   taken out of the balance and probed again later; a `Retry-After` keeps its endpoint out until then.
 * - Retries with jittered exponential backoff on every retryable failure kind (http-json.ts: refused, reset,
 *   timeout, stalled, http-5xx, rate-limited, truncated, not-json), a bounded number of times, each attempt with
 *   its own timeout; other 4xx fail at once. A failure is a result whose `error` names the kind of each attempt's
 *   failure, never a throw, so one bad sample cannot stop a run. Per-endpoint counts: `endpointStats()`.
 */
import {
  failedResult,
  type Backend,
  type BackendInfo,
  type GenerationRequest,
  type GenerationResult,
} from '../backend.ts';
import { EndpointPool, type Balance, type Clock, type EndpointStats } from './endpoint-pool.ts';
import { jitteredBackoffMs, postJson, RequestFailure, type FailureKind } from './http-json.ts';

export type { Balance };
export type ServerKind = 'lmdeploy' | 'vllm' | 'generic';

export interface OpenAIBackendOptions {
  readonly endpoints: readonly string[];
  /** Model name sent in each request. */
  readonly model: string;
  readonly apiKey?: string;
  readonly serverKind?: ServerKind;
  readonly balance?: Balance;
  /** Per-attempt timeout, ms (default 300 000). */
  readonly timeoutMs?: number;
  /** Retries after the first attempt (default 4). */
  readonly retries?: number;
  /** First backoff, ms; doubles each retry (default 500), capped at maxBackoffMs (default 30 000). */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Requests `generate` sends at once when given a batch (the runner sends one per call). */
  readonly maxBatch?: number;
  /** Consecutive connection-level failures that take an endpoint out of the balance (default 3). */
  readonly deadAfter?: number;
  /** First time a dead endpoint stays out before it is probed again, ms (default 5 000, doubling to 60 000). */
  readonly probeAfterMs?: number;
  /** Longest `Retry-After` honoured, ms (default 120 000). */
  readonly maxRetryAfterMs?: number;
  /** Time source for backoff and endpoint health (tests: virtual time). */
  readonly clock?: Clock;
  /** Random numbers in [0, 1) for backoff jitter (default Math.random). */
  readonly random?: () => number;
}

/** `http://h:p`, `http://h:p/v1` and `.../v1/chat/completions` all mean the same server. */
export function chatCompletionsUrl(endpoint: string): string {
  const e = endpoint.replace(/\/+$/, '');
  if (e.endsWith('/chat/completions')) return e;
  if (e.endsWith('/v1')) return `${e}/chat/completions`;
  return `${e}/v1/chat/completions`;
}

/** Sniffs the image type for the data URL (servers decode by content anyway, but some check the prefix). */
export function imageMime(bytes: Uint8Array): string {
  if (bytes[0] === 0x89 && bytes[1] === 0x50) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'image/jpeg';
  if (bytes[0] === 0x47 && bytes[1] === 0x49) return 'image/gif';
  if (bytes[0] === 0x42 && bytes[1] === 0x4d) return 'image/bmp';
  if (bytes[8] === 0x57 && bytes[9] === 0x45) return 'image/webp';
  return 'application/octet-stream';
}

export type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; max_dynamic_patch?: number } };

/** The user message content for a request (see the module comment for the layout). */
export function buildContent(req: GenerationRequest, kind: ServerKind): ContentPart[] {
  const image = (i: number): ContentPart => {
    const bytes = req.images[i];
    const url = `data:${imageMime(bytes)};base64,${Buffer.from(bytes).toString('base64')}`;
    return {
      type: 'image_url',
      image_url: kind === 'vllm' ? { url } : { url, max_dynamic_patch: req.maxTiles[i] },
    };
  };
  const pieces = req.question.split('<image>');
  const parts: ContentPart[] = [];
  if (pieces.length - 1 !== req.images.length || req.images.length === 0) {
    if (pieces.length > 1 && req.images.length > 0) {
      throw new Error(
        `request ${req.id}: ${pieces.length - 1} <image> placeholders for ${req.images.length} images`,
      );
    }
    for (let i = 0; i < req.images.length; i++) parts.push(image(i));
    parts.push({ type: 'text', text: req.question });
    return parts;
  }
  // One image leading the question (`<image>\n...`, how chat() stores a question in its history): image part,
  // then the text without that newline, which servers (and our `serve`) put back with the image.
  if (pieces.length === 2 && pieces[0] === '' && pieces[1].startsWith('\n')) {
    return [image(0), { type: 'text', text: pieces[1].slice(1) }];
  }
  pieces.forEach((text, i) => {
    if (text !== '') parts.push({ type: 'text', text });
    if (i < req.images.length) parts.push(image(i));
  });
  return parts;
}

/** Counts `<image>` placeholders. */
const placeholders = (text: string): number => text.split('<image>').length - 1;

export function buildChatBody(
  req: GenerationRequest,
  model: string,
  kind: ServerKind,
): Record<string, unknown> {
  const messages: unknown[] = [];
  if (req.systemMessage !== undefined) messages.push({ role: 'system', content: req.systemMessage });
  // Earlier rounds take the first images, one per placeholder (the model card's multi-turn chat).
  let used = 0;
  for (const [q, a] of req.history ?? []) {
    const n = placeholders(q);
    const turn: GenerationRequest = {
      ...req,
      question: q,
      images: req.images.slice(used, used + n),
      maxTiles: req.maxTiles.slice(used, used + n),
    };
    used += n;
    messages.push({ role: 'user', content: buildContent(turn, kind) });
    messages.push({ role: 'assistant', content: a });
  }
  const current =
    used === 0 ? req : { ...req, images: req.images.slice(used), maxTiles: req.maxTiles.slice(used) };
  messages.push({ role: 'user', content: buildContent(current, kind) });
  const s = req.sampling;
  const body: Record<string, unknown> = {
    model,
    messages,
    temperature: s?.temperature ?? 0,
    top_p: s?.topP ?? 1,
    max_tokens: req.maxNewTokens,
    stream: false,
  };
  if (s?.topK !== undefined) body.top_k = s.topK;
  if (s?.seed !== undefined) body.seed = s.seed;
  // One cap per request for vLLM: the processor kwargs apply to every image of the request.
  const cap = req.maxTiles.length ? Math.max(...req.maxTiles) : undefined;
  if (kind !== 'lmdeploy' && cap !== undefined) body.mm_processor_kwargs = { max_dynamic_patch: cap };
  if (req.minNewTokens > 0) {
    if (kind === 'vllm') body.min_tokens = req.minNewTokens;
    if (kind === 'lmdeploy') body.min_new_tokens = req.minNewTokens;
    if (kind === 'generic') body.min_tokens = req.minNewTokens;
  }
  return body;
}

export class OpenAIBackend implements Backend {
  readonly info: BackendInfo;
  readonly maxBatch: number;
  private readonly pool: EndpointPool;
  private readonly kind: ServerKind;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly random: () => number;
  /** Aborted by close(): ends every attempt and wait in flight. */
  private readonly closing = new AbortController();

  constructor(private readonly opts: OpenAIBackendOptions) {
    if (opts.endpoints.length === 0) throw new Error('openai backend: give at least one --endpoint URL');
    for (const e of opts.endpoints) {
      if (!/^https?:\/\//.test(e)) throw new Error(`openai backend: endpoint "${e}" must be an http(s) URL`);
    }
    const balance = opts.balance ?? 'least-loaded';
    this.pool = new EndpointPool(
      opts.endpoints.map((e) => chatCompletionsUrl(e)),
      {
        balance,
        ...(opts.deadAfter !== undefined ? { deadAfter: opts.deadAfter } : {}),
        ...(opts.probeAfterMs !== undefined ? { probeAfterMs: opts.probeAfterMs } : {}),
        ...(opts.maxRetryAfterMs !== undefined ? { maxRetryAfterMs: opts.maxRetryAfterMs } : {}),
        ...(opts.clock ? { clock: opts.clock } : {}),
      },
    );
    this.kind = opts.serverKind ?? 'generic';
    this.timeoutMs = opts.timeoutMs ?? 300_000;
    this.retries = opts.retries ?? 4;
    this.backoffMs = opts.backoffMs ?? 500;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.random = opts.random ?? Math.random;
    this.maxBatch = opts.maxBatch ?? 1;
    this.info = {
      name: 'openai',
      model: opts.model,
      extra: {
        endpoints: this.pool.urls,
        serverKind: this.kind,
        balance,
        timeoutMs: this.timeoutMs,
        retries: this.retries,
      },
    };
  }

  async generate(requests: readonly GenerationRequest[]): Promise<GenerationResult[]> {
    return Promise.all(requests.map((r) => this.one(r)));
  }

  /** Per-endpoint counts so far: attempts, successes, retries, failures by kind, times marked down. */
  endpointStats(): EndpointStats[] {
    return this.pool.stats();
  }

  async close(): Promise<void> {
    this.closing.abort(new Error('backend closed'));
  }

  private async one(req: GenerationRequest): Promise<GenerationResult> {
    const t0 = performance.now();
    let body: string;
    try {
      body = JSON.stringify(buildChatBody(req, this.opts.model, this.kind));
    } catch (err) {
      return this.fail(req, (err as Error).message, t0);
    }
    const signal = req.signal ? AbortSignal.any([req.signal, this.closing.signal]) : this.closing.signal;
    const kinds: FailureKind[] = [];
    let last = '';
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (signal.aborted) return this.fail(req, `aborted: ${abortMessage(signal)}`, t0);
      if (attempt > 0) {
        const delay = jitteredBackoffMs(attempt, this.backoffMs, this.maxBackoffMs, this.random());
        await this.pool.clock.sleep(delay, signal);
      }
      const lease = await this.pool.acquire(attempt > 0, signal);
      if (!lease) return this.fail(req, `aborted: ${abortMessage(signal)}`, t0);
      try {
        const reply = await postJson(lease.url, body, {
          apiKey: this.opts.apiKey,
          timeoutMs: this.timeoutMs,
          signal,
        });
        const result = this.parseReply(req, reply, t0);
        if (result.error === undefined) lease.succeeded();
        else lease.failed('bad-reply');
        return result;
      } catch (err) {
        const failure =
          err instanceof RequestFailure ? err : new RequestFailure('reset', (err as Error).message);
        lease.failed(failure.kind, failure.retryAfterMs);
        kinds.push(failure.kind);
        last = `${failure.kind}: ${lease.url}: ${failure.message}`;
        if (!failure.retryable) return this.fail(req, last, t0);
      }
    }
    return this.fail(req, `gave up after ${kinds.length} attempts (${tally(kinds)}); last: ${last}`, t0);
  }

  private parseReply(req: GenerationRequest, reply: unknown, t0: number): GenerationResult {
    const r = reply as {
      choices?: { message?: { content?: unknown } }[];
      usage?: { prompt_tokens?: number; completion_tokens?: number };
      internvl?: { tiles?: number[]; image_tokens?: number; max_tiles?: number[] };
    };
    const content = r.choices?.[0]?.message?.content;
    if (typeof content !== 'string') {
      return this.fail(req, 'bad-reply: reply has no choices[0].message.content string', t0);
    }
    // A server that reports the tile caps it applied (our `serve`) is held to the ones asked for: a silently
    // dropped cap is the classic cause of serving-vs-local gaps (vllm#9989, ms-swift#9850).
    const applied = r.internvl?.max_tiles;
    if (Array.isArray(applied) && JSON.stringify(applied) !== JSON.stringify(req.maxTiles)) {
      return this.fail(
        req,
        `bad-reply: server applied tile caps [${applied}] instead of [${req.maxTiles}]`,
        t0,
      );
    }
    // Tiles are only known when the server says (our `serve` adds `internvl.tiles`); otherwise left empty.
    const tiles = Array.isArray(r.internvl?.tiles) ? r.internvl.tiles : [];
    return {
      id: req.id,
      text: content,
      promptTokens: r.usage?.prompt_tokens ?? 0,
      outputTokens: r.usage?.completion_tokens ?? 0,
      tiles,
      imageTokens: r.internvl?.image_tokens ?? 0,
      latencyMs: performance.now() - t0,
    };
  }

  private fail(req: GenerationRequest, error: string, t0: number): GenerationResult {
    return failedResult(req, error, performance.now() - t0);
  }
}

/** `http-5xx ×2, reset ×1`: the kinds of a request's failed attempts, in first-seen order. */
function tally(kinds: readonly FailureKind[]): string {
  const counts = new Map<FailureKind, number>();
  for (const k of kinds) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k} ×${n}`).join(', ');
}

function abortMessage(signal: AbortSignal): string {
  const r = signal.reason as unknown;
  return r instanceof Error ? r.message : String(r ?? 'aborted');
}
