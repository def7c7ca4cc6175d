import { describe, expect, it } from 'vitest';
import { ReplyStreamer, replyFromDecoded } from '../../../src/model/engine/reply-text.ts';
import { cleanUpTokenization } from '../../../src/model/inputs/tokenizer.ts';

/** A decoder over a fixed table of token texts, with the reference's clean-up and a byte-level split emoji. */
function makeDecode(table: Record<number, string | number[]>) {
  return (ids: readonly number[]) => {
    const bytes: number[] = [];
    for (const id of ids) {
      const t = table[id];
      if (typeof t === 'string') bytes.push(...new TextEncoder().encode(t));
      else bytes.push(...t);
    }
    return cleanUpTokenization(new TextDecoder().decode(new Uint8Array(bytes)));
  };
}

const table: Record<number, string | number[]> = {
  1: '  Hello',
  2: ' world',
  3: ' .',
  4: ' it',
  5: " '",
  6: 's',
  7: [0xf0, 0x9f], // first half of 😀
  8: [0x98, 0x80], // second half
  9: '<|im_end|>',
  10: '   ',
  11: '<|im',
  12: ' n',
  13: "'t",
};

describe('ReplyStreamer', () => {
  it.each([
    { name: 'leading and trailing spaces', ids: [10, 1, 2, 10] },
    { name: 'clean-up of " ."', ids: [1, 3, 2, 3] },
    { name: 'clean-up of " \'s"', ids: [4, 5, 6, 2] },
    { name: 'clean-up of " n\'t"', ids: [4, 12, 13, 2] },
    { name: 'UTF-8 split over two tokens', ids: [1, 7, 8, 2] },
    { name: 'separator in the middle', ids: [1, 2, 9, 4, 2] },
    { name: 'a separator prefix that is not one', ids: [1, 11, 2] },
    { name: 'nothing', ids: [] },
  ])('pieces concatenate to the final reply: $name', ({ ids }) => {
    const decode = makeDecode(table);
    const s = new ReplyStreamer(decode, '<|im_end|>');
    const pieces = ids.map((id) => s.push(id));
    pieces.push(s.finish());
    expect(pieces.join('')).toBe(replyFromDecoded(decode(ids), '<|im_end|>'));
  });

  it('emits settled text before the end', () => {
    const s = new ReplyStreamer(makeDecode(table), '<|im_end|>');
    expect(s.push(1)).toBe('Hello');
    expect(s.push(2)).toBe(' world');
    expect(s.push(7)).toBe(''); // half a character
    expect(s.push(8)).toBe('😀');
    expect(s.push(4)).toBe(''); // ' it' may still be cleaned up
    expect(s.push(2)).toBe(' it world');
    expect(s.push(10)).toBe(''); // trailing spaces may be stripped
    expect(s.finish()).toBe('');
  });

  it('replyFromDecoded splits on the separator and strips like Python', () => {
    expect(replyFromDecoded('  A \u001c<|im_end|>junk', '<|im_end|>')).toBe('A');
    expect(replyFromDecoded('\ufeffB', '<|im_end|>')).toBe('\ufeffB');
  });
});
