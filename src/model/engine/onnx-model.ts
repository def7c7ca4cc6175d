/**
 * The three ONNX sessions of a built model (vision, embed, decoder) behind the `CausalDecoder` interface the
 * generation loop uses, plus the vision encoder run. Graph I/O names and shapes: engine-contract.md.
 */
import * as ort from 'onnxruntime-node';
import type { BuiltModelInfo } from './built-model.ts';
import type { CausalDecoder, DecoderStepInput, DecoderStepOutput, KvCache } from './generate.ts';
import { openSession, type SessionSettings } from './sessions.ts';

interface OnnxKvCache extends KvCache {
  readonly tensors: Record<string, ort.Tensor>;
}

export class OnnxModel implements CausalDecoder {
  readonly hidden: number;
  readonly vocab: number;
  private readonly pastNames: { key: string; value: string; presentKey: string; presentValue: string }[];

  private constructor(
    readonly info: BuiltModelInfo,
    readonly vision: ort.InferenceSession,
    readonly embedder: ort.InferenceSession,
    readonly decoder: ort.InferenceSession,
    /** Tiles per vision run (bounds activation memory). */
    readonly visionBatch: number,
  ) {
    this.hidden = info.llm.hidden;
    this.vocab = info.llm.vocab;
    this.pastNames = Array.from({ length: info.llm.layers }, (_, i) => ({
      key: `past_key_values.${i}.key`,
      value: `past_key_values.${i}.value`,
      presentKey: `present.${i}.key`,
      presentValue: `present.${i}.value`,
    }));
    const need = ['inputs_embeds', 'attention_mask', ...this.pastNames.flatMap((p) => [p.key, p.value])];
    for (const name of need) {
      if (!decoder.inputNames.includes(name)) {
        throw new Error(
          `${info.files.decoder}: decoder has no input '${name}' (inputs: ${decoder.inputNames.join(', ')})`,
        );
      }
    }
  }

  static async open(info: BuiltModelInfo, settings: SessionSettings, visionBatch = 4): Promise<OnnxModel> {
    const vision = await openSession(info.files.vision, settings);
    const embed = await openSession(info.files.embed, settings);
    const decoder = await openSession(info.files.decoder, settings);
    return new OnnxModel(info, vision, embed, decoder, visionBatch);
  }

  /** pixel values [tiles, 3, S, S] → image embeddings [tiles, numImageToken, hidden], run `visionBatch` tiles at a time. */
  async encodeImages(pixelValues: Float32Array, tiles: number): Promise<Float32Array> {
    const size = this.info.vision.imageSize;
    const perTile = 3 * size * size;
    if (pixelValues.length !== tiles * perTile) {
      throw new Error(`pixel values hold ${pixelValues.length} floats, expected ${tiles}×3×${size}×${size}`);
    }
    const perOut = this.info.vision.numImageToken * this.hidden;
    const out = new Float32Array(tiles * perOut);
    for (let t0 = 0; t0 < tiles; t0 += this.visionBatch) {
      const n = Math.min(this.visionBatch, tiles - t0);
      const input = new ort.Tensor('float32', pixelValues.subarray(t0 * perTile, (t0 + n) * perTile), [
        n,
        3,
        size,
        size,
      ]);
      const res = await this.vision.run({ pixel_values: input });
      const emb = res.image_embeds;
      if (!emb) throw new Error(`${this.info.files.vision}: no output 'image_embeds'`);
      const data = emb.data as Float32Array;
      if (data.length !== n * perOut) {
        throw new Error(
          `${this.info.files.vision}: image_embeds has ${data.length} values, expected ${n}×${perOut}`,
        );
      }
      out.set(data, t0 * perOut);
    }
    return out;
  }

  async embed(ids: BigInt64Array, batch: number, seq: number): Promise<Float32Array> {
    const res = await this.embedder.run({ input_ids: new ort.Tensor('int64', ids, [batch, seq]) });
    const data = res.inputs_embeds?.data as Float32Array | undefined;
    if (!data || data.length !== batch * seq * this.hidden) {
      throw new Error(`${this.info.files.embed}: inputs_embeds missing or of wrong size`);
    }
    return data;
  }

  async step(input: DecoderStepInput): Promise<DecoderStepOutput> {
    const { batch, seq } = input;
    const { kvHeads, headDim } = this.info.llm;
    const past = input.past as OnnxKvCache | null;
    const pastLength = past ? past.length : 0;
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: new ort.Tensor('float32', input.embeds, [batch, seq, this.hidden]),
      attention_mask: new ort.Tensor('int64', input.attentionMask, [batch, pastLength + seq]),
    };
    if (this.decoder.inputNames.includes('position_ids')) {
      feeds.position_ids = new ort.Tensor('int64', input.positionIds, [batch, seq]);
    }
    const empty = new Float32Array(0);
    for (const p of this.pastNames) {
      if (past) {
        feeds[p.key] = past.tensors[p.presentKey];
        feeds[p.value] = past.tensors[p.presentValue];
      } else {
        feeds[p.key] = new ort.Tensor('float32', empty, [batch, kvHeads, 0, headDim]);
        feeds[p.value] = new ort.Tensor('float32', empty, [batch, kvHeads, 0, headDim]);
      }
    }
    const res = await this.decoder.run(feeds);
    const logits = res.logits;
    if (!logits) throw new Error(`${this.info.files.decoder}: no output 'logits'`);
    const data = logits.data as Float32Array;
    const rows = logits.dims[1];
    const vocab = this.vocab;
    // The contract returns logits for every position; keep the last one of each row.
    const lastLogits = new Float32Array(batch * vocab);
    for (let b = 0; b < batch; b++) {
      const start = (b * rows + rows - 1) * vocab;
      lastLogits.set(data.subarray(start, start + vocab), b * vocab);
    }
    const tensors: Record<string, ort.Tensor> = {};
    for (const p of this.pastNames) {
      const k = res[p.presentKey];
      const v = res[p.presentValue];
      if (!k || !v)
        throw new Error(`${this.info.files.decoder}: no output '${p.presentKey}'/'${p.presentValue}'`);
      tensors[p.presentKey] = k;
      tensors[p.presentValue] = v;
    }
    const present: OnnxKvCache = { length: pastLength + seq, tensors };
    return { lastLogits, present };
  }

  async close(): Promise<void> {
    await Promise.all([this.vision.release(), this.embedder.release(), this.decoder.release()]);
  }
}
