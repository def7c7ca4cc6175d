/**
 * The project's seeded PRNG (mulberry32, src/common/seeded-random.ts) with the few helpers the generators need.
 * Every synthetic item is a pure function of the seed, so two runs with one seed write identical bytes.
 */
import { SeededRandom } from '../../common/seeded-random.ts';

export class Rng extends SeededRandom {
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new Error(`synthetic seed must be an integer, got ${seed}`);
    super(seed);
  }

  /** A child stream for one generator, so adding items to one generator does not shift the others. */
  fork(label: string): Rng {
    let h = this.state ^ 0x9e3779b9;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x85ebca6b) >>> 0;
    return new Rng(h >>> 0);
  }

  /** Integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (!items.length) throw new Error('Rng.pick: empty list');
    return items[Math.floor(this.next() * items.length)];
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** `n` distinct items, in random order. */
  sample<T>(items: readonly T[], n: number): T[] {
    if (n > items.length) throw new Error(`Rng.sample: asked for ${n} of ${items.length} items`);
    return this.shuffle(items).slice(0, n);
  }
}
