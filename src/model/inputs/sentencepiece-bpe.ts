/**
 * SentencePiece BPE encoding and decoding, reproducing google/sentencepiece (v0.1.9x–0.2.x) exactly:
 * - `normalizer.cc` `Normalizer::Normalize` for the identity normaliser (no charsmap): optional dummy prefix,
 *   optional removal of extra spaces, ' ' → '▁'. Non-identity (NFKC charsmap) models are refused.
 * - `bpe_model.cc` `Model::Encode`: the text is cut into characters, USER_DEFINED pieces matched atomically
 *   (longest prefix, `PrefixMatcher`) and frozen; then adjacent pairs that form a piece go into a priority queue
 *   ordered by piece score (higher first), ties to the smaller left index; the top pair merges, stale entries
 *   are skipped, and the two new neighbour pairs are queued. UNUSED pieces formed by a merge are re-split
 *   (`rev_merge` resegmentation).
 * - `sentencepiece_processor.cc`: unknown pieces become their UTF-8 bytes as `<0xNN>` pieces when byte_fallback
 *   is on; `Decode` fuses runs of byte pieces into UTF-8 (each invalid byte → U+FFFD, as `IsValidDecodeUTF8`),
 *   control pieces decode to nothing, `<unk>` to the unk surface.
 *
 * Speed without changing the result: a merge can only join two adjacent characters c1 c2 if some piece contains
 * c1 c2 as neighbours. Where no piece does, no symbol can ever span that boundary, and since the queue order
 * within each side is unaffected by the other side, encoding the two sides separately gives the same ids. We cut
 * the text at such boundaries (derived from the vocabulary itself, so it is exact for any model, unlike
 * splitting on whitespace) and cache the ids of repeated segments.
 */
import { PieceType, type SentencePiece, type SentencePieceModel, ModelType } from './sentencepiece-model.ts';

const SPACE_SYMBOL = '\u2581';
const REPLACEMENT_CHAR = '\ufffd';
const SEGMENT_CACHE_LIMIT = 200_000;
/** Segments longer than this are encoded but not cached (they rarely repeat, and would pin memory). */
const SEGMENT_CACHE_MAX_LENGTH = 64;
const SCRATCH_KEEP_LIMIT = 1 << 16;

/** `String.prototype.toWellFormed` (ES2024, in Node 20) without needing the ES2024 lib typings. */
function toWellFormed(s: string): string {
  return (s as unknown as { toWellFormed(): string }).toWellFormed();
}

/**
 * Set of (code point, code point) pairs: open addressing over two Int32Arrays. A JS Set of numeric keys up to
 * 2^42 would box every key; this keeps the per-character boundary test cheap.
 */
export class CodePointPairSet {
  private a: Int32Array;
  private b: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 1024) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.a = new Int32Array(cap).fill(-1);
    this.b = new Int32Array(cap);
    this.mask = cap - 1;
  }

  private slot(cp1: number, cp2: number): number {
    return (Math.imul(cp1, 0x9e3779b1) ^ Math.imul(cp2 + 0x7f4a7c15, 0x85ebca77)) & this.mask;
  }

  has(cp1: number, cp2: number): boolean {
    for (let i = this.slot(cp1, cp2); ; i = (i + 1) & this.mask) {
      const x = this.a[i];
      if (x === -1) return false;
      if (x === cp1 && this.b[i] === cp2) return true;
    }
  }

  add(cp1: number, cp2: number): void {
    if ((this.size + 1) * 2 > this.a.length) this.grow();
    for (let i = this.slot(cp1, cp2); ; i = (i + 1) & this.mask) {
      const x = this.a[i];
      if (x === -1) {
        this.a[i] = cp1;
        this.b[i] = cp2;
        this.size++;
        return;
      }
      if (x === cp1 && this.b[i] === cp2) return;
    }
  }

  private grow(): void {
    const { a, b } = this;
    this.a = new Int32Array(a.length * 2).fill(-1);
    this.b = new Int32Array(a.length * 2);
    this.mask = this.a.length - 1;
    this.size = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== -1) this.add(a[i], b[i]);
  }
}

