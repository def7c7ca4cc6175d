/**
 * Next-token choice from one row of logits: greedy (the reference's decoding: InternVL eval scripts force
 * num_beams=1, do_sample=False — ../shared/docs/eval-protocols.md §2.3) or seeded sampling with
 * temperature → top-k → top-p applied in the order Hugging Face `generate` applies its warpers
 * (`transformers` `GenerationMixin._get_logits_processor`: TemperatureLogitsWarper, TopKLogitsWarper,
 * TopPLogitsWarper), then a draw from the softmax.
 */
import { SeededRandom } from '../../common/seeded-random.ts';

/** The project's one seeded PRNG (mulberry32), re-exported for the engine's callers. */
export { SeededRandom };

export interface SamplingSettings {
  /** 0 or absent: greedy. */
  readonly temperature?: number;
  /** Keep the k most likely tokens (0/absent: all). */
  readonly topK?: number;
  /** Keep the smallest set whose probability reaches p (1/absent: all). */
  readonly topP?: number;
  /** PRNG seed; each request owns its own stream so batched sampling equals unbatched. */
  readonly seed?: number;
}

/** Index of the largest value; the first one on ties (as torch.argmax on CPU). */
export function argmax(row: ArrayLike<number>, suppressed?: ReadonlySet<number>): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < row.length; i++) {
    if (suppressed?.has(i)) continue;
    const v = row[i];
    if (v > bestValue || best < 0) {
      best = i;
      bestValue = v;
    }
  }
  return best;
}

export function isGreedy(s: SamplingSettings | undefined): boolean {
  return !s || !s.temperature || s.temperature <= 0;
}

export function validateSampling(s: SamplingSettings): void {
  if (s.temperature !== undefined && !(s.temperature >= 0))
    throw new Error(`temperature must be >= 0, got ${s.temperature}`);
  if (s.topK !== undefined && !(Number.isInteger(s.topK) && s.topK >= 0))
    throw new Error(`topK must be an integer >= 0, got ${s.topK}`);
  if (s.topP !== undefined && !(s.topP > 0 && s.topP <= 1))
    throw new Error(`topP must be in (0, 1], got ${s.topP}`);
}

/**
 * Draws a token from `row` after temperature, top-k and top-p. `suppressed` tokens get probability 0
 * (min_new_tokens suppresses the stop tokens this way, as HF's MinNewTokensLengthLogitsProcessor sets them to -inf).
 */
export function sampleToken(
  row: ArrayLike<number>,
  settings: SamplingSettings,
  random: SeededRandom,
  suppressed?: ReadonlySet<number>,
): number {
  if (isGreedy(settings)) return argmax(row, suppressed);
  const temperature = settings.temperature as number;
  const candidates: { id: number; logit: number }[] = [];
  for (let i = 0; i < row.length; i++) {
    if (suppressed?.has(i)) continue;
    const v = row[i] / temperature;
    if (v !== -Infinity && !Number.isNaN(v)) candidates.push({ id: i, logit: v });
  }
  if (candidates.length === 0) return argmax(row, suppressed);
  // Stable sort, larger first; ties keep the lower id first.
  candidates.sort((a, b) => b.logit - a.logit || a.id - b.id);
  let kept = candidates;
  if (settings.topK && settings.topK > 0 && settings.topK < kept.length) {
    // HF TopK keeps every token whose logit is >= the k-th largest (ties at the boundary survive).
    const kth = kept[settings.topK - 1].logit;
    kept = kept.filter((c) => c.logit >= kth);
  }
  const max = kept[0].logit;
  let probs = kept.map((c) => Math.exp(c.logit - max));
  let sum = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / sum);
  if (settings.topP !== undefined && settings.topP < 1) {
    // HF TopP drops tokens whose ascending cumulative probability is <= 1 - top_p, i.e. keeps a token iff the
    // mass of the more likely tokens before it is < top_p: the shortest descending prefix reaching top_p.
    let cumulative = 0;
    let cut = probs.length;
    for (let i = 0; i < probs.length; i++) {
      cumulative += probs[i];
      if (cumulative >= settings.topP) {
        cut = i + 1;
        break;
      }
    }
    kept = kept.slice(0, cut);
    probs = probs.slice(0, cut);
    sum = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / sum);
  }
  const u = random.next();
  let acc = 0;
  for (let i = 0; i < probs.length; i++) {
    acc += probs[i];
    if (u < acc) return kept[i].id;
  }
  return kept[kept.length - 1].id;
}
