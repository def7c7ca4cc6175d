import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { InternLM2Tokenizer, cleanUpTokenization } from '../../../src/model/inputs/tokenizer.ts';
import { decodeBytesLikeSentencePiece } from '../../../src/model/inputs/sentencepiece-bpe.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fixtureDir = path.resolve(repoRoot, '../shared/fixtures/internlm2-tokenizer');

interface Golden {
  model?: string;
  kind?: string;
  text: string;
  ids: number[];
  decoded: string;
}
const readJsonl = <T>(file: string): T[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);

const golden = readJsonl<Golden>(path.join(fixtureDir, 'golden-encode.jsonl'));
const extra = readJsonl<Golden>(path.join(repoRoot, 'test/fixtures/tokenizer/golden-extra.jsonl')).filter(
  (g) => g.model === 'internlm2',
);

let tok: InternLM2Tokenizer;
beforeAll(async () => {
  tok = await InternLM2Tokenizer.fromDir(fixtureDir);
});

describe('InternLM2Tokenizer: SentencePiece encoding (shared golden-encode.jsonl)', () => {
  it('has 200 golden lines', () => expect(golden).toHaveLength(200));

  it('matches every golden line: ids and decode', () => {
    const bad = golden.filter((g) => {
      const ids = tok.encodeRaw(g.text);
      return JSON.stringify(ids) !== JSON.stringify(g.ids) || tok.decodeRaw(g.ids) !== g.decoded;
    });
    expect(bad.map((g) => g.text)).toEqual([]);
  });

  it('the segmented fast path gives the same ids as one BPE over the whole text', () => {
    const all = golden.map((g) => g.text).join('');
    const whole: number[] = [];
    tok.sp.encodeNormalized(tok.sp.normalize(all), whole, false);
    expect(tok.encodeRaw(all)).toEqual(whole);
  });
});

describe('InternLM2Tokenizer: more references (test/fixtures/tokenizer/golden-extra.jsonl, Python SentencePiece)', () => {
  const raw = extra.filter((g) => g.kind === 'raw');
  const chat = extra.filter((g) => g.kind === 'chat');

  it.each(raw.map((g) => [JSON.stringify(g.text).slice(0, 60), g] as const))('raw %s', (_n, g) => {
    expect(tok.encodeRaw(g.text)).toEqual(g.ids);
    expect(tok.decodeRaw(g.ids)).toBe(g.decoded);
  });

  it.each(chat.map((g) => [JSON.stringify(g.text).slice(0, 60), g] as const))('chat %s', (_n, g) => {
    expect(tok.encode(g.text)).toEqual(g.ids);
    // "decoded" is the text after BOS
    expect(tok.decode(g.ids.slice(1))).toBe(g.decoded);
  });

  it('covers the kinds asked for', () => {
    expect(raw.length).toBeGreaterThanOrEqual(30);
    expect(chat.length).toBeGreaterThanOrEqual(6);
  });
});

describe('InternLM2Tokenizer: added tokens, BOS, ids by name', () => {
  it('finds the InternVL2 ids by name (rebuilt without tokenizer_config.json)', () => {
    expect([tok.bosId, tok.eosId, tok.unkId]).toEqual([1, 2, 0]);
    expect([tok.imEndId, tok.imStartId]).toEqual([92542, 92543]);
    expect([tok.imgStartId, tok.imgEndId, tok.imgContextId, tok.imContextId]).toEqual([
      92544, 92545, 92546, 92546,
    ]);
    expect(tok.tokenToId('</box>')).toBe(92552);
    expect(tok.vocabSize).toBe(92553);
    expect(tok.spVocabSize).toBe(92544);
    expect(tok.idToToken(92543)).toBe('<|im_start|>');
    expect(tok.tokenToId('[UNUSED_TOKEN_146]')).toBe(92543);
    expect(tok.tokenToId('no such token')).toBeUndefined();
    expect(() => tok.requireId('<nope>')).toThrow(/has no token "<nope>"/);
  });

  const cases: [
    string,
    string,
    { addBos?: boolean; splitSpecial?: boolean },
    (t: InternLM2Tokenizer) => number[],
  ][] = [
    ['BOS leads by default', 'Hello world', {}, () => [1, 9843, 2028]],
    ['no BOS when asked', 'Hello world', { addBos: false }, () => [9843, 2028]],
    ['empty text is just BOS', '', {}, () => [1]],
    ['special tokens split out', '<|im_start|>user\n', { addBos: false }, () => [92543, 1008, 364]],
    [
      'special tokens not split with splitSpecial=false',
      '<|im_start|>',
      { addBos: false, splitSpecial: false },
      () => [333, 352, 449, 5064, 352, 330],
    ],
    ['<s> in text becomes BOS id', '<s>', { addBos: false }, () => [1]],
    [
      'adjacent tokens',
      '<img><IMG_CONTEXT><IMG_CONTEXT></img>',
      { addBos: false },
      () => [92544, 92546, 92546, 92545],
    ],
    ['longest match wins', '</img>', { addBos: false }, () => [92545]],
  ];
  it.each(cases)('%s', (_n, text, opts, expected) => {
    expect(tok.encode(text, opts)).toEqual(expected(tok));
  });

  it('honours lstrip/rstrip of an added token (transformers semantics)', () => {
    const bytes = readFileSync(path.join(fixtureDir, 'tokenizer.model'));
    const t = InternLM2Tokenizer.fromModelBytes(bytes, [
      { id: 92544, content: '<x>', special: true, lstrip: true, rstrip: true },
    ]);
    expect(t.encode('a \t<x>\n b', { addBos: false })).toEqual([
      ...t.encodeRaw('a'),
      92544,
      ...t.encodeRaw('b'),
    ]);
  });
});

