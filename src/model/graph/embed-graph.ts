// embed.onnx: input_ids int64 [B, S] -> inputs_embeds float32 [B, S, hidden] (a gather on tok_embeddings).
import type { InternVLConfig } from '../checkpoint/config.ts';
import { readChecked, toFloat16Bits, type LinearFormat, type WeightSource } from './layers.ts';
import { DataType, GraphBuilder, bytesOf } from './onnx-builder.ts';
import { quantizeMatrix, unpaddedRows } from './quantize.ts';

export const TOK_EMBEDDINGS = 'language_model.model.tok_embeddings.weight';

/**
 * `table` is fp32 (Gather), fp16 (Gather + Cast, so only the gathered rows are converted) or nbits: the table is
 * RTN block-quantized along the hidden axis exactly like a MatMulNBits weight (rows = tokens, K = hidden; same
 * scales, zero points and rounding as the linears, `quantize.ts`) and read with com.microsoft:GatherBlockQuantized,
 * which dequantizes only the gathered rows to float32 ((q - zp) * scale, float32 scales -> float32 output).
 * `accuracyLevel` does not apply (no matmul).
 *
 * 4-bit needs an even hidden size: the kernel derives the output width from the packed row (bytes × 2).
 * Quirk of GatherBlockQuantized (CPU kernel, gather_block_quantized.cc): an out-of-range id yields a row of zeros
 * where Gather would fail the run; ids come from our tokenizer, so this never happens in practice.
 */
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
  } else if (table.kind === 'nbits') {
    if (table.bits === 4 && hiddenSize % 2 !== 0) {
      // The kernel sizes its output from the packed bytes (2 values per byte): an odd row would gain a column.
      throw new Error(
        `${TOK_EMBEDDINGS}: 4-bit GatherBlockQuantized needs an even hidden size, got odd hidden size ${hiddenSize}; ` +
          'build with --no-quantize-embeddings (quantizeEmbeddings: false)',
      );
    }
    const q = quantizeMatrix(values, vocabSize, hiddenSize, table);
    const data = unpaddedRows(q);
    const inputs = [
      g.initializer(`${TOK_EMBEDDINGS}.qweight`, DataType.UINT8, [vocabSize, data.length / vocabSize], data),
      ids,
      g.initF32(`${TOK_EMBEDDINGS}.scales`, [vocabSize, q.kBlocks], q.scales),
    ];
    if (q.zeroPoints) {
      inputs.push(
        g.initializer(
          `${TOK_EMBEDDINGS}.zero_points`,
          DataType.UINT8,
          [vocabSize, q.zeroPoints.length / vocabSize],
          q.zeroPoints,
        ),
      );
    }
    // uint8 data requires gather_axis 0 and quantize_axis = the last axis (the kernel's own constraint).
    out = g.op(
      'GatherBlockQuantized',
      inputs,
      { gather_axis: 0, quantize_axis: 1, block_size: q.blockSize, bits: q.bits },
      { domain: 'com.microsoft', name: 'tok_embeddings' },
    );
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
