/**
 * `--backend echo`: an offline smoke/test backend with no model. It answers each request with its question text
 * (the `<image>` placeholders removed), after an optional delay, and reports one tile (256 image tokens) per
 * image. Useful to check a task config, the data and the run folder end to end in seconds, and used by the
 * runner's kill/resume test as a slow model. Its scores mean nothing and the manifest says `backend: echo`.
 */
import type { Backend, BackendInfo, GenerationRequest, GenerationResult } from '../backend.ts';

export interface EchoBackendOptions {
  /** Delay per `generate` call, ms (default: $INTERNVL_EVAL_ECHO_DELAY_MS or 0). */
  readonly delayMs?: number;
  readonly maxBatch?: number;
  readonly model?: string;
}

export const ECHO_TOKENS_PER_TILE = 256;

export function echoAnswer(question: string): string {
  return question.replace(/<image>\n?/g, '').trim();
}

/** Crude token count for the echo backend's usage figures: whitespace-separated words. */
function words(text: string): number {
  const t = text.trim();
  return t === '' ? 0 : t.split(/\s+/).length;
}

export class EchoBackend implements Backend {
  readonly info: BackendInfo;
  readonly maxBatch: number;
  private readonly delayMs: number;

  constructor(opts: EchoBackendOptions = {}) {
    const envDelay = Number(process.env.INTERNVL_EVAL_ECHO_DELAY_MS ?? 0);
    this.delayMs = opts.delayMs ?? (Number.isFinite(envDelay) ? envDelay : 0);
    this.maxBatch = opts.maxBatch ?? 1;
    this.info = { name: 'echo', model: opts.model ?? 'echo', extra: { delayMs: this.delayMs } };
  }

  async generate(requests: readonly GenerationRequest[]): Promise<GenerationResult[]> {
    const t0 = performance.now();
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const latencyMs = performance.now() - t0;
    return requests.map((req) => {
      const text = echoAnswer(req.question);
      const tiles = req.images.map(() => 1);
      return {
        id: req.id,
        text,
        promptTokens: words(req.question) + tiles.length * ECHO_TOKENS_PER_TILE,
        outputTokens: words(text),
        tiles,
        imageTokens: tiles.length * ECHO_TOKENS_PER_TILE,
        latencyMs,
      };
    });
  }

  async close(): Promise<void> {}
}
