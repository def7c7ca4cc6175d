/**
 * The last position's logits of each row, [B, V]: decoder `logits` is [B, 1, V] from the default build (returned
 * as is) and [B, S, V] from an allLogits build.
 */
export function lastPositionLogits(
  data: Float32Array,
  batch: number,
  rows: number,
  vocab: number,
): Float32Array {
  if (rows === 1) return data;
  const last = new Float32Array(batch * vocab);
  for (let b = 0; b < batch; b++) {
    const start = (b * rows + rows - 1) * vocab;
    last.set(data.subarray(start, start + vocab), b * vocab);
  }
  return last;
}