export class SentencePieceProcessor {
  readonly pieces: readonly SentencePiece[];
  /** `ModelInterface::pieces_`: NORMAL, USER_DEFINED and UNUSED pieces (the ones merges may form). */
  private readonly mergeable = new Map<string, number>();
  /** `reserved_id_map_`: CONTROL, UNKNOWN and BYTE pieces. */
  private readonly reserved = new Map<string, number>();
  private readonly scores: Float64Array;
  private readonly types: Uint8Array;
  /** USER_DEFINED pieces by their first UTF-16 unit, longest first. */
  private readonly userDefinedByFirst = new Map<number, string[]>();
  private readonly byteIds = new Int32Array(256).fill(-1);
  /** Adjacent code point pairs that occur inside some mergeable piece: the only places a merge can cross. */
  private readonly joinable = new CodePointPairSet(1 << 18);
  private readonly hasUnused: boolean;
  private readonly segmentCache = new Map<string, number[]>();
  private scratch = newScratch(256);
  /** Decoded surface of each piece (▁ → ' '); byte/control/unknown pieces are handled apart. */
  private readonly surfaces: string[];
  readonly unkId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly byteFallback: boolean;
  private readonly unkSurface: string;
  private readonly addDummyPrefix: boolean;
  private readonly removeExtraWhitespaces: boolean;
  private readonly escapeWhitespaces: boolean;

  constructor(
    readonly model: SentencePieceModel,
    readonly origin = 'tokenizer.model',
  ) {
    const { trainerSpec: ts, normalizerSpec: ns } = model;
    if (ts.modelType !== ModelType.BPE) {
      throw new Error(`${origin}: model_type ${ts.modelType} is not BPE (2); only BPE models are supported`);
    }
    if (ns.precompiledCharsmap.length > 0) {
      throw new Error(
        `${origin}: normalizer "${ns.name}" has a character map; only the identity normaliser is supported`,
      );
    }
    if (ts.treatWhitespaceAsSuffix) {
      throw new Error(`${origin}: treat_whitespace_as_suffix models are not supported`);
    }
    this.pieces = model.pieces;
    const n = model.pieces.length;
    this.scores = new Float64Array(n);
    this.types = new Uint8Array(n);
    let unk = -1;
    let hasUnused = false;
    for (let id = 0; id < n; id++) {
      const { piece, score, type } = model.pieces[id];
      this.scores[id] = score;
      this.types[id] = type;
      if (piece.length === 0) throw new Error(`${origin}: piece ${id} is empty`);
      const normal =
        type === PieceType.NORMAL || type === PieceType.USER_DEFINED || type === PieceType.UNUSED;
      const map = normal ? this.mergeable : this.reserved;
      if (map.has(piece)) throw new Error(`${origin}: piece "${piece}" (id ${id}) is defined twice`);
      map.set(piece, id);
      if (type === PieceType.UNKNOWN) unk = id;
      if (type === PieceType.UNUSED) hasUnused = true;
      if (type === PieceType.USER_DEFINED) {
        const first = piece.charCodeAt(0);
        const list = this.userDefinedByFirst.get(first) ?? [];
        list.push(piece);
        this.userDefinedByFirst.set(first, list);
      }
      if (type === PieceType.BYTE) {
        const m = /^<0x([0-9A-F]{2})>$/.exec(piece);
        if (!m) throw new Error(`${origin}: byte piece ${id} "${piece}" is not of the form <0xNN>`);
        this.byteIds[parseInt(m[1], 16)] = id;
      }
      if (normal) {
        let prev = -1;
        for (const ch of piece) {
          const cp = ch.codePointAt(0)!;
          if (prev >= 0) this.joinable.add(prev, cp);
          prev = cp;
        }
      }
    }
    if (unk < 0) throw new Error(`${origin}: no UNKNOWN piece`);
    for (const list of this.userDefinedByFirst.values()) list.sort((a, b) => b.length - a.length);
    this.hasUnused = hasUnused;
    this.surfaces = model.pieces.map((p) => p.piece.replaceAll(SPACE_SYMBOL, ' '));
    this.unkId = unk;
    const idOrMinus = (id: number) => (id >= 0 && id < n ? id : -1);
    this.bosId = idOrMinus(ts.bosId);
    this.eosId = idOrMinus(ts.eosId);
    this.padId = idOrMinus(ts.padId);
    this.byteFallback = ts.byteFallback;
    this.unkSurface = ts.unkSurface;
    this.addDummyPrefix = ns.addDummyPrefix;
    this.removeExtraWhitespaces = ns.removeExtraWhitespaces;
    this.escapeWhitespaces = ns.escapeWhitespaces;
  }

