import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SentencePieceProcessor, CodePointPairSet } from '../../../src/model/inputs/sentencepiece-bpe.ts';
import { parseSentencePieceModel } from '../../../src/model/inputs/sentencepiece-model.ts';
import { makeTinyTokenizer } from '../../../src/model/inputs/tiny-tokenizer.ts';
import { makeEdgeCaseModel } from '../../../scripts/fixtures/edge-case-model.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

interface Row {
  model: string;
  kind: string;
  text: string;
  ids: number[];
  decoded: string;
}
const edgeRows = readFileSync(path.join(repoRoot, 'test/fixtures/tokenizer/golden-extra.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Row)
  .filter((r) => r.model === 'edge');

describe('SentencePieceProcessor on the edge-case model (Python SentencePiece references)', () => {
  const sp = new SentencePieceProcessor(makeEdgeCaseModel());
  it('has its reference rows', () => expect(edgeRows.length).toBeGreaterThanOrEqual(10));
  it.each(edgeRows.map((r) => [JSON.stringify(r.text), r] as const))('%s', (_n, r) => {
    // UNUSED 'ab' is re-split into a + b; unknown runs fuse into one <unk>; dummy prefix; extra spaces removed
    expect(sp.encode(r.text)).toEqual(r.ids);
    expect(sp.decode(r.ids)).toBe(r.decoded);
  });
});

describe('segmented encoding equals one BPE over the whole text', () => {
  const models = {
    internlm2: new SentencePieceProcessor(
      parseSentencePieceModel(
        readFileSync(path.resolve(repoRoot, '../shared/fixtures/internlm2-tokenizer/tokenizer.model')),
      ),
    ),
    tiny: new SentencePieceProcessor(parseSentencePieceModel(makeTinyTokenizer().model)),
    edge: new SentencePieceProcessor(makeEdgeCaseModel()),
  };
  const alphabet = [
    ...'abcdefghij XYZ  \n\t0123456789.,!?-_()',
    ...'的一是在不了有和人这中大',
    '😀',
    'é',
    '——',
    '……',
    '[UNUSED_TOKEN_146]',
    'the ',
    'ing',
    '▁',
  ];
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const texts = Array.from({ length: 300 }, () =>
    Array.from({ length: 1 + rnd(40) }, () => alphabet[rnd(alphabet.length)]).join(''),
  );
  it.each(Object.entries(models))('%s: 300 random texts', (_name, sp) => {
    for (const t of texts) {
      const whole: number[] = [];
      sp.encodeNormalized(sp.normalize(t), whole, false);
      expect(sp.encode(t), JSON.stringify(t)).toEqual(whole);
      // and decoding gives the text back where the model can represent it
      if (sp.byteFallback && !sp.model.normalizerSpec.removeExtraWhitespaces)
        expect(sp.decode(whole)).toBe(t);
    }
  });
});

describe('CodePointPairSet', () => {
  it('stores pairs, grows, and tells them apart', () => {
    const set = new CodePointPairSet(2);
    for (let i = 0; i < 1000; i++) set.add(i, 0x10ffff - i);
    set.add(5, 0x10ffff - 5);
    expect(set.size).toBe(1000);
    expect(set.has(999, 0x10ffff - 999)).toBe(true);
    expect(set.has(0x10ffff - 999, 999)).toBe(false);
    expect(set.has(1000, 0x10ffff - 1000)).toBe(false);
  });
});
