/**
 * Batch layout for generation: prompts of different lengths are LEFT padded so every row's last prompt token
 * sits at the same column and new tokens append at the same column for all rows.
 * Masks and positions follow Hugging Face `prepare_inputs_for_generation` (IVL `modeling_internlm2.py`):
 * `position_ids = attention_mask.cumsum(-1) - 1; position_ids.masked_fill_(attention_mask == 0, 1)`.
 */

export interface PaddedBatch {
  readonly batch: number;
  /** Padded length (longest prompt). */
  readonly seq: number;
  /** [batch, seq] token ids; pads hold `padId`. */
  readonly inputIds: BigInt64Array;
  /** [batch, seq] 1 for real tokens, 0 for pads. */
  readonly attentionMask: BigInt64Array;
  /** [batch, seq] cumsum(mask) - 1, pads set to 1. */
  readonly positionIds: BigInt64Array;
  /** Pads at the left of each row. */
  readonly padding: readonly number[];
}

export function leftPad(rows: readonly (readonly number[])[], padId: number): PaddedBatch {
  if (rows.length === 0) throw new Error('leftPad: empty batch');
  const batch = rows.length;
  const seq = Math.max(...rows.map((r) => r.length));
  if (seq === 0) throw new Error('leftPad: every prompt is empty');
  const inputIds = new BigInt64Array(batch * seq);
  const attentionMask = new BigInt64Array(batch * seq);
  const padding: number[] = [];
  rows.forEach((row, b) => {
    if (row.length === 0) throw new Error(`leftPad: prompt ${b} is empty`);
    const pad = seq - row.length;
    padding.push(pad);
    for (let s = 0; s < seq; s++) {
      const i = b * seq + s;
      if (s < pad) {
        inputIds[i] = BigInt(padId);
      } else {
        inputIds[i] = BigInt(row[s - pad]);
        attentionMask[i] = 1n;
      }
    }
  });
  return {
    batch,
    seq,
    inputIds,
    attentionMask,
    positionIds: positionIdsFromMask(attentionMask, batch, seq),
    padding,
  };
}

/** HF position ids for a [batch, width] mask: cumsum - 1, masked positions set to 1. */
export function positionIdsFromMask(mask: BigInt64Array, batch: number, width: number): BigInt64Array {
  if (mask.length !== batch * width)
    throw new Error(`mask has ${mask.length} entries, expected ${batch}×${width}`);
  const out = new BigInt64Array(batch * width);
  for (let b = 0; b < batch; b++) {
    let sum = 0n;
    for (let s = 0; s < width; s++) {
      const m = mask[b * width + s];
      sum += m;
      out[b * width + s] = m === 0n ? 1n : sum - 1n;
    }
  }
  return out;
}

/** Appends `columns` new columns of ones to a [batch, width] mask. */
export function extendMask(mask: BigInt64Array, batch: number, width: number, columns = 1): BigInt64Array {
  const next = new BigInt64Array(batch * (width + columns));
  for (let b = 0; b < batch; b++) {
    next.set(mask.subarray(b * width, (b + 1) * width), b * (width + columns));
    for (let c = 0; c < columns; c++) next[b * (width + columns) + width + c] = 1n;
  }
  return next;
}
