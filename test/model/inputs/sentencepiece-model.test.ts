import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ModelType,
  PieceType,
  defaultNormalizerSpec,
  defaultTrainerSpec,
  parseSentencePieceModel,
  serializeSentencePieceModel,
  type SentencePieceModel,
} from '../../../src/model/inputs/sentencepiece-model.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const realModelPath = path.resolve(repoRoot, '../shared/fixtures/internlm2-tokenizer/tokenizer.model');

function smallModel(): SentencePieceModel {
  return {
    pieces: [
      { piece: '<unk>', score: 0, type: PieceType.UNKNOWN },
      { piece: '<s>', score: 0, type: PieceType.CONTROL },
      { piece: '</s>', score: 0, type: PieceType.CONTROL },
      { piece: 'ab', score: -1.5, type: PieceType.NORMAL },
      { piece: '\ufeff', score: -2, type: PieceType.NORMAL },
      { piece: '[X]', score: 0, type: PieceType.USER_DEFINED },
      { piece: 'zz', score: -3, type: PieceType.UNUSED },
    ],
    trainerSpec: {
      ...defaultTrainerSpec(),
      modelType: ModelType.BPE,
      vocabSize: 7,
      padId: -1,
      byteFallback: true,
    },
    normalizerSpec: { ...defaultNormalizerSpec(), name: 'identity', addDummyPrefix: false },
    unknownFields: [],
  };
}

describe('parseSentencePieceModel on the real InternLM2 tokenizer.model', () => {
  const model = parseSentencePieceModel(readFileSync(realModelPath), realModelPath);

  it('reads the facts model-runtime.md §C lists', () => {
    expect(model.pieces).toHaveLength(92544);
    expect(model.trainerSpec.modelType).toBe(ModelType.BPE);
    expect(model.trainerSpec.byteFallback).toBe(true);
    expect(model.trainerSpec.splitDigits).toBe(true);
    expect(model.trainerSpec.padId).toBe(-1);
    expect(model.normalizerSpec.name).toBe('identity');
    expect(model.normalizerSpec.precompiledCharsmap).toHaveLength(0);
    expect(model.normalizerSpec.addDummyPrefix).toBe(false);
    expect(model.normalizerSpec.removeExtraWhitespaces).toBe(false);
    expect(model.pieces.slice(0, 4).map((p) => [p.piece, p.type])).toEqual([
      ['<unk>', PieceType.UNKNOWN],
      ['<s>', PieceType.CONTROL],
      ['</s>', PieceType.CONTROL],
      ['<0x00>', PieceType.BYTE],
    ]);
    expect(model.pieces.filter((p) => p.type === PieceType.BYTE)).toHaveLength(256);
    const userDefined = model.pieces.flatMap((p, id) => (p.type === PieceType.USER_DEFINED ? [id] : []));
    expect([userDefined.length, userDefined[0], userDefined.at(-1)]).toEqual([192, 92352, 92543]);
    expect(model.pieces[92543].piece).toBe('[UNUSED_TOKEN_146]');
  });

  it('keeps a piece that is U+FEFF (a default TextDecoder would strip it)', () => {
    expect(model.pieces[65402].piece).toBe('\ufeff');
  });

  it('round-trips through serialize', () => {
    const again = parseSentencePieceModel(serializeSentencePieceModel(model));
    // JSON comparison: toEqual over 92k objects is slow on CI cores.
    expect(JSON.stringify(again.pieces)).toBe(JSON.stringify(model.pieces));
    expect(again.trainerSpec).toEqual(model.trainerSpec);
    expect(again.normalizerSpec).toEqual(model.normalizerSpec);
  });
});

describe('serializeSentencePieceModel', () => {
  it('writes what the parser reads back (negative ids, floats, unused and user-defined pieces)', () => {
    const m = smallModel();
    const back = parseSentencePieceModel(serializeSentencePieceModel(m));
    expect(back.pieces).toEqual(m.pieces);
    expect(back.trainerSpec).toEqual(m.trainerSpec);
    expect(back.normalizerSpec).toEqual(m.normalizerSpec);
  });

  it('omits the NORMAL type (proto2 default) like SentencePiece does', () => {
    const m = smallModel();
    m.pieces = [{ piece: 'a', score: 0, type: PieceType.NORMAL }];
    const b = serializeSentencePieceModel(m);
    // field 1 (len 8): field 1 "a" + field 2 float, no field 3
    expect(Array.from(b.subarray(0, 10))).toEqual([0x0a, 8, 0x0a, 1, 0x61, 0x15, 0, 0, 0, 0]);
  });
});

describe('parseSentencePieceModel errors', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(0), /x\.model: not a SentencePiece model/],
    ['truncated length', Uint8Array.from([0x0a, 0x20, 0x0a]), /x\.model: malformed .* runs past the end/],
    ['bad piece type', Uint8Array.from([0x0a, 0x05, 0x0a, 0x01, 0x61, 0x18, 0x09]), /piece type 9/],
    ['bad wire type', Uint8Array.from([0x0b]), /unsupported wire type 3/],
    ['invalid UTF-8', Uint8Array.from([0x0a, 0x03, 0x0a, 0x01, 0xff]), /not valid UTF-8/],
  ];
  it.each(cases)('%s', (_name, bytes, re) => {
    expect(() => parseSentencePieceModel(bytes, 'x.model')).toThrow(re);
  });
});
