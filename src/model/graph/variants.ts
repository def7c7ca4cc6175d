// The build variants in one table (name -> how the weights are stored and multiplied, and the graph I/O dtype):
// build.ts resolves options from it, and every CLI's --variant choices come from it.
import type { Bits } from './quantize.ts';

export interface VariantSpec {
  /** Storage of the LLM linears (and lm head); see README "Variants" for the other parts. */
  readonly weights: 'fp32' | 'fp16' | 'int8' | 'int4';
  /** MatMulNBits bits, for the quantized variants. */
  readonly bits?: Bits;
  /** Default block size along K (power of two >= 16). */
  readonly blockSize?: number;
  /** Default MatMulNBits accuracy_level (4 = int8 activations; 0 = float32 activations). */
  readonly accuracyLevel?: number;
  /** dtype of every graph-boundary activation (inputs_embeds, logits, image_embeds, KV cache). */
  readonly ioDtype: 'float32';
  readonly describe: string;
}

/**
 * accuracy_level 4 for int8 and int4, as onnxruntime-genai's model builder on CPU: on ORT 1.30's CPU EP, 8-bit
 * MatMulNBits at level 0 has no fast kernel (a decode step of 2 layers + lm head at InternVL2-2B widths took ~3 s
 * against ~30 ms at level 4; int4 ~0.1 s against ~25 ms). Block size 32 (genai's default) for both.
 */
export const VARIANT_TABLE = {
  fp32: { weights: 'fp32', ioDtype: 'float32', describe: 'float32 weights (the reference)' },
  fp16: { weights: 'fp16', ioDtype: 'float32', describe: 'fp16 weights, float32 compute' },
  int8: {
    weights: 'int8',
    bits: 8,
    blockSize: 32,
    accuracyLevel: 4,
    ioDtype: 'float32',
    describe: 'weight-only int8 MatMulNBits (LLM + token embeddings)',
  },
  int4: {
    weights: 'int4',
    bits: 4,
    blockSize: 32,
    accuracyLevel: 4,
    ioDtype: 'float32',
    describe: 'weight-only int4 MatMulNBits (LLM + token embeddings)',
  },
} as const satisfies Record<string, VariantSpec>;

export type Variant = keyof typeof VARIANT_TABLE;
export const VARIANTS = Object.keys(VARIANT_TABLE) as Variant[];

export function isVariant(name: string): name is Variant {
  return Object.hasOwn(VARIANT_TABLE, name);
}

/** The table row of `name`, or an error listing the known variants. */
export function variantSpec(name: string): VariantSpec {
  if (!isVariant(name)) throw new Error(`unknown variant '${name}' (expected one of ${VARIANTS.join(', ')})`);
  return VARIANT_TABLE[name];
}

/** `--variant` help text generated from the table. */
export function variantChoicesHelp(): string {
  return VARIANTS.map((v) => `${v}: ${VARIANT_TABLE[v].describe}`).join('; ');
}
