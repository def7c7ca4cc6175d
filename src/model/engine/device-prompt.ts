/**
 * The decoder's prefill input built on the device: token embeddings of the left-padded prompts, then the vision
 * encoder's image embeddings put over the `<IMG_CONTEXT>` rows (IVL `modeling_internvl_chat.py` `generate`:
 * `input_embeds[input_ids == img_context_token_id] = vit_embeds`, in order: tile-major, then the tokens of each
 * tile), one vision run at a time, without the embeddings ever visiting the host. image-embeds.ts is the host form
 * and has the same checks and messages.
 */
import type * as ort from 'onnxruntime-node';
import { deviceEmbeds, isDeviceEmbeds, type DeviceEmbeds } from './device-tensors.ts';
import type { OnnxModel } from './onnx-model.ts';

/**
 * Row sources for one vision run covering tiles [firstTile, firstTile + count) of the batch (tiles numbered
 * across rows in batch order): entry r (of batch·seq) is r itself, or, for an `<IMG_CONTEXT>` row whose image
 * token falls in this run, batchSeq + (tile − firstTile)·tokensPerTile + token — its row in the stacked
 * [embeds; image] table of `DeviceKernels.placeRows`. Throws, naming the row, when a row's image-token count
 * differs from its tiles × tokensPerTile.
 */
export function imageRowSources(
  inputIds: BigInt64Array,
  batch: number,
  seq: number,
  imageTokenId: number,
  rowTiles: readonly number[],
  tokensPerTile: number,
  firstTile: number,
  count: number,
): BigInt64Array {
  if (rowTiles.length !== batch) throw new Error(`tiles for ${rowTiles.length} rows, batch is ${batch}`);
  const id = BigInt(imageTokenId);
  const out = new BigInt64Array(batch * seq);
  let tilesBefore = 0;
  for (let b = 0; b < batch; b++) {
    const available = rowTiles[b] * tokensPerTile;
    let used = 0;
    for (let s = 0; s < seq; s++) {
      const r = b * seq + s;
      out[r] = BigInt(r);
      if (inputIds[r] !== id) continue;
      if (used >= available) {
        throw new Error(
          `row ${b}: the prompt has more <IMG_CONTEXT> tokens than image embeddings (${available})`,
        );
      }
      const tile = tilesBefore + Math.floor(used / tokensPerTile);
      if (tile >= firstTile && tile < firstTile + count) {
        out[r] = BigInt(batch * seq + (tile - firstTile) * tokensPerTile + (used % tokensPerTile));
      }
      used++;
    }
    if (used !== available) {
      throw new Error(
        `row ${b}: the prompt has ${used} <IMG_CONTEXT> tokens but there are ${available} image embeddings`,
      );
    }
    tilesBefore += rowTiles[b];
  }
  return out;
}

export interface DevicePromptInput {
  readonly inputIds: BigInt64Array;
  readonly batch: number;
  readonly seq: number;
  readonly imageTokenId: number;
  /** Pixel values of every tile of the batch, rows in order, or null without images. */
  readonly pixelValues: Float32Array | null;
  readonly rowTiles: readonly number[];
}

/**
 * Prompt embeddings on the device, images placed. `visionMs` covers the vision runs up to the device finishing
 * them (a one-value read-back waits for it: device work is otherwise asynchronous).
 */
export async function embedPromptOnDevice(
  model: OnnxModel,
  p: DevicePromptInput,
): Promise<{ embeds: DeviceEmbeds; visionMs: number }> {
  const tv = performance.now();
  const kernels = model.deviceKernels();
  const totalTiles = p.rowTiles.reduce((a, b) => a + b, 0);
  let visionMs = 0;
  let current: ort.Tensor | null = null;
  const text = await model.embed(p.inputIds, p.batch, p.seq);
  if (!isDeviceEmbeds(text)) throw new Error('embedPromptOnDevice: the model returned host embeddings');
  current = text.tensor;
  try {
    if (totalTiles > 0) {
      if (!p.pixelValues) throw new Error('rows have tiles but no pixel values were given');
      const tokensPerTile = model.info.vision.numImageToken;
      // Checks every row's counts before any vision run (same errors as the host placeImageEmbeddings).
      imageRowSources(p.inputIds, p.batch, p.seq, p.imageTokenId, p.rowTiles, tokensPerTile, 0, 0);
      await model.encodeImagesOnDevice(p.pixelValues, totalTiles, async (image, first, n) => {
        try {
          const source = imageRowSources(
            p.inputIds,
            p.batch,
            p.seq,
            p.imageTokenId,
            p.rowTiles,
            tokensPerTile,
            first,
            n,
          );
          const placed = await kernels.placeRows(current as ort.Tensor, image, source);
          (current as ort.Tensor).dispose();
          current = placed;
        } finally {
          image.dispose();
        }
      });
      await kernels.sync(current);
      visionMs = performance.now() - tv;
    }
  } catch (err) {
    current?.dispose();
    throw err;
  }
  return { embeds: deviceEmbeds(current), visionMs };
}

/**
 * Runs the vision encoder over `tiles` tiles and drops the result, on a host or a device-resident model, waiting
 * for the device to finish (benchmarks time vision with it).
 */
export async function encodeImagesAndDiscard(
  model: OnnxModel,
  pixelValues: Float32Array,
  tiles: number,
): Promise<void> {
  if (!model.resident) {
    await model.encodeImages(pixelValues, tiles);
    return;
  }
  const kernels = model.deviceKernels();
  await model.encodeImagesOnDevice(pixelValues, tiles, async (image) => {
    try {
      await kernels.sync(image);
    } finally {
      image.dispose();
    }
  });
}
