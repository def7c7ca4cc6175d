/**
 * A pure-JS stand-in for the ONNX decoder, used to test the generation loop's bookkeeping (padding, masks,
 * positions, cache hand-over, per-row limits) without a built model. Its logits at a position depend only on the
 * real (unmasked) tokens before it and their position ids, so it distinguishes every bookkeeping mistake that
 * would change a real transformer's output.
 */
import type {
  CausalDecoder,
  DecoderStepInput,
  DecoderStepOutput,
  KvCache,
} from '../../../src/model/engine/generate.ts';

interface ToyCache extends KvCache {
  /** Per row: the (embedding, position, mask) of every cached column. */
  readonly columns: { embed: Float32Array; position: number; mask: number }[][];
}

export class ToyDecoder implements CausalDecoder {
  readonly hidden = 4;
  steps: { batch: number; seq: number; past: number }[] = [];
  constructor(readonly vocab = 11) {}

  embedOne(id: number): Float32Array {
    const e = new Float32Array(this.hidden);
    for (let h = 0; h < this.hidden; h++) e[h] = Math.sin(id * 1.7 + h * 0.9) + 0.1 * h;
    return e;
  }

  async embed(ids: BigInt64Array, batch: number, seq: number): Promise<Float32Array> {
    const out = new Float32Array(batch * seq * this.hidden);
    for (let i = 0; i < batch * seq; i++) out.set(this.embedOne(Number(ids[i])), i * this.hidden);
    return out;
  }

  async step(input: DecoderStepInput): Promise<DecoderStepOutput> {
    const { batch, seq, attentionMask, positionIds, past } = input;
    const embeds = input.embeds as Float32Array;
    const P = past ? past.length : 0;
    const width = P + seq;
    if (attentionMask.length !== batch * width)
      throw new Error(`toy: mask ${attentionMask.length} != ${batch}×${width}`);
    this.steps.push({ batch, seq, past: P });
    const prev = (past as ToyCache | null)?.columns ?? Array.from({ length: batch }, () => []);
    const columns = prev.map((row, b) => {
      const next = row.slice();
      for (let s = 0; s < seq; s++) {
        next.push({
          embed: embeds.slice((b * seq + s) * this.hidden, (b * seq + s + 1) * this.hidden),
          position: Number(positionIds[b * seq + s]),
          mask: Number(attentionMask[b * width + P + s]),
        });
      }
      return next;
    });
    const lastLogits = new Float32Array(batch * this.vocab);
    for (let b = 0; b < batch; b++) {
      // state = Σ over real columns of embed × (position + 1), in float64
      const state = new Float64Array(this.hidden);
      for (const c of columns[b]) {
        if (c.mask === 0) continue;
        for (let h = 0; h < this.hidden; h++) state[h] += c.embed[h] * (c.position + 1);
      }
      for (let v = 0; v < this.vocab; v++) {
        let x = 0;
        for (let h = 0; h < this.hidden; h++) x += state[h] * Math.cos(v * 0.37 + h);
        lastLogits[b * this.vocab + v] = Math.sin(x) * 3;
      }
    }
    const present: ToyCache = { length: width, columns };
    return { lastLogits, present };
  }
}
