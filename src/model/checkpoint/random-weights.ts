// Deterministic random weights for a checkpoint of any InternVL2 config, and the tiny widths of the test model.
import type { InternVLConfig } from './config.ts';
import type { ModelSizes } from './internvl2-files.ts';
import { normalStream, streamSeed, uniformStream } from './random.ts';
import type { TensorToWrite } from './safetensors.ts';
import { expectedTensors } from './tensor-names.ts';

/**
 * Tiny widths. LLM head_dim 16 because ORT's GroupQueryAttention rotary needs head_dim % 16 == 0
 * (4 query heads, 2 KV heads keep GQA grouping real).
 */
export const TINY_SIZES: ModelSizes = {
  vision: { hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 64 },
  llm: {
    hiddenSize: 64,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    intermediateSize: 128,
  },
};

/**
 * Random weights for every tensor the config implies. Scales keep activations O(1): linears ~ N(0, 1/fan_in),
 * norm weights 1 + 0.1·N, biases 0.02·N, layer scales uniform in [0.1, 1], token embeddings N(0, 1), and the
 * output head N(0, 25/hidden) so logits have std ≈ 5 (peaked: greedy decoding is not decided by near-ties).
 */
export function randomTensors(config: InternVLConfig, seed: number): Map<string, TensorToWrite> {
  const out = new Map<string, TensorToWrite>();
  for (const { name, shape } of expectedTensors(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    randomValues(config, seed, name, shape)(values);
    out.set(name, { dtype: 'BF16', shape, values });
  }
  return out;
}

/**
 * The random values of one tensor as a generator of consecutive chunks: each call fills `into` with the next
 * `into.length` values, so a full-size checkpoint is written a chunk at a time (the same values as randomTensors).
 */
export function randomValues(
  config: InternVLConfig,
  seed: number,
  name: string,
  shape: number[],
): (into: Float32Array) => void {
  const spec = initSpec(name, shape, config);
  if (spec.kind === 'uniform') {
    const u = uniformStream(streamSeed(seed, name));
    return (into) => {
      for (let i = 0; i < into.length; i++) into[i] = spec.lo + (spec.hi - spec.lo) * u();
    };
  }
  const g = normalStream(streamSeed(seed, name));
  return (into) => {
    for (let i = 0; i < into.length; i++) into[i] = spec.mean + spec.std * g();
  };
}

type InitSpec = { kind: 'normal'; mean: number; std: number } | { kind: 'uniform'; lo: number; hi: number };

function initSpec(name: string, shape: number[], config: InternVLConfig): InitSpec {
  const normal = (std: number, mean = 0): InitSpec => ({ kind: 'normal', mean, std });
  if (/\.ls[12]$/.test(name)) return { kind: 'uniform', lo: 0.1, hi: 1 };
  if (name === 'language_model.output.weight') return normal(5 / Math.sqrt(config.llm.hiddenSize));
  if (name === 'language_model.model.tok_embeddings.weight') return normal(1);
  if (name.endsWith('class_embedding') || name.endsWith('position_embedding')) return normal(0.5);
  if (name.endsWith('patch_embedding.weight')) return normal(1 / Math.sqrt(shape[1] * shape[2] * shape[3]));
  const isNorm = /(norm1|norm2|_norm|model\.norm|mlp1\.0)\.weight$/.test(name);
  if (isNorm) return normal(0.1, 1);
  if (name.endsWith('.bias')) return normal(0.02);
  if (shape.length === 2) return normal(1 / Math.sqrt(shape[1]));
  throw new Error(`no init rule for tensor "${name}"`);
}
