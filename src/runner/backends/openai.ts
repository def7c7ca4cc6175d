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
 * - Several endpoints: least-loaded (fewest requests in flight, ties in turn) or round-robin.
 * - Retries with exponential backoff on 429, 5xx, network errors and timeouts, a bounded number of times;
 *   each attempt has its own timeout (AbortController). Other 4xx fail at once. A failure is a result with
 *   `error`, never a throw, so one bad sample cannot stop a run.
 */
import {
  failedResult,
  type Backend,
  type BackendInfo,
  type GenerationRequest,
  type GenerationResult,
} from '../backend.ts';
import { backoffDelayMs, postJson, RetryableError } from './http-json.ts';

export type ServerKind = 'lmdeploy' | 'vllm' | 'generic';
export type Balance = 'least-loaded' | 'round-robin';

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
}

interface Endpoint {
  readonly base: string;
  inFlight: number;
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
  pieces.forEach((text, i) => {
    if (text !== '') parts.push({ type: 'text', text });
    if (i < req.images.length) parts.push(image(i));
  });
  return parts;
}

export function buildChatBody(
  req: GenerationRequest,
  model: string,
  kind: ServerKind,
): Record<string, unknown> {
  const messages: unknown[] = [];
  if (req.systemMessage !== undefined) messages.push({ role: 'system', content: req.systemMessage });
  messages.push({ role: 'user', content: buildContent(req, kind) });
  const body: Record<string, unknown> = {
    model,
    messages,
    temperature: 0,
    top_p: 1,
    max_tokens: req.maxNewTokens,
    stream: false,
  };
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
  private readonly endpoints: Endpoint[];
  private readonly kind: ServerKind;
  private readonly balance: Balance;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private next = 0;
  private closed = false;
  private readonly controllers = new Set<AbortController>();

  constructor(private readonly opts: OpenAIBackendOptions) {
    if (opts.endpoints.length === 0) throw new Error('openai backend: give at least one --endpoint URL');
    for (const e of opts.endpoints) {
      if (!/^https?:\/\//.test(e)) throw new Error(`openai backend: endpoint "${e}" must be an http(s) URL`);
    }
    this.endpoints = opts.endpoints.map((base) => ({ base: chatCompletionsUrl(base), inFlight: 0 }));
    this.kind = opts.serverKind ?? 'generic';
    this.balance = opts.balance ?? 'least-loaded';
    this.timeoutMs = opts.timeoutMs ?? 300_000;
    this.retries = opts.retries ?? 4;
    this.backoffMs = opts.backoffMs ?? 500;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.maxBatch = opts.maxBatch ?? 1;
    this.info = {
      name: 'openai',
      model: opts.model,
      extra: {
        endpoints: this.endpoints.map((e) => e.base),
        serverKind: this.kind,
        balance: this.balance,
        timeoutMs: this.timeoutMs,
        retries: this.retries,
      },
    };
  }

  async generate(requests: readonly GenerationRequest[]): Promise<GenerationResult[]> {
    return Promise.all(requests.map((r) => this.one(r)));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.controllers) c.abort(new Error('backend closed'));
  }

  private pick(): Endpoint {
    const n = this.endpoints.length;
    const start = this.next;
    this.next = (this.next + 1) % n;
    if (this.balance === 'round-robin') return this.endpoints[start];
    let best = this.endpoints[start];
    for (let k = 1; k < n; k++) {
      const e = this.endpoints[(start + k) % n];
      if (e.inFlight < best.inFlight) best = e;
    }
    return best;
  }

  private async one(req: GenerationRequest): Promise<GenerationResult> {
    const t0 = performance.now();
    let body: string;
    try {
      body = JSON.stringify(buildChatBody(req, this.opts.model, this.kind));
    } catch (err) {
      return this.fail(req, (err as Error).message, t0);
    }
    const attempts: string[] = [];
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (this.closed) return this.fail(req, 'backend closed', t0);
      if (attempt > 0) {
        const delay = backoffDelayMs(attempt, this.backoffMs, this.maxBackoffMs);
        await new Promise((r) => setTimeout(r, delay));
      }
      const endpoint = this.pick();
      endpoint.inFlight++;
      try {
        const reply = await this.post(endpoint.base, body);
        return this.parseReply(req, reply, t0);
      } catch (err) {
        const msg = `${endpoint.base}: ${(err as Error).message}`;
        attempts.push(msg);
        if (!(err instanceof RetryableError)) return this.fail(req, msg, t0);
      } finally {
        endpoint.inFlight--;
      }
    }
    return this.fail(req, `gave up after ${attempts.length} attempts; last: ${attempts.at(-1)}`, t0);
  }

  private async post(url: string, body: string): Promise<unknown> {
    const controller = new AbortController();
    this.controllers.add(controller);
    try {
      return await postJson(url, body, {
        apiKey: this.opts.apiKey,
        timeoutMs: this.timeoutMs,
        signal: controller.signal,
      });
    } finally {
      this.controllers.delete(controller);
    }
  }

  private parseReply(req: GenerationRequest, reply: unknown, t0: number): GenerationResult {
    const r = reply as {
      choices?: { message?: { content?: unknown } }[];
      usage?: { prompt_tokens?: number; completion_tokens?: number };
      internvl?: { tiles?: number[]; image_tokens?: number; max_tiles?: number[] };
    };
    const content = r.choices?.[0]?.message?.content;
    if (typeof content !== 'string') {
      return this.fail(req, 'reply has no choices[0].message.content string', t0);
    }
    // A server that reports the tile caps it applied (our `serve`) is held to the ones asked for: a silently
    // dropped cap is the classic cause of serving-vs-local gaps (vllm#9989, ms-swift#9850).
    const applied = r.internvl?.max_tiles;
    if (Array.isArray(applied) && JSON.stringify(applied) !== JSON.stringify(req.maxTiles)) {
      return this.fail(req, `server applied tile caps [${applied}] instead of [${req.maxTiles}]`, t0);
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
