/**
 * Cancelling generation: a row whose signal aborts stops before its next token with finish reason 'cancelled'
 * while the other rows of the batch go on unchanged; an engine stream left early aborts its producer.
 */
import { describe, expect, it } from 'vitest';
import { streamFrom } from '../../../src/model/engine/engine.ts';
import { generate, type RowSettings } from '../../../src/model/engine/generate.ts';
import { leftPad } from '../../../src/model/engine/padding.ts';
import { ToyDecoder } from './toy-decoder.ts';

async function run(
  prompts: number[][],
  settings: RowSettings[],
  onToken?: (row: number, id: number) => void,
) {
  const decoder = new ToyDecoder();
  const padded = leftPad(prompts, 0);
  const embeds = await decoder.embed(padded.inputIds, padded.batch, padded.seq);
  const out = await generate(
    decoder,
    {
      batch: padded.batch,
      seq: padded.seq,
      embeds,
      attentionMask: padded.attentionMask,
      positionIds: padded.positionIds,
    },
    settings,
    { padTokenId: 0, ...(onToken ? { onToken } : {}) },
  );
  return { out, steps: decoder.steps.length };
}

describe('generation cancelled by a signal', () => {
  it('stops the aborted row after the token it was on; the other row equals its run alone', async () => {
    const prompts = [
      [1, 2, 3],
      [4, 5],
    ];
    const cancel = new AbortController();
    const settings: RowSettings[] = [
      { maxNewTokens: 8, stopTokenIds: [], signal: cancel.signal },
      { maxNewTokens: 8, stopTokenIds: [] },
    ];
    const { out } = await run(prompts, settings, (row) => {
      if (row === 0) cancel.abort(); // after its first token
    });
    expect(out.rows[0].finishReason).toBe('cancelled');
    expect(out.rows[0].outputIds).toHaveLength(1);
    const alone = await run([prompts[1]], [settings[1]]);
    expect(out.rows[1]).toMatchObject({ finishReason: 'length', outputIds: alone.out.rows[0].outputIds });
  });

  it('runs no decoder step at all when every row is cancelled before it starts', async () => {
    const cancel = new AbortController();
    cancel.abort();
    const { out, steps } = await run(
      [[1, 2]],
      [{ maxNewTokens: 5, stopTokenIds: [], signal: cancel.signal }],
    );
    expect(out.rows[0]).toMatchObject({ finishReason: 'cancelled', outputIds: [] });
    expect(steps).toBe(0);
  });

  it('an engine stream left early aborts its producer', async () => {
    let seen: AbortSignal | undefined;
    const pieces = streamFrom(async (push, stopped) => {
      seen = stopped;
      for (let i = 0; i < 100 && !stopped.aborted; i++) {
        push(`p${i}`);
        await new Promise((r) => setTimeout(r, 1));
      }
    });
    const got: string[] = [];
    for await (const p of pieces) {
      got.push(p);
      if (got.length === 3) break;
    }
    expect(got).toEqual(['p0', 'p1', 'p2']);
    expect(seen?.aborted).toBe(true);
  });
});