describe('InternLM2Tokenizer: decoding', () => {
  it('round-trips mixed text', () => {
    const texts = [
      'Hello  world\n\tmixed 中文 and 😀 emoji, digits 1234567890 and \u0000 control',
      '<|im_start|>user\n<img><IMG_CONTEXT></img>\nQ?<|im_end|>',
      '   ',
    ];
    for (const t of texts) expect(tok.decode(tok.encode(t, { addBos: false }))).toBe(t);
  });

  it('skipSpecial drops BOS, chat and image tokens', () => {
    const ids = tok.encode('<|im_start|>assistant\nIt is red.<|im_end|>');
    expect(tok.decode(ids, { skipSpecial: true })).toBe('assistant\nIt is red.');
    expect(tok.decode(ids)).toBe('<s><|im_start|>assistant\nIt is red.<|im_end|>');
  });

  it('fuses byte pieces into UTF-8, each invalid byte → U+FFFD (as SentencePiece, not TextDecoder)', () => {
    // 😀 = F0 9F 98 80 = byte pieces 243 162 155 131 (golden line)
    expect(tok.decodeRaw([243, 162, 155, 131])).toBe('😀');
    expect(tok.decodeRaw([243, 162, 155])).toBe('\ufffd\ufffd\ufffd');
    expect(decodeBytesLikeSentencePiece([0xe4, 0xbd])).toBe('\ufffd\ufffd');
    expect(decodeBytesLikeSentencePiece([0xed, 0xa0, 0x80])).toBe('\ufffd\ufffd\ufffd'); // surrogate
    expect(decodeBytesLikeSentencePiece([0xc0, 0x80])).toBe('\ufffd\ufffd'); // overlong
    expect(decodeBytesLikeSentencePiece([0x41, 0xc3, 0xa9])).toBe('Aé');
  });

  it('rejects ids outside the vocabulary with a clear error', () => {
    expect(() => tok.decode([5, 999999])).toThrow(/token id 999999 is not in the vocabulary/);
    expect(() => tok.decodeRaw([92546])).toThrow(/token id 92546/);
  });

  it('decodeLikeReference reproduces InternLM2Tokenizer.decode quirks', () => {
    const enc = (s: string) => tok.encode(s);
    // clean_up_tokenization runs although clean_up_tokenization_spaces=False
    expect(tok.decodeLikeReference(enc('Yes , it is . ok ?<|im_end|>'))).toBe('Yes, it is. ok?');
    expect(tok.decodeLikeReference(enc("I do n't know"))).toBe("I don't know");
    // leading space of the first piece survives (the prefix-space quirk cancels itself)
    expect(tok.decodeLikeReference(enc(' 42'))).toBe(' 42');
    expect(tok.decodeLikeReference([])).toBe('');
    // kept special tokens: a space before each run; image tokens are separate chunks joined by ' '
    expect(tok.decodeLikeReference(enc('a<|im_end|>b'), { skipSpecialTokens: false })).toBe(
      ' <s> a<|im_end|>b',
    );
    expect(tok.decodeLikeReference(enc('<ref>cat</ref>'), { skipSpecialTokens: false })).toBe(
      ' <s> <ref> cat </ref>',
    );
    expect(tok.decodeLikeReference(enc('<ref>cat</ref><box>[[1, 2, 3, 4]]</box>'))).toBe('cat[[1, 2, 3, 4]]');
  });

  it('cleanUpTokenization is transformers clean_up_tokenization', () => {
    expect(cleanUpTokenization("a . b ? c ! d , e ' f n't g 'm h 's i 've j 're")).toBe(
      "a. b? c! d, e'fn't g'm h's i've j're",
    );
  });
});

describe('InternLM2Tokenizer.fromDir', () => {
  it('accepts a tokenizer.model path and reads tokenizer_config.json beside it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tok-'));
    copyFileSync(path.join(fixtureDir, 'tokenizer.model'), path.join(dir, 'tokenizer.model'));
    writeFileSync(
      path.join(dir, 'tokenizer_config.json'),
      JSON.stringify({ added_tokens_decoder: { '92544': { content: '<mine>', special: false } } }),
    );
    const t = await InternLM2Tokenizer.fromDir(path.join(dir, 'tokenizer.model'));
    expect(t.encode('x<mine>', { addBos: false })).toEqual([...t.encodeRaw('x'), 92544]);
    expect(t.tokenToId('<IMG_CONTEXT>')).toBeUndefined();
    expect(t.decode([92544], { skipSpecial: true })).toBe('<mine>');
  });

  it('names the file in errors', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tok-'));
    await expect(InternLM2Tokenizer.fromDir(dir)).rejects.toThrow(
      /tokenizer\.model: cannot read tokenizer model/,
    );
    copyFileSync(path.join(fixtureDir, 'tokenizer.model'), path.join(dir, 'tokenizer.model'));
    writeFileSync(path.join(dir, 'tokenizer_config.json'), '{ nope');
    await expect(InternLM2Tokenizer.fromDir(dir)).rejects.toThrow(/tokenizer_config\.json: not valid JSON/);
    writeFileSync(
      path.join(dir, 'tokenizer_config.json'),
      JSON.stringify({ added_tokens_decoder: { abc: { content: 'x' } } }),
    );
    await expect(InternLM2Tokenizer.fromDir(dir)).rejects.toThrow(
      /added_tokens_decoder key "abc" is not a token id/,
    );
  });
});
