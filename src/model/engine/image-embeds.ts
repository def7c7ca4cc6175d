/**
 * Puts image embeddings into the token embeddings (IVL `modeling_internvl_chat.py` `generate`:
 * `input_embeds[input_ids == img_context_token_id] = vit_embeds.reshape(-1, C)`): a straight overwrite of the
 * `<IMG_CONTEXT>` rows, in order — tile-major, then the tokens of each tile. `<img>`/`</img>` keep their text
 * embeddings. Positions are not special (../shared/docs/model-runtime.md §B.7).
 */

/**
 * Overwrites, in place, every row of `embeds` ([batch, seq, hidden]) whose id is `imageTokenId` with the next
 * row of that batch row's image embeddings ([n, hidden] flattened). Throws when the counts differ.
 */
export function placeImageEmbeddings(
  embeds: Float32Array,
  inputIds: BigInt64Array,
  batch: number,
  seq: number,
  hidden: number,
  imageTokenId: number,
  imageEmbeds: readonly (Float32Array | null)[],
): void {
  if (imageEmbeds.length !== batch)
    throw new Error(`image embeddings for ${imageEmbeds.length} rows, batch is ${batch}`);
  const id = BigInt(imageTokenId);
  for (let b = 0; b < batch; b++) {
    const source = imageEmbeds[b];
    const available = source ? source.length / hidden : 0;
    if (!Number.isInteger(available))
      throw new Error(`row ${b}: image embeddings are not a multiple of hidden ${hidden}`);
    let used = 0;
    for (let s = 0; s < seq; s++) {
      if (inputIds[b * seq + s] !== id) continue;
      if (used >= available) {
        throw new Error(
          `row ${b}: the prompt has more <IMG_CONTEXT> tokens than image embeddings (${available})`,
        );
      }
      embeds.set(
        (source as Float32Array).subarray(used * hidden, (used + 1) * hidden),
        (b * seq + s) * hidden,
      );
      used++;
    }
    if (used !== available) {
      throw new Error(
        `row ${b}: the prompt has ${used} <IMG_CONTEXT> tokens but there are ${available} image embeddings`,
      );
    }
  }
}
