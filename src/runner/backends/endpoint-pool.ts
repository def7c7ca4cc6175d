/**
 * The endpoints of the `openai` backend and their health: which one takes the next attempt, which are out of the
 * balance, and what each has seen (per-endpoint stats for the run's summary and manifest).
 *
 * - Choice among usable endpoints: least-loaded (fewest attempts in flight, ties in turn) or round-robin.
 * - A server's `Retry-After` (429 or 5xx) keeps that endpoint out of the balance until then (capped at
 *   `maxRetryAfterMs`), so no attempt goes there early while others can take the work.
 * - `deadAfter` consecutive connection-level failures (refused, reset, timeout, stalled, 5xx) take an endpoint
 *   out of the balance for `probeAfterMs`, doubling each time it fails again (up to `maxProbeAfterMs`); then one
 *   attempt at a time probes it (half-open circuit breaker) and a success puts it back.
 * - When no endpoint is usable now, `acquire` waits until the first one becomes usable: the attempt is never
 *   sent to an endpoint known to be down, and the caller's bounded attempt count still ends the request.
 *
 * Time comes from a Clock so tests can run the schedule on virtual time (no assertion on wall-clock time).
 */
import type { EndpointStats } from '../backend.ts';
import type { FailureKind } from './http-json.ts';

export type { EndpointStats };

export type Balance = 'least-loaded' | 'round-robin';

export interface Clock {
  now(): number;
  /** Resolves after `ms` (or at once when `signal` aborts). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
    }),
};

export interface EndpointPoolOptions {
  readonly balance?: Balance;
  /** Consecutive connection-level failures that take an endpoint out (default 3). */
  readonly deadAfter?: number;
  /** First time out of the balance, ms (default 5 000); doubles each time, up to maxProbeAfterMs (60 000). */
  readonly probeAfterMs?: number;
  readonly maxProbeAfterMs?: number;
  /** Longest Retry-After honoured, ms (default 120 000): a server asking for an hour is asked again sooner. */
  readonly maxRetryAfterMs?: number;
  readonly clock?: Clock;
}

/** Failures that say the server (not the request) is in trouble. */
const HEALTH_FAILURES: ReadonlySet<FailureKind> = new Set([
  'refused',
  'reset',
  'timeout',
  'stalled',
  'http-5xx',
]);

class Endpoint {
  inFlight = 0;
  consecutiveFailures = 0;
  /** Out of the balance until then (0: in). */
  downUntil = 0;
  downCount = 0;
  /** A probe attempt is in flight (only one at a time for a down endpoint). */
  probing = false;
  /** Not before then, as the server's Retry-After asked. */
  notBefore = 0;
  readonly stats: EndpointStats;
  constructor(readonly url: string) {
    this.stats = { url, requests: 0, ok: 0, retries: 0, errors: {}, markedDown: 0, retryAfterMs: 0 };
  }
  /** When this endpoint may take an attempt (<= now: now). */
  usableAt(): number {
    return Math.max(this.downUntil, this.notBefore);
  }
}

/** One attempt's hold on an endpoint; report how it went exactly once. */
export interface Lease {
  readonly url: string;
  succeeded(): void;
  failed(kind: FailureKind, retryAfterMs?: number): void;
}

export class EndpointPool {
  private readonly endpoints: Endpoint[];
  private readonly balance: Balance;
  private readonly deadAfter: number;
  private readonly probeAfterMs: number;
  private readonly maxProbeAfterMs: number;
  private readonly maxRetryAfterMs: number;
  readonly clock: Clock;
  private next = 0;

  constructor(urls: readonly string[], opts: EndpointPoolOptions = {}) {
    if (urls.length === 0) throw new Error('endpoint pool: no endpoints');
    this.endpoints = urls.map((u) => new Endpoint(u));
    this.balance = opts.balance ?? 'least-loaded';
    this.deadAfter = opts.deadAfter ?? 3;
    this.probeAfterMs = opts.probeAfterMs ?? 5_000;
    this.maxProbeAfterMs = opts.maxProbeAfterMs ?? 60_000;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 120_000;
    this.clock = opts.clock ?? realClock;
  }

  get urls(): string[] {
    return this.endpoints.map((e) => e.url);
  }

  /** A copy of every endpoint's stats, in the order given. */
  stats(): EndpointStats[] {
    return this.endpoints.map((e) => ({ ...e.stats, errors: { ...e.stats.errors } }));
  }

  /** Endpoints out of the balance right now (dead, not yet re-probed). */
  down(): string[] {
    const now = this.clock.now();
    return this.endpoints.filter((e) => e.downUntil > now || e.probing).map((e) => e.url);
  }

  /**
   * Waits for a usable endpoint and holds it for one attempt; undefined when `signal` aborts first.
   * `retry`: this attempt repeats a request that failed before (counted in the endpoint's `retries`).
   */
  async acquire(retry: boolean, signal?: AbortSignal): Promise<Lease | undefined> {
    for (;;) {
      if (signal?.aborted) return undefined;
      const now = this.clock.now();
      const e = this.pick(now);
      if (e) return this.lease(e, retry);
      const soonest = Math.min(...this.endpoints.map((x) => (x.probing ? Infinity : x.usableAt())));
      // Every endpoint is probing: wait a little for a probe to end.
      const wait = Number.isFinite(soonest) ? Math.max(1, soonest - now) : 50;
      await this.clock.sleep(wait, signal);
    }
  }

  private pick(now: number): Endpoint | undefined {
    const n = this.endpoints.length;
    const usable = (e: Endpoint) => e.usableAt() <= now && !e.probing;
    const start = this.next;
    this.next = (this.next + 1) % n;
    let best: Endpoint | undefined;
    for (let k = 0; k < n; k++) {
      const e = this.endpoints[(start + k) % n];
      if (!usable(e)) continue;
      if (this.balance === 'round-robin') return e;
      if (best === undefined || e.inFlight < best.inFlight) best = e;
    }
    return best;
  }

  private lease(e: Endpoint, retry: boolean): Lease {
    // A down endpoint whose time out is over takes one probe attempt at a time.
    if (e.downUntil > 0) e.probing = true;
    e.inFlight++;
    e.stats.requests++;
    if (retry) e.stats.retries++;
    let settled = false;
    const settle = () => {
      if (settled) throw new Error(`endpoint lease on ${e.url} settled twice`);
      settled = true;
      e.inFlight--;
      e.probing = false;
    };
    return {
      url: e.url,
      succeeded: () => {
        settle();
        e.stats.ok++;
        e.consecutiveFailures = 0;
        e.downUntil = 0;
        e.downCount = 0;
      },
      failed: (kind, retryAfterMs) => {
        settle();
        e.stats.errors[kind] = (e.stats.errors[kind] ?? 0) + 1;
        const now = this.clock.now();
        if (retryAfterMs !== undefined && retryAfterMs > 0) {
          const wait = Math.min(retryAfterMs, this.maxRetryAfterMs);
          e.notBefore = Math.max(e.notBefore, now + wait);
          e.stats.retryAfterMs += wait;
        }
        if (!HEALTH_FAILURES.has(kind)) return;
        e.consecutiveFailures++;
        const wasDown = e.downUntil > 0;
        if (wasDown || e.consecutiveFailures >= this.deadAfter) {
          // Out of the balance (again): a failed probe doubles the time out.
          const outFor = Math.min(this.maxProbeAfterMs, this.probeAfterMs * 2 ** e.downCount);
          e.downCount++;
          e.downUntil = now + outFor;
          e.stats.markedDown++;
        }
      },
    };
  }
}
