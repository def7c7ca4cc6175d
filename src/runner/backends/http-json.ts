/**
 * One JSON POST with its own timeout, and the failure classes callers retry on: shared by the OpenAI-compatible
 * backend (openai.ts) and the judge client (../judge.ts), so both treat 429 / 5xx / network errors / timeouts as
 * retryable and other 4xx as final in the same way.
 */

/** A failure worth another attempt (429, 5xx, network error, timeout, reply cut off). */
export class RetryableError extends Error {}

export interface PostJsonOptions {
  /** Sent as `Authorization: Bearer KEY`; never part of any message this module returns. */
  readonly apiKey?: string;
  /** Per-attempt timeout, ms. */
  readonly timeoutMs: number;
  /** Aborts the request from outside (backend closed, run stopped); its reason's message becomes the error. */
  readonly signal?: AbortSignal;
}

/**
 * POSTs `body` (a JSON string) to `url` and returns the parsed JSON reply. Throws RetryableError for 429, 5xx,
 * network errors, timeouts and cut-off bodies; a plain Error for other HTTP errors, non-JSON replies and outside
 * aborts.
 */
export async function postJson(url: string, body: string, opts: PostJsonOptions): Promise<unknown> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new RetryableError(`timed out after ${opts.timeoutMs} ms`)),
    opts.timeoutMs,
  );
  const onOuterAbort = () => controller.abort(opts.signal?.reason ?? new Error('aborted'));
  if (opts.signal?.aborted) onOuterAbort();
  else opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  /** The error an aborted request stands for: the timeout (retryable) or the outside reason (final). */
  const abortError = (): Error => {
    const reason = controller.signal.reason as unknown;
    if (reason instanceof RetryableError) return reason;
    return new Error(reason instanceof Error ? reason.message : String(reason));
  };
  try {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers, body, signal: controller.signal });
    } catch (err) {
      if (controller.signal.aborted) throw abortError();
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new RetryableError(`request failed (${cause?.code ?? cause?.message ?? (err as Error).message})`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch {
      if (controller.signal.aborted) throw abortError();
      throw new RetryableError(`HTTP ${res.status}: reply body cut off`);
    }
    if (!res.ok) {
      const detail = errorMessageOf(text);
      const msg = `HTTP ${res.status}${detail ? `: ${detail}` : ''}`;
      if (res.status === 429 || res.status >= 500) throw new RetryableError(msg);
      throw new Error(msg);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`reply is not JSON: ${text.slice(0, 200)}`);
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

export interface RetryOptions extends PostJsonOptions {
  /** Retries after the first attempt. */
  readonly retries: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

/**
 * postJson with bounded retries on RetryableError. Never throws: a final failure comes back as `error` (with the
 * number of attempts), so one bad request cannot stop a run.
 */
export async function postJsonWithRetries(
  url: string,
  body: string,
  opts: RetryOptions,
): Promise<{ json: unknown } | { error: string }> {
  let last = '';
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    if (opts.signal?.aborted) return { error: 'aborted' };
    if (attempt > 0) {
      await new Promise((r) => setTimeout(r, backoffDelayMs(attempt, opts.backoffMs, opts.maxBackoffMs)));
    }
    try {
      return { json: await postJson(url, body, opts) };
    } catch (err) {
      last = (err as Error).message;
      if (!(err instanceof RetryableError)) return { error: last };
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
