/**
 * A loopback load client for `serve`: N concurrent streaming clients send a fixed list of chat requests (each
 * request once), and every reply is read with the spec-following SSE parser. Reports requests/s, latency and
 * time-to-first-token percentiles, and each reply's text and finish reason so callers can check them. Used by the
 * bounded load test and by `npm run bench -- serve`.
 */
import { chatChunks } from './sse-parser.ts';

export interface LoadReply {
  readonly text: string;
  readonly finishReason: string | null;
  /** [DONE] came, no error event. */
  readonly complete: boolean;
  readonly latencyMs: number;
  /** Until the first chunk carrying content. */
  readonly ttftMs: number;
}

export interface LoadResult {
  readonly replies: LoadReply[];
  readonly wallMs: number;
  readonly requestsPerSecond: number;
  readonly latencyMs: { p50: number; p95: number };
  readonly ttftMs: { p50: number; p95: number };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

async function one(url: string, body: object): Promise<LoadReply> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
  });
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let text = '';
  let ttft = NaN;
  const decoder = new TextDecoder();
  for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
    const piece = decoder.decode(bytes, { stream: true });
    // First content: any data line past the opening role chunk.
    if (Number.isNaN(ttft) && /"content":"[^"]/.test(piece)) ttft = performance.now() - t0;
    text += piece;
  }
  const latencyMs = performance.now() - t0;
  let parsed: ReturnType<typeof chatChunks>;
  try {
    parsed = chatChunks(text);
  } catch {
    return { text: '', finishReason: null, complete: false, latencyMs, ttftMs: ttft };
  }
  const content = parsed.chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  const finish =
    parsed.chunks.map((c) => c.choices[0]?.finish_reason ?? null).find((f) => f !== null) ?? null;
  return {
    text: content,
    finishReason: finish,
    complete: parsed.error === undefined && finish !== null,
    latencyMs,
    ttftMs: Number.isNaN(ttft) ? latencyMs : ttft,
  };
}

/** Sends `bodies` (each once) over `clients` concurrent connections; replies in `bodies` order. */
export async function runLoad(url: string, bodies: readonly object[], clients: number): Promise<LoadResult> {
  const replies: LoadReply[] = new Array(bodies.length);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.max(1, clients) }, async () => {
      while (next < bodies.length) {
        const i = next++;
        replies[i] = await one(url, bodies[i]);
      }
    }),
  );
  const wallMs = performance.now() - t0;
  const lat = replies.map((r) => r.latencyMs);
  const ttft = replies.map((r) => r.ttftMs);
  return {
    replies,
    wallMs,
    requestsPerSecond: (bodies.length * 1000) / wallMs,
    latencyMs: { p50: percentile(lat, 50), p95: percentile(lat, 95) },
    ttftMs: { p50: percentile(ttft, 50), p95: percentile(ttft, 95) },
  };
}

/** One printable line of a load result. */
export function describeLoad(label: string, r: LoadResult): string {
  const f = (n: number) => n.toFixed(0);
  return (
    `${label}: ${r.requestsPerSecond.toFixed(2)} req/s, latency p50 ${f(r.latencyMs.p50)} ms / p95 ${f(r.latencyMs.p95)} ms, ` +
    `TTFT p50 ${f(r.ttftMs.p50)} ms / p95 ${f(r.ttftMs.p95)} ms`
  );
}
