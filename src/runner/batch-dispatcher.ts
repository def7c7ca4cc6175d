/**
 * Feeds a Backend: requests queue up here and go out in batches of at most `backend.maxBatch`, with at most
 * `concurrency` `generate` calls in flight. A free slot takes a full batch at once; it takes a partial batch only
 * when `expectMore()` says no further request is on its way (nothing left in preprocessing), so batches fill
 * whenever the data allows, and the model still never waits for requests that will not come.
 */
import type { Backend, GenerationRequest, GenerationResult } from './backend.ts';

interface Waiting {
  readonly request: GenerationRequest;
  resolve(result: GenerationResult): void;
}

export class BatchDispatcher {
  private readonly queue: Waiting[] = [];
  private running = 0;
  private scheduled = false;
  /** Sum over calls of each `generate` call's wall time, ms. */
  modelMs = 0;
  calls = 0;

  constructor(
    private readonly backend: Backend,
    private readonly concurrency: number,
    /** Whether more requests are about to be submitted (default: never wait for them). */
    private readonly expectMore: () => boolean = () => false,
  ) {
    if (!(concurrency >= 1)) throw new Error(`concurrency must be >= 1 (got ${concurrency})`);
  }

  /** Resolves with the request's result; a backend that throws yields a result with `error`, never a rejection. */
  submit(request: GenerationRequest): Promise<GenerationResult> {
    return new Promise((resolve) => {
      this.queue.push({ request, resolve });
      this.schedule();
    });
  }

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Re-checks the queue (call when `expectMore()` may have turned false). */
  poke(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // One macrotask of delay lets requests prepared in the same tick join the same batch.
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const maxBatch = Math.max(1, this.backend.maxBatch);
    while (this.running < this.concurrency && this.queue.length > 0) {
      if (this.queue.length < maxBatch && this.expectMore()) return;
      const batch = this.queue.splice(0, maxBatch);
      this.running++;
      void this.runBatch(batch).finally(() => {
        this.running--;
        if (this.queue.length > 0) this.pump();
      });
    }
  }

  private async runBatch(batch: Waiting[]): Promise<void> {
    const t0 = performance.now();
    let results: GenerationResult[] | undefined;
    let failure: string | undefined;
    try {
      results = await this.backend.generate(batch.map((w) => w.request));
      if (results.length !== batch.length) {
        failure = `backend returned ${results.length} results for ${batch.length} requests`;
      }
    } catch (err) {
      failure = (err as Error).message ?? String(err);
    }
    const ms = performance.now() - t0;
    this.modelMs += ms;
    this.calls++;
    batch.forEach((w, i) => {
      const r = results?.[i];
      if (failure !== undefined || r === undefined) {
        w.resolve(errorResult(w.request.id, failure ?? 'no result', ms));
      } else {
        w.resolve(r);
      }
    });
  }
}

export function errorResult(id: string, error: string, latencyMs: number): GenerationResult {
  return { id, text: '', promptTokens: 0, outputTokens: 0, tiles: [], imageTokens: 0, latencyMs, error };
}
