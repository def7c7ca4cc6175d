// embed.onnx: input_ids int64 [B, S] -> inputs_embeds float32 [B, S, hidden] (Gather on tok_embeddings).
import type { InternVLConfig } from '../checkpoint/config.ts';
import { readChecked, toFloat16Bits, type LinearFormat, type WeightSource } from './layers.ts';
import { DataType, GraphBuilder, bytesOf } from './onnx-builder.ts';

export const TOK_EMBEDDINGS = 'language_model.model.tok_embeddings.weight';

/** `table` is fp32 or fp16 (+ Cast after the Gather, so only the gathered rows are converted). */
export async function buildEmbedGraph(
  g: GraphBuilder,
  config: InternVLConfig,
  src: WeightSource,
  table: LinearFormat,
): Promise<void> {
  const { vocabSize, hiddenSize } = config.llm;
  const ids = g.input('input_ids', DataType.INT64, ['batch', 'sequence']);
  const values = await readChecked(src, TOK_EMBEDDINGS, [vocabSize, hiddenSize]);
  let out: string;
  if (table.kind === 'fp32') {
    out = g.op('Gather', [g.initF32(TOK_EMBEDDINGS, [vocabSize, hiddenSize], values), ids], { axis: 0 });
  } else {
    // Gather on the fp16 table, then Cast only the gathered rows (a Cast of the whole table would be constant-folded
    // into an fp32 copy at session load).
    const f16 = g.initializer(
      TOK_EMBEDDINGS,
      DataType.FLOAT16,
      [vocabSize, hiddenSize],
      bytesOf(toFloat16Bits(values)),
    );
    out = g.op('Cast', [g.op('Gather', [f16, ids], { axis: 0 })], { to: DataType.FLOAT });
  }
  g.output(out, 'inputs_embeds', DataType.FLOAT, ['batch', 'sequence', hiddenSize]);
}
