/**
 * One JSON POST with its own timeout, and the named failure kinds callers act on: shared by the OpenAI-compatible
 * backend (openai.ts, through endpoint-pool.ts) and the judge client (../judge.ts), so both treat 429 / 5xx /
 * network errors / timeouts / cut-off or non-JSON bodies as retryable and other 4xx as final in the same way.
 *
 * Every failure is a RequestFailure with a `kind` that says what went wrong at the HTTP level, so a run's error
 * records and its per-endpoint counts name the fault (a stalled server is not a refused connection).
 */

/** What went wrong with one attempt. */
export type FailureKind =
  /** Connection refused or host unreachable: nothing listens there (server down or restarting). */
  | 'refused'
  /** The connection was reset or closed before the whole reply arrived. */
  | 'reset'
  /** No reply headers within the attempt's timeout. */
  | 'timeout'
  /** Headers came, then the body stopped coming until the attempt's timeout. */
  | 'stalled'
  /** HTTP 5xx. */
  | 'http-5xx'
  /** HTTP 429. */
  | 'rate-limited'
  /** Other HTTP 4xx: the request itself is wrong; retrying cannot help. */
  | 'http-4xx'
  /** A complete 2xx body that looks like cut-off JSON. */
  | 'truncated'
  /** A complete 2xx body that is not JSON at all (a proxy's HTML page...). */
  | 'not-json'
  /** Valid JSON without the fields a chat completion must have. */
  | 'bad-reply'
  /** Stopped from outside (backend closed, run stopped). */
  | 'aborted';

export const FAILURE_KINDS: readonly FailureKind[] = [
  'refused',
  'reset',
  'timeout',
  'stalled',
  'http-5xx',
  'rate-limited',
  'http-4xx',
  'truncated',
  'not-json',
  'bad-reply',
  'aborted',
];

/** Kinds another attempt may cure; a 4xx other than 429, a malformed reply or an abort will not change. */
const NOT_RETRYABLE: ReadonlySet<FailureKind> = new Set(['http-4xx', 'bad-reply', 'aborted']);
const RETRYABLE: ReadonlySet<FailureKind> = new Set(FAILURE_KINDS.filter((k) => !NOT_RETRYABLE.has(k)));

/** One failed attempt: its kind, whether another attempt may help, and the server's Retry-After (ms), if any. */
export class RequestFailure extends Error {
  readonly retryable: boolean;
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.retryable = RETRYABLE.has(kind);
  }
}

export interface PostJsonOptions {
  /** Sent as `Authorization: Bearer KEY`; never part of any message this module returns. */
  readonly apiKey?: string;
  /** Per-attempt timeout, ms. */
  readonly timeoutMs: number;
  /** Aborts the request from outside (backend closed, run stopped); its reason's message becomes the error. */
  readonly signal?: AbortSignal;
}

/**
 * `Retry-After` as a delay in ms: delta-seconds or an HTTP-date (RFC 9110 §10.2.3), relative to `nowMs` (wall
 * clock). Undefined when absent or unreadable; a date in the past is 0.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

const networkCode = (err: unknown): string | undefined => {
  const cause = (err as { cause?: { code?: string; cause?: { code?: string } } }).cause;
  return cause?.code ?? cause?.cause?.code ?? (err as { code?: string }).code;
};

/** Connect-time error codes: the server was never reached (as opposed to a connection cut mid-way). */
const UNREACHABLE: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Sentinel abort reason for the attempt's own timeout. */
class AttemptTimeout extends Error {}

/**
 * POSTs `body` (a JSON string) to `url` and returns the parsed JSON reply. Throws a RequestFailure naming the
 * failure kind (see FailureKind); `retryable` says whether another attempt may help.
 */
