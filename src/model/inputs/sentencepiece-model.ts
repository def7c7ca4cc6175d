/**
 * Reader and writer for SentencePiece's `tokenizer.model` (protobuf `sentencepiece.ModelProto`, proto2).
 * Field numbers follow google/sentencepiece `src/sentencepiece_model.proto`. Hand-written varint code: the file
 * is a flat list of pieces plus two small spec messages, so a generic protobuf runtime buys nothing.
 *
 * Fields we do not interpret are kept as raw (field, wire type, bytes) triples and written back unchanged, so
 * parse → serialize keeps every setting a trainer wrote (only the order of fields may change).
 */

/** `ModelProto.SentencePiece.Type`. */
export const PieceType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;
export type PieceType = (typeof PieceType)[keyof typeof PieceType];

/** `TrainerSpec.ModelType`. */
export const ModelType = { UNIGRAM: 1, BPE: 2, WORD: 3, CHAR: 4 } as const;
export type ModelType = (typeof ModelType)[keyof typeof ModelType];

export interface SentencePiece {
  piece: string;
  /** float32 in the file; BPE uses it as merge priority (higher merges first). */
  score: number;
  type: PieceType;
}

/** A protobuf field we carry through without interpreting it. */
export interface UnknownField {
  field: number;
  wire: number;
  /** The encoded value (varint bytes, fixed bytes, or the length-delimited payload without its length). */
  raw: Uint8Array;
}

/** The TrainerSpec fields that matter for encoding, plus the ids/pieces of the reserved symbols. */
export interface TrainerSpec {
  modelType: ModelType;
  vocabSize: number;
  byteFallback: boolean;
  /** Training-time only: BPE encoding does not split digits itself (pieces simply never hold two digits). */
  splitDigits: boolean;
  treatWhitespaceAsSuffix: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  unkPiece: string;
  bosPiece: string;
  eosPiece: string;
  padPiece: string;
  /** What `decode` prints for `<unk>` (default " ⁇ "). */
  unkSurface: string;
  userDefinedSymbols: string[];
  controlSymbols: string[];
  unknownFields: UnknownField[];
}

export interface NormalizerSpec {
  name: string;
  /** Empty for the `identity` normaliser; anything else is an NFKC-style rule table. */
  precompiledCharsmap: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
  unknownFields: UnknownField[];
}

export interface SentencePieceModel {
  pieces: SentencePiece[];
  trainerSpec: TrainerSpec;
  normalizerSpec: NormalizerSpec;
  unknownFields: UnknownField[];
}

/** proto2 defaults (sentencepiece_model.proto), used when a field is absent. */
export function defaultTrainerSpec(): TrainerSpec {
  return {
    modelType: ModelType.UNIGRAM,
    vocabSize: 8000,
    byteFallback: false,
    splitDigits: false,
    treatWhitespaceAsSuffix: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    unkPiece: '<unk>',
    bosPiece: '<s>',
    eosPiece: '</s>',
    padPiece: '<pad>',
    unkSurface: ' \u2047 ',
    userDefinedSymbols: [],
    controlSymbols: [],
    unknownFields: [],
  };
}

export function defaultNormalizerSpec(): NormalizerSpec {
  return {
    name: '',
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
    unknownFields: [],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

// ignoreBOM: a piece may be U+FEFF itself (InternLM2 has one), which a default TextDecoder would strip.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    readonly origin: string,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  fail(what: string): never {
    throw new Error(`${this.origin}: malformed SentencePiece model at byte ${this.pos}: ${what}`);
  }

  varint(): number {
    // Values in this format fit in 53 bits (ids, sizes, enums, negative int32 as 10-byte varints); read them as
    // numbers, folding negative int32s back.
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    this.fail('varint longer than 10 bytes');
  }

  /** An int32 field: negative values arrive sign-extended to 10 bytes; only the low 32 bits count. */
  int32(): number {
    let low = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++];
      if (i < 5) low = low | ((b & 0x7f) << (7 * i)) | 0;
      if ((b & 0x80) === 0) return low;
    }
    this.fail('varint longer than 10 bytes');
  }

  float32(): number {
    if (this.pos + 4 > this.end) this.fail('truncated float');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.end) this.fail(`length ${len} runs past the end`);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  string(): string {
    const b = this.bytes();
    try {
      return utf8.decode(b);
    } catch {
      this.fail('string field is not valid UTF-8');
    }
  }

  /** Reads the value of a field we do not interpret, returning its raw bytes. */
  skip(wire: number): Uint8Array {
    const start = this.pos;
    switch (wire) {
      case 0:
        this.varint();
        return this.buf.subarray(start, this.pos);
      case 1:
        this.pos += 8;
        break;
      case 2:
        return this.bytes();
      case 5:
        this.pos += 4;
        break;
      default:
        this.fail(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) this.fail('truncated fixed-size field');
    return this.buf.subarray(start, this.pos);
  }

  /** Iterates over (field, wire) tags until the end of this message. */
  *fields(): Generator<[number, number]> {
    while (this.pos < this.end) {
      const tag = this.varint();
      yield [Math.floor(tag / 8), tag & 7];
    }
  }

  sub(): Reader {
    const len = this.varint();
    if (this.pos + len > this.end) this.fail(`sub-message length ${len} runs past the end`);
    const r = new Reader(this.buf, this.origin, this.pos, this.pos + len);
    this.pos += len;
    return r;
  }
}