  get size(): number {
    return this.pieces.length;
  }

  /** `ModelInterface::PieceToId`: reserved pieces first, then normal ones, else the unk id. */
  pieceToId(piece: string): number {
    return this.reserved.get(piece) ?? this.mergeable.get(piece) ?? this.unkId;
  }

  /** The id of `piece`, or undefined when the model has no such piece (unlike pieceToId, no unk fallback). */
  findPiece(piece: string): number | undefined {
    return this.reserved.get(piece) ?? this.mergeable.get(piece);
  }

  idToPiece(id: number): string {
    const p = this.pieces[id];
    if (!p) throw new Error(`${this.origin}: id ${id} is out of range (0..${this.pieces.length - 1})`);
    return p.piece;
  }

  typeOf(id: number): PieceType {
    return this.types[id] as PieceType;
  }

  isControl(id: number): boolean {
    return this.types[id] === PieceType.CONTROL;
  }

  isByte(id: number): boolean {
    return this.types[id] === PieceType.BYTE;
  }

  isUnknown(id: number): boolean {
    return this.types[id] === PieceType.UNKNOWN;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Encoding

  /** `Normalizer::Normalize` for a model without a character map. */
  normalize(text: string): string {
    if (text.length === 0) return '';
    let s = text;
    if (this.removeExtraWhitespaces) {
      // Leading and trailing spaces dropped, inner runs collapsed to one (ASCII space only, as SentencePiece).
      s = s.replace(/^ +| +$/g, '').replace(/ {2,}/g, ' ');
      if (s.length === 0) return '';
    }
    if (this.addDummyPrefix) s = ' ' + s;
    // Lone surrogates cannot be UTF-8; SentencePiece never sees them (Python refuses to encode them), map to U+FFFD.
    s = toWellFormed(s);
    return this.escapeWhitespaces ? s.replaceAll(' ', SPACE_SYMBOL) : s;
  }

  /** Ids for `text`, exactly as `SentencePieceProcessor.encode(text)` (out_type=int). */
  encode(text: string): number[] {
    const normalized = this.normalize(text);
    const out: number[] = [];
    this.encodeNormalized(normalized, out, true);
    return out;
  }

  /** Pieces for `text`, as `encode(text, out_type=str)`. */
  encodeAsPieces(text: string): string[] {
    return this.encode(text).map((id) => this.idToPiece(id));
  }

  /**
   * Encodes already-normalised text into `out`. `segmented=false` runs one BPE over the whole string (the
   * reference algorithm, used by tests to check that segmentation changes nothing).
   */
  encodeNormalized(s: string, out: number[], segmented: boolean): void {
    const from = out.length;
    if (segmented) this.encodeSegments(s, out);
    else this.bpe(s, out);
    if (!this.byteFallback) collapseUnknownRuns(out, from, this.unkId);
  }

  private encodeSegments(s: string, out: number[]): void {
    let start = 0;
    let prevCp = -1;
    for (let i = 0; i < s.length;) {
      const cp = s.codePointAt(i)!;
      if (prevCp >= 0 && !this.joinable.has(prevCp, cp)) {
        this.encodeSegment(s.slice(start, i), out);
        start = i;
      }
      prevCp = cp;
      i += cp > 0xffff ? 2 : 1;
    }
    if (start < s.length) this.encodeSegment(s.slice(start), out);
  }

  private encodeSegment(seg: string, out: number[]): void {
    let ids = this.segmentCache.get(seg);
    if (ids === undefined) {
      ids = [];
      this.bpe(seg, ids);
      if (seg.length <= SEGMENT_CACHE_MAX_LENGTH) {
        if (this.segmentCache.size >= SEGMENT_CACHE_LIMIT) this.segmentCache.clear();
        this.segmentCache.set(seg, ids);
      }
    }
    for (let k = 0; k < ids.length; k++) out.push(ids[k]);
  }

  /** Length (UTF-16 units) of the longest USER_DEFINED piece starting at `i`, or 0. */
  private matchUserDefined(s: string, i: number): number {
    const list = this.userDefinedByFirst.get(s.charCodeAt(i));
    if (list === undefined) return 0;
    for (const p of list) if (s.startsWith(p, i)) return p.length;
    return 0;
  }

  /** `bpe_model.cc` `Model::Encode` on one string, appending ids (with byte fallback) to `out`. */
  private bpe(s: string, out: number[]): void {
    if (s.length === 0) return;
    // Symbols: [start, end) in UTF-16 units of s; linked list via prev/next; frozen = USER_DEFINED match.
    // Buffers are reused across calls (most segments are a few characters long).
    let scratch = this.scratch;
    if (scratch.start.length < s.length) {
      scratch = newScratch(s.length);
      // Keep grown buffers for later calls only while they stay small (a whole-text run would pin ~100 MB).
      if (s.length <= SCRATCH_KEEP_LIMIT) this.scratch = scratch;
    }
    const { start, end, prev, next, frozen, heap } = scratch;
    frozen.fill(0, 0, s.length);
    heap.reset();
    let n = 0;
    for (let i = 0; i < s.length;) {
      let len = this.userDefinedByFirst.size > 0 ? this.matchUserDefined(s, i) : 0;
      if (len > 0) frozen[n] = 1;
      else len = s.codePointAt(i)! > 0xffff ? 2 : 1;
      start[n] = i;
      end[n] = i + len;
      prev[n] = n - 1;
      next[n] = i + len < s.length ? n + 1 : -1;
      n++;
      i += len;
    }

    const revMerge = this.hasUnused ? new Map<string, [string, string]>() : undefined;
    const addPair = (left: number, right: number) => {
      if (left < 0 || right < 0 || frozen[left] || frozen[right]) return;
      const piece = s.slice(start[left], end[right]);
      const id = this.mergeable.get(piece);
      if (id === undefined) return;
      heap.push(this.scores[id], left, right, end[right] - start[left]);
      if (revMerge && this.types[id] === PieceType.UNUSED) {
        revMerge.set(piece, [s.slice(start[left], end[left]), s.slice(start[right], end[right])]);
      }
    };
    for (let i = 1; i < n; i++) addPair(i - 1, i);

    while (heap.size > 0) {
      const top = heap.pop();
      const left = heap.leftOf(top);
      const right = heap.rightOf(top);
      // Stale entry: one side already merged away (empty), or the right side grew since it was queued.
      if (end[left] === start[left] || end[right] === start[right]) continue;
      if (end[left] - start[left] + (end[right] - start[right]) !== heap.sizeOf(top)) continue;
      end[left] = end[right];
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      start[right] = end[right]; // mark empty
      addPair(prev[left], left);
      addPair(left, next[left]);
    }

    for (let i = 0; i !== -1 && n > 0; i = next[i]) {
      this.emit(s.slice(start[i], end[i]), out, revMerge);
    }
  }

  /** `resegment` + byte fallback for one final symbol. */
  private emit(piece: string, out: number[], revMerge: Map<string, [string, string]> | undefined): void {
    const id = this.pieceToId(piece);
    if (revMerge && this.types[id] === PieceType.UNUSED) {
      const parts = revMerge.get(piece);
      if (parts) {
        this.emit(parts[0], out, revMerge);
        this.emit(parts[1], out, revMerge);
        return;
      }
    }
    if (id === this.unkId && this.byteFallback) {
      for (const b of new TextEncoder().encode(piece)) {
        const bid = this.byteIds[b];
        out.push(bid >= 0 ? bid : this.unkId);
      }
      return;
    }
    out.push(id);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Decoding

  /** Text for ids, exactly as `SentencePieceProcessor.decode(ids)`. */
  decode(ids: readonly number[]): string {
    const stripBosSpace = this.addDummyPrefix || this.removeExtraWhitespaces;
    const parts: string[] = [];
    let empty = true;
    let bytes: number[] = [];
    for (const id of ids) {
      if (id < 0 || id >= this.pieces.length || !Number.isInteger(id)) {
        throw new Error(`${this.origin}: id ${id} is out of range (0..${this.pieces.length - 1})`);
      }
      const type = this.types[id];
      if (type === PieceType.BYTE) {
        bytes.push(parseInt(this.pieces[id].piece.slice(3, 5), 16));
        continue;
      }
      if (bytes.length > 0) {
        const t = decodeBytesLikeSentencePiece(bytes);
        parts.push(t);
        empty &&= t.length === 0;
        bytes = [];
      }
      const t: string =
        type === PieceType.NORMAL && !(empty && stripBosSpace)
          ? this.surfaces[id]
          : this.surface(this.pieces[id].piece, id, empty);
      parts.push(t);
      empty &&= t.length === 0;
    }
    if (bytes.length > 0) parts.push(decodeBytesLikeSentencePiece(bytes));
    return parts.join('');
  }

  /** Text for pieces, as `decode_pieces` (a piece not in the model is printed as itself). */
  decodePieces(pieces: readonly string[]): string {
    return this.decodeEntries(pieces.map((p) => [p, this.pieceToId(p)]));
  }

  private decodeEntries(entries: readonly (readonly [string, number])[]): string {
    let text = '';
    let bytes: number[] = [];
    const flushBytes = () => {
      if (bytes.length > 0) text += decodeBytesLikeSentencePiece(bytes);
      bytes = [];
    };
    for (const [piece, id] of entries) {
      if (this.types[id] === PieceType.BYTE) {
        bytes.push(parseInt(piece.slice(3, 5), 16));
        continue;
      }
      flushBytes();
      text += this.surface(piece, id, text.length === 0);
    }
    flushBytes();
    return text;
  }

  /** `DecodeSentencePiece` in sentencepiece_processor.cc. */
  private surface(piece: string, id: number, isBosWs: boolean): string {
    const type = this.types[id];
    if (type === PieceType.CONTROL) return '';
    if (type === PieceType.UNKNOWN) return this.pieces[id].piece === piece ? this.unkSurface : piece;
    let p = piece;
    if (isBosWs && (this.addDummyPrefix || this.removeExtraWhitespaces) && p.startsWith(SPACE_SYMBOL)) {
      p = p.slice(SPACE_SYMBOL.length);
    }
    return p.replaceAll(SPACE_SYMBOL, ' ');
  }
}

/**
 * SentencePiece fuses consecutive unknown characters into one `<unk>` (checked against Python SentencePiece:
 * 'zz' → one unk piece 'zz'). Only visible without byte fallback. Works in place on out[from..].
 */
function collapseUnknownRuns(out: number[], from: number, unkId: number): void {
  let w = from;
  for (let r = from; r < out.length; r++) {
    if (out[r] === unkId && w > from && out[w - 1] === unkId) continue;
    out[w++] = out[r];
  }
  out.length = w;
}

/**
 * UTF-8 bytes → text the way SentencePiece's `ProcessBytePieces` does: each valid character as is, each byte that
 * does not start a valid character → U+FFFD on its own (TextDecoder would fold a truncated sequence into one).
 */
export function decodeBytesLikeSentencePiece(bytes: readonly number[]): string {
  let out = '';
  let i = 0;
  const trail = (k: number) => i + k < bytes.length && (bytes[i + k] & 0xc0) === 0x80;
  const valid = (cp: number) => cp < 0xd800 || (cp >= 0xe000 && cp <= 0x10ffff);
  while (i < bytes.length) {
    const b = bytes[i];
    let cp = -1;
    let len = 1;
    if (b < 0x80) cp = b;
    else if ((b & 0xe0) === 0xc0 && trail(1)) {
      const c = ((b & 0x1f) << 6) | (bytes[i + 1] & 0x3f);
      if (c >= 0x80) [cp, len] = [c, 2];
    } else if ((b & 0xf0) === 0xe0 && trail(1) && trail(2)) {
      const c = ((b & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f);
      if (c >= 0x800 && valid(c)) [cp, len] = [c, 3];
    } else if ((b & 0xf8) === 0xf0 && trail(1) && trail(2) && trail(3)) {
      const c =
        ((b & 0x07) << 18) |
        ((bytes[i + 1] & 0x3f) << 12) |
        ((bytes[i + 2] & 0x3f) << 6) |
        (bytes[i + 3] & 0x3f);
      if (c >= 0x10000 && valid(c)) [cp, len] = [c, 4];
    }
    out += cp >= 0 ? String.fromCodePoint(cp) : REPLACEMENT_CHAR;
    i += len;
  }
  return out;
}

/**
 * Max-heap of candidate merges: higher score first, ties to the smaller left index (SentencePiece's
 * `SymbolPairComparator`). Entries live in parallel typed arrays; the heap holds entry numbers.
 */
interface Scratch {
  start: Int32Array;
  end: Int32Array;
  prev: Int32Array;
  next: Int32Array;
  frozen: Uint8Array;
  heap: PairHeap;
}

function newScratch(n: number): Scratch {
  return {
    start: new Int32Array(n),
    end: new Int32Array(n),
    prev: new Int32Array(n),
    next: new Int32Array(n),
    frozen: new Uint8Array(n),
    heap: new PairHeap(n),
  };
}

class PairHeap {
  private score: Float64Array;
  private left: Int32Array;
  private right: Int32Array;
  private len: Int32Array;
  private heap: Int32Array;
  private entries = 0;
  size = 0;

  constructor(expected: number) {
    const cap = Math.max(16, expected * 2);
    this.score = new Float64Array(cap);
    this.left = new Int32Array(cap);
    this.right = new Int32Array(cap);
    this.len = new Int32Array(cap);
    this.heap = new Int32Array(cap);
  }

  reset(): void {
    this.entries = 0;
    this.size = 0;
  }

  leftOf(e: number): number {
    return this.left[e];
  }
  rightOf(e: number): number {
    return this.right[e];
  }
  sizeOf(e: number): number {
    return this.len[e];
  }

  private grow(): void {
    const cap = this.score.length * 2;
    const g = <T extends Float64Array | Int32Array>(a: T, ctor: new (n: number) => T): T => {
      const b = new ctor(cap);
      b.set(a);
      return b;
    };
    this.score = g(this.score, Float64Array);
    this.left = g(this.left, Int32Array);
    this.right = g(this.right, Int32Array);
    this.len = g(this.len, Int32Array);
    this.heap = g(this.heap, Int32Array);
  }

  /** True when entry a must come out before entry b. */
  private before(a: number, b: number): boolean {
    const sa = this.score[a];
    const sb = this.score[b];
    return sa > sb || (sa === sb && this.left[a] < this.left[b]);
  }

  push(score: number, left: number, right: number, len: number): void {
    if (this.entries === this.score.length) this.grow();
    const e = this.entries++;
    this.score[e] = score;
    this.left[e] = left;
    this.right[e] = right;
    this.len[e] = len;
    const h = this.heap;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(e, h[parent])) break;
      h[i] = h[parent];
      i = parent;
    }
    h[i] = e;
  }

  pop(): number {
    const h = this.heap;
    const top = h[0];
    const last = h[--this.size];
    let i = 0;
    const n = this.size;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.before(h[child + 1], h[child])) child++;
      if (!this.before(h[child], last)) break;
      h[i] = h[child];
      i = child;
    }
    h[i] = last;
    return top;
  }
}
