/**
 * How many tiles go into one vision-encoder run. The engine already sends the tiles of every sample of a batch
 * through the encoder together (engine.ts `buildPrefill`); this caps one run so its activations fit in memory.
 * On a GPU one large run keeps the device busy (one dispatch per kernel for all tiles); on the CPU the cores are
 * already saturated by one tile, so the cap stays small there.
 *
 * Activation estimate per tile (float32, InternViT layer at its widest point, IVL `modeling_intern_vit.py`):
 * the residual stream, the packed qkv, the attention scores of all heads (MultiHeadAttention materialises them on
 * the CPU; a GPU kernel may not, so this is an upper bound) and the MLP's intermediate.
 */
import type { EngineDevice } from './devices.ts';

/** Device memory a vision run may use for activations (GPU providers). */
export const DEVICE_VISION_MEMORY_BYTES = 4 * 2 ** 30;
/** Tiles per run on the CPU provider (unchanged from the engine's earlier fixed default). */
export const CPU_VISION_TILES = 4;
/** Upper limit whatever the memory: InternVL2's largest image is 12 tiles + thumbnail; 8 such samples. */
export const MAX_VISION_TILES = 104;

/** InternVL2-2B's vision tower (InternViT-300M-448px: 1024 patches + CLS). */
export const VIT_300M = { tokens: 1025, hidden: 1024, heads: 16, intermediate: 4096 };

export interface VisionWidths {
  readonly tokens: number;
  readonly hidden: number;
  readonly heads: number;
  readonly intermediate: number;
}

/** float32 bytes of one tile's live activations inside a ViT layer (see the header). */
export function activationBytesPerTile(w: VisionWidths): number {
  const perToken =
    w.hidden /* residual */ + 3 * w.hidden /* qkv */ + w.hidden /* attention out */ + w.intermediate;
  return 4 * (w.tokens * perToken + w.heads * w.tokens * w.tokens);
}

/** Tiles per run that fit `budgetBytes` (at least 1, at most MAX_VISION_TILES). */
export function tilesWithin(budgetBytes: number, w: VisionWidths): number {
  return Math.max(1, Math.min(MAX_VISION_TILES, Math.floor(budgetBytes / activationBytesPerTile(w))));
}

/**
 * The default tiles per vision run on `device`: CPU_VISION_TILES on the CPU provider; on GPU providers as many
 * InternViT-300M tiles as fit DEVICE_VISION_MEMORY_BYTES (40; a smaller checkpoint's tiles are smaller still).
 */
export function defaultVisionBatch(device: EngineDevice): number {
  if (device === 'cpu') return CPU_VISION_TILES;
  return tilesWithin(DEVICE_VISION_MEMORY_BYTES, VIT_300M);
}
