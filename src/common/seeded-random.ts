/**
 * The one seeded PRNG of the project (mulberry32, Tommy Ettinger's 32-bit generator): floats in [0, 1), the same
 * sequence on every machine for one seed. Bootstrap CIs and the synthetic data generators pin its outputs in
 * their tests, so the algorithm must not change.
 */
export class SeededRandom {
  private current: number;

  constructor(seed: number) {
    this.current = seed >>> 0;
  }

  /** The 32-bit state; a generator may derive child seeds from it. */
  protected get state(): number {
    return this.current;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.current = (this.current + 0x6d2b79f5) >>> 0;
    let t = this.current;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** A mulberry32 stream as a function, for callers that only draw numbers. */
export function mulberry32(seed: number): () => number {
  const rng = new SeededRandom(seed);
  return () => rng.next();
}
