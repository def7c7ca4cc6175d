import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeTinyTokenizer, learnBpeMerges } from '../../../src/model/inputs/tiny-tokenizer.ts';
import { InternLM2Tokenizer, addedTokensFromConfig } from '../../../src/model/inputs/tokenizer.ts';
import { PieceType, parseSentencePieceModel } from '../../../src/model/inputs/sentencepiece-model.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

interface Row {
  model: string;
  kind: string;
  text: string;
  ids: number[];
  decoded: string;
  sha256?: string;
  pieces?: number;
}
const rows = readFileSync(path.join(repoRoot, 'test/fixtures/tokenizer/golden-extra.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Row)
  .filter((r) => r.model === 'tiny');

const tiny = makeTinyTokenizer();
const tok = InternLM2Tokenizer.fromModelBytes(
  tiny.model,
  addedTokensFromConfig(tiny.tokenizerConfig, 'tiny tokenizer_config.json'),
  { additionalSpecialTokens: tiny.tokenizerConfig.additional_special_tokens },
);

describe('makeTinyTokenizer', () => {
  it('is the model the Python fixtures were made from (regenerate with scripts/fixtures/make_tokenizer_goldens.sh)', () => {
    const meta = rows.find((r) => r.kind === 'meta')!;
    expect(createHash('sha256').update(tiny.model).digest('hex')).toBe(meta.sha256);
    expect(tok.spVocabSize).toBe(meta.pieces);
  });

  it('is deterministic', () => {
    expect(makeTinyTokenizer()).toBe(tiny);
    expect(tiny.model.length).toBeGreaterThan(1000);
  });

  it('has the InternLM2 layout: <unk> <s> </s>, 256 bytes, merges, characters, user-defined chat pieces', () => {
    const m = parseSentencePieceModel(tiny.model);
    expect(m.pieces.slice(0, 3).map((p) => p.piece)).toEqual(['<unk>', '<s>', '</s>']);
    expect(m.pieces.filter((p) => p.type === PieceType.BYTE)).toHaveLength(256);
    expect(m.pieces.length).toBeGreaterThan(500);
    expect(m.pieces.length).toBeLessThan(1100);
    expect(m.pieces.filter((p) => p.type === PieceType.USER_DEFINED).map((p) => p.piece)).toContain(
      '[UNUSED_TOKEN_146]',
    );
    expect(m.normalizerSpec.addDummyPrefix).toBe(false);
    expect(m.trainerSpec.byteFallback).toBe(true);
    // split_digits: no learned piece holds two digits
    expect(m.pieces.some((p) => p.type === PieceType.NORMAL && /[0-9]{2}/.test(p.piece))).toBe(false);
  });

  it('names every InternVL token, with ids other than the real model', () => {
    expect(tok.vocabSize).toBe(tiny.vocabSize);
    const names = ['<|im_start|>', '<|im_end|>', '<img>', '</img>', '<IMG_CONTEXT>', '<ref>', '</box>'];
    const ids = names.map((n) => tok.requireId(n));
    expect(new Set(ids).size).toBe(names.length);
    expect(ids).not.toContain(92546);
    expect(tok.imgContextId).toBe(tiny.vocabSize - 7);
    expect(tok.idToToken(tok.imEndId)).toBe('<|im_end|>');
    expect([tok.bosId, tok.eosId]).toEqual([1, 2]);
  });

  it('loads from a folder written in the real file formats', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tiny-tok-'));
    writeFileSync(path.join(dir, 'tokenizer.model'), tiny.model);
    writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tiny.tokenizerConfig));
    const t = await InternLM2Tokenizer.fromDir(dir);
    expect(t.encode('<|im_start|>user\nhello<IMG_CONTEXT>')).toEqual(
      tok.encode('<|im_start|>user\nhello<IMG_CONTEXT>'),
    );
  });

  it('round-trips text, including characters it has no piece for (byte fallback)', () => {
    for (const t of [
      'The house is red.',
      'zyxwv 你好 😀 ñ',
      '  two  spaces\n\ttab',
      '<|im_start|>user\n<img></img>',
    ]) {
      expect(tok.decode(tok.encode(t, { addBos: false }))).toBe(t);
    }
  });

  const raw = rows.filter((r) => r.kind === 'raw');
  const chat = rows.filter((r) => r.kind === 'chat');
  it.each(raw.map((r) => [JSON.stringify(r.text).slice(0, 50), r] as const))(
    'encodes like Python SentencePiece: %s',
    (_n, r) => {
      expect(tok.encodeRaw(r.text)).toEqual(r.ids);
      expect(tok.decodeRaw(r.ids)).toBe(r.decoded);
    },
  );
  it.each(chat.map((r) => [JSON.stringify(r.text).slice(0, 50), r] as const))('chat text: %s', (_n, r) => {
    expect(tok.encode(r.text)).toEqual(r.ids);
  });
});

describe('learnBpeMerges', () => {
  it('merges the most frequent pair first, ties to the smaller string, never two digits', () => {
    const words = new Map([
      ['abab', 2],
      ['cd', 4],
      ['12', 9],
    ]);
    expect(learnBpeMerges(words, 3)).toEqual(['ab', 'cd', 'abab']);
  });
});