export async function postJson(url: string, body: string, opts: PostJsonOptions): Promise<unknown> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new AttemptTimeout(`timed out after ${opts.timeoutMs} ms`)),
    opts.timeoutMs,
  );
  const onOuterAbort = () => controller.abort(opts.signal?.reason ?? new Error('aborted'));
  if (opts.signal?.aborted) onOuterAbort();
  else opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  /** The failure an aborted request stands for, in the phase it was in. */
  const abortFailure = (phase: 'headers' | 'body'): RequestFailure => {
    const reason = controller.signal.reason as unknown;
    if (reason instanceof AttemptTimeout) {
      return new RequestFailure(
        phase === 'headers' ? 'timeout' : 'stalled',
        phase === 'headers' ? reason.message : `reply body ${reason.message}`,
      );
    }
    return new RequestFailure('aborted', reason instanceof Error ? reason.message : String(reason));
  };
  try {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers, body, signal: controller.signal });
    } catch (err) {
      if (controller.signal.aborted) throw abortFailure('headers');
      const code = networkCode(err);
      const kind = code !== undefined && UNREACHABLE.has(code) ? 'refused' : 'reset';
      const cause = (err as { cause?: { message?: string } }).cause;
      throw new RequestFailure(kind, `request failed (${code ?? cause?.message ?? (err as Error).message})`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      if (controller.signal.aborted) throw abortFailure('body');
      throw new RequestFailure(
        'reset',
        `HTTP ${res.status}: reply body cut off (${networkCode(err) ?? (err as Error).message})`,
      );
    }
    if (!res.ok) {
      const detail = errorMessageOf(text);
      const msg = `HTTP ${res.status}${detail ? `: ${detail}` : ''}`;
      const retryAfter = parseRetryAfter(res.headers.get('retry-after'), Date.now());
      if (res.status === 429) throw new RequestFailure('rate-limited', msg, retryAfter);
      if (res.status >= 500) throw new RequestFailure('http-5xx', msg, retryAfter);
      throw new RequestFailure('http-4xx', msg);
    }
    try {
      return JSON.parse(text);
    } catch {
      const t = text.trimStart();
      const kind = t.startsWith('{') || t.startsWith('[') ? 'truncated' : 'not-json';
      throw new RequestFailure(
        kind,
        `reply is not ${kind === 'truncated' ? 'complete ' : ''}JSON (${text.length} bytes): ${text.slice(0, 120)}`,
      );
    }
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** Exponential backoff before retry `attempt` (1-based): base·2^(attempt-1), capped. */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** (attempt - 1));
}

/**
 * backoffDelayMs with "equal jitter" (half fixed, half random), so many clients retrying after the same fault do
 * not hit the server again in the same instant; never above `maxMs`. `random` in [0, 1).
 */
export function jitteredBackoffMs(attempt: number, baseMs: number, maxMs: number, random: number): number {
  const d = backoffDelayMs(attempt, baseMs, maxMs);
  return Math.min(maxMs, d / 2 + (d / 2) * random);
}

export interface RetryOptions extends PostJsonOptions {
  /** Retries after the first attempt. */
  readonly retries: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

/**
 * postJson with bounded retries on retryable failures (waiting at least the server's Retry-After, up to
 * `maxBackoffMs`). Never throws: a final failure comes back as `error` (with the number of attempts), so one bad
 * request cannot stop a run.
 */
export async function postJsonWithRetries(
  url: string,
  body: string,
  opts: RetryOptions,
): Promise<{ json: unknown } | { error: string }> {
  let last = '';
  let retryAfter: number | undefined;
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    if (opts.signal?.aborted) return { error: 'aborted' };
    if (attempt > 0) {
      const backoff = jitteredBackoffMs(attempt, opts.backoffMs, opts.maxBackoffMs, Math.random());
      const delay = Math.min(opts.maxBackoffMs, Math.max(backoff, retryAfter ?? 0));
      await new Promise((r) => setTimeout(r, delay));
    }
    try {
      return { json: await postJson(url, body, opts) };
    } catch (err) {
      last = (err as Error).message;
      if (!(err instanceof RequestFailure) || !err.retryable) return { error: last };
      retryAfter = err.retryAfterMs;
    }
  }
  return { error: `gave up after ${opts.retries + 1} attempts; last: ${last}` };
}

/** The message of an OpenAI-style error body (`{"error": {"message": ...}}`), else its first 200 characters. */
export function errorMessageOf(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    if (typeof j.error === 'string') return j.error;
    return j.error?.message ?? j.message ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}