function readPiece(r: Reader): SentencePiece {
  const p: SentencePiece = { piece: '', score: 0, type: PieceType.NORMAL };
  for (const [field, wire] of r.fields()) {
    if (field === 1 && wire === 2) p.piece = r.string();
    else if (field === 2 && wire === 5) p.score = r.float32();
    else if (field === 3 && wire === 0) {
      const t = r.varint();
      if (t < 1 || t > 6) r.fail(`piece type ${t} is not a SentencePiece.Type`);
      p.type = t as PieceType;
    } else r.skip(wire);
  }
  return p;
}

function readTrainerSpec(r: Reader): TrainerSpec {
  const s = defaultTrainerSpec();
  for (const [field, wire] of r.fields()) {
    const start = r.pos;
    switch (field * 8 + wire) {
      case 3 * 8 + 0:
        s.modelType = r.varint() as ModelType;
        break;
      case 4 * 8 + 0:
        s.vocabSize = r.int32();
        break;
      case 24 * 8 + 0:
        s.treatWhitespaceAsSuffix = r.varint() !== 0;
        break;
      case 25 * 8 + 0:
        s.splitDigits = r.varint() !== 0;
        break;
      case 30 * 8 + 2:
        s.controlSymbols.push(r.string());
        break;
      case 31 * 8 + 2:
        s.userDefinedSymbols.push(r.string());
        break;
      case 35 * 8 + 0:
        s.byteFallback = r.varint() !== 0;
        break;
      case 40 * 8 + 0:
        s.unkId = r.int32();
        break;
      case 41 * 8 + 0:
        s.bosId = r.int32();
        break;
      case 42 * 8 + 0:
        s.eosId = r.int32();
        break;
      case 43 * 8 + 0:
        s.padId = r.int32();
        break;
      case 44 * 8 + 2:
        s.unkSurface = r.string();
        break;
      case 45 * 8 + 2:
        s.unkPiece = r.string();
        break;
      case 46 * 8 + 2:
        s.bosPiece = r.string();
        break;
      case 47 * 8 + 2:
        s.eosPiece = r.string();
        break;
      case 48 * 8 + 2:
        s.padPiece = r.string();
        break;
      default:
        r.pos = start;
        s.unknownFields.push({ field, wire, raw: r.skip(wire).slice() });
    }
  }
  return s;
}

function readNormalizerSpec(r: Reader): NormalizerSpec {
  const s = defaultNormalizerSpec();
  for (const [field, wire] of r.fields()) {
    if (field === 1 && wire === 2) s.name = r.string();
    else if (field === 2 && wire === 2) s.precompiledCharsmap = r.bytes().slice();
    else if (field === 3 && wire === 0) s.addDummyPrefix = r.varint() !== 0;
    else if (field === 4 && wire === 0) s.removeExtraWhitespaces = r.varint() !== 0;
    else if (field === 5 && wire === 0) s.escapeWhitespaces = r.varint() !== 0;
    else s.unknownFields.push({ field, wire, raw: r.skip(wire).slice() });
  }
  return s;
}

/** Parses a `tokenizer.model`. `origin` names the file in error messages. */
export function parseSentencePieceModel(bytes: Uint8Array, origin = 'tokenizer.model'): SentencePieceModel {
  // A Node Buffer's slice() shares memory; view it as a plain Uint8Array so kept fields are real copies.
  const r = new Reader(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), origin);
  const model: SentencePieceModel = {
    pieces: [],
    trainerSpec: defaultTrainerSpec(),
    normalizerSpec: defaultNormalizerSpec(),
    unknownFields: [],
  };
  for (const [field, wire] of r.fields()) {
    if (field === 1 && wire === 2) model.pieces.push(readPiece(r.sub()));
    else if (field === 2 && wire === 2) model.trainerSpec = readTrainerSpec(r.sub());
    else if (field === 3 && wire === 2) model.normalizerSpec = readNormalizerSpec(r.sub());
    else model.unknownFields.push({ field, wire, raw: r.skip(wire).slice() });
  }
  if (model.pieces.length === 0) {
    throw new Error(`${origin}: not a SentencePiece model (no pieces found)`);
  }
  return model;
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

class Writer {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  varint(v: number): void {
    const out: number[] = [];
    if (v < 0) {
      // int32 negatives are written sign-extended to 64 bits (10 bytes), as protobuf does.
      let big = BigInt.asUintN(64, BigInt(v));
      while (big >= 0x80n) {
        out.push(Number(big & 0x7fn) | 0x80);
        big >>= 7n;
      }
      out.push(Number(big));
    } else {
      while (v >= 0x80) {
        out.push((v % 128) | 0x80);
        v = Math.floor(v / 128);
      }
      out.push(v);
    }
    this.push(Uint8Array.from(out));
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  intField(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }

  boolField(field: number, v: boolean): void {
    this.intField(field, v ? 1 : 0);
  }

  bytesField(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    this.push(b);
  }

  stringField(field: number, s: string): void {
    this.bytesField(field, utf8Encoder.encode(s));
  }

  floatField(field: number, v: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
  }

  unknown(fields: readonly UnknownField[]): void {
    for (const f of fields) {
      if (f.wire === 2) this.bytesField(f.field, f.raw);
      else {
        this.tag(f.field, f.wire);
        this.push(f.raw);
      }
    }
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

function writeTrainerSpec(s: TrainerSpec): Uint8Array {
  const w = new Writer();
  w.intField(3, s.modelType);
  w.intField(4, s.vocabSize);
  w.boolField(24, s.treatWhitespaceAsSuffix);
  w.boolField(25, s.splitDigits);
  for (const c of s.controlSymbols) w.stringField(30, c);
  for (const u of s.userDefinedSymbols) w.stringField(31, u);
  w.boolField(35, s.byteFallback);
  w.intField(40, s.unkId);
  w.intField(41, s.bosId);
  w.intField(42, s.eosId);
  w.intField(43, s.padId);
  w.stringField(44, s.unkSurface);
  w.stringField(45, s.unkPiece);
  w.stringField(46, s.bosPiece);
  w.stringField(47, s.eosPiece);
  w.stringField(48, s.padPiece);
  w.unknown(s.unknownFields);
  return w.finish();
}

function writeNormalizerSpec(s: NormalizerSpec): Uint8Array {
  const w = new Writer();
  w.stringField(1, s.name);
  if (s.precompiledCharsmap.length > 0) w.bytesField(2, s.precompiledCharsmap);
  w.boolField(3, s.addDummyPrefix);
  w.boolField(4, s.removeExtraWhitespaces);
  w.boolField(5, s.escapeWhitespaces);
  w.unknown(s.unknownFields);
  return w.finish();
}

/** Serialises a model to the `tokenizer.model` wire format that SentencePiece itself loads. */
export function serializeSentencePieceModel(model: SentencePieceModel): Uint8Array {
  const w = new Writer();
  for (const p of model.pieces) {
    const pw = new Writer();
    pw.stringField(1, p.piece);
    pw.floatField(2, p.score);
    // NORMAL is the proto2 default; SentencePiece's own writer omits it too.
    if (p.type !== PieceType.NORMAL) pw.intField(3, p.type);
    w.bytesField(1, pw.finish());
  }
  w.bytesField(2, writeTrainerSpec(model.trainerSpec));
  w.bytesField(3, writeNormalizerSpec(model.normalizerSpec));
  w.unknown(model.unknownFields);
  return w.finish();
}
