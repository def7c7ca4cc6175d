/**
 * The InternLM2 tokenizer as InternVL2 loads it (`AutoTokenizer.from_pretrained(..., use_fast=False)`): the slow
 * `InternLM2Tokenizer` (IVL `internvl/model/internlm2/tokenization_internlm2.py`) over SentencePiece, with the
 * transformers base class splitting added tokens (`tokenizer_config.json` `added_tokens_decoder`) out of the text
 * before SentencePiece sees it, and BOS `<s>` prepended (`add_bos_token=True`, `build_inputs_with_special_tokens`).
 *
 * Every id is looked up by name, never written down: the tiny test tokenizer has other ids than the real one.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseSentencePieceModel } from './sentencepiece-model.ts';
import { SentencePieceProcessor } from './sentencepiece-bpe.ts';
import { pyLstrip, pyRstrip } from '../../common/python-strings.ts';

/** One entry of `added_tokens_decoder` (transformers `AddedToken`). */
export interface AddedToken {
  id: number;
  content: string;
  /** Skipped by `skip_special_tokens=True`. */
  special: boolean;
  /** Strip whitespace to the left / right of the token when splitting (transformers semantics). */
  lstrip: boolean;
  rstrip: boolean;
}

/** The parts of `tokenizer_config.json` this module reads. */
export interface TokenizerConfigJson {
  added_tokens_decoder?: Record<
    string,
    { content: string; special?: boolean; lstrip?: boolean; rstrip?: boolean; [k: string]: unknown }
  >;
  additional_special_tokens?: string[];
  add_bos_token?: boolean;
  add_eos_token?: boolean;
  [k: string]: unknown;
}

/**
 * InternLM2 chat tokens living in the SentencePiece vocabulary as USER_DEFINED `[UNUSED_TOKEN_141..146]`, which
 * internlm2-chat's tokenizer_config.json exposes under these names (same ids).
 */
const INTERNLM2_CHAT_ALIASES: readonly (readonly [string, string])[] = [
  ['<|plugin|>', '[UNUSED_TOKEN_141]'],
  ['<|interpreter|>', '[UNUSED_TOKEN_142]'],
  ['<|action_end|>', '[UNUSED_TOKEN_143]'],
  ['<|action_start|>', '[UNUSED_TOKEN_144]'],
  ['<|im_end|>', '[UNUSED_TOKEN_145]'],
  ['<|im_start|>', '[UNUSED_TOKEN_146]'],
];

/** Tokens InternVL adds after the SentencePiece vocabulary, in order (IVL `train/internvl_chat_finetune.py`). */
export const INTERNVL_ADDED_TOKENS: readonly string[] = [
  '<img>',
  '</img>',
  '<IMG_CONTEXT>',
  '<quad>',
  '</quad>',
  '<ref>',
  '</ref>',
  '<box>',
  '</box>',
];

/**
 * The added tokens InternVL2's `tokenizer_config.json` declares, rebuilt from the SentencePiece model when a
 * folder has no config (e.g. the shared fixture holds only tokenizer.model): `<unk> <s> </s>` at their model
 * ids, the InternLM2 chat aliases at the ids of `[UNUSED_TOKEN_141..146]`, then InternVL's 9 tokens appended
 * from the end of the vocabulary. All special, no stripping — as OpenGVLab/InternVL2-2B's file.
 */
export function defaultInternVLAddedTokens(sp: SentencePieceProcessor): AddedToken[] {
  const tok = (id: number, content: string): AddedToken => ({
    id,
    content,
    special: true,
    lstrip: false,
    rstrip: false,
  });
  const out: AddedToken[] = [];
  for (const id of [sp.unkId, sp.bosId, sp.eosId]) if (id >= 0) out.push(tok(id, sp.idToPiece(id)));
  for (const [name, piece] of INTERNLM2_CHAT_ALIASES) {
    const id = sp.findPiece(piece);
    if (id !== undefined) out.push(tok(id, name));
  }
  INTERNVL_ADDED_TOKENS.forEach((name, k) => out.push(tok(sp.size + k, name)));
  return out;
}

/** Reads `added_tokens_decoder` of a tokenizer_config.json object; `origin` names the file in errors. */
export function addedTokensFromConfig(config: TokenizerConfigJson, origin: string): AddedToken[] {
  const dec = config.added_tokens_decoder;
  if (dec === undefined) return [];
  if (typeof dec !== 'object' || dec === null) {
    throw new Error(`${origin}: field "added_tokens_decoder" must be an object`);
  }
  return Object.entries(dec).map(([key, v]) => {
    const id = Number(key);
    if (!Number.isInteger(id) || id < 0) {
      throw new Error(`${origin}: added_tokens_decoder key "${key}" is not a token id`);
    }
    if (typeof v?.content !== 'string' || v.content.length === 0) {
      throw new Error(`${origin}: added_tokens_decoder["${key}"].content must be a non-empty string`);
    }
    return {
      id,
      content: v.content,
      special: v.special ?? false,
      lstrip: v.lstrip ?? false,
      rstrip: v.rstrip ?? false,
    };
  });
}

export interface EncodeOptions {
  /** Prepend BOS `<s>` (`add_special_tokens=True` with `add_bos_token=True`). Default true. */
  addBos?: boolean;
  /** Cut added tokens (`<|im_start|>`, `<IMG_CONTEXT>`, ...) out before SentencePiece. Default true. */
  splitSpecial?: boolean;
}

export class InternLM2Tokenizer {
  readonly sp: SentencePieceProcessor;
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  /** Added tokens by first UTF-16 unit, longest first, for leftmost-longest splitting. */
  private readonly addedByFirst = new Map<number, AddedToken[]>();
  /** transformers `all_special_tokens`: bos/eos/unk/pad + additional_special_tokens. */
  private readonly specialContents: Set<string>;
  private readonly totalIds: number;

  private constructor(
    sp: SentencePieceProcessor,
    addedTokens: readonly AddedToken[],
    additionalSpecial: readonly string[] | undefined,
  ) {
    this.sp = sp;
    for (const t of addedTokens) {
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
      const list = this.addedByFirst.get(t.content.charCodeAt(0)) ?? [];
      list.push(t);
      list.sort((a, b) => b.content.length - a.content.length);
      this.addedByFirst.set(t.content.charCodeAt(0), list);
    }
    const special = new Set<string>();
    for (const id of [sp.bosId, sp.eosId, sp.unkId]) if (id >= 0) special.add(this.idToToken(id)!);
    // InternLM2Tokenizer's pad_token defaults to '</s>', already included via eos.
    const extra = additionalSpecial ?? addedTokens.filter((t) => t.special).map((t) => t.content);
    for (const c of extra) special.add(c);
    this.specialContents = special;
    this.totalIds = Math.max(sp.size, ...addedTokens.map((t) => t.id + 1));
  }

  /**
   * `tokenizer.model` bytes plus the added tokens; without `addedTokens`, InternVL2's set is rebuilt from the
   * model (`defaultInternVLAddedTokens`).
   */
  static fromModelBytes(
    bytes: Uint8Array,
    addedTokens?: readonly AddedToken[],
    options: { origin?: string; additionalSpecialTokens?: readonly string[] } = {},
  ): InternLM2Tokenizer {
    const origin = options.origin ?? 'tokenizer.model';
    const sp = new SentencePieceProcessor(parseSentencePieceModel(bytes, origin), origin);
    return new InternLM2Tokenizer(
      sp,
      addedTokens ?? defaultInternVLAddedTokens(sp),
      options.additionalSpecialTokens,
    );
  }

  /**
   * Loads a tokenizer from a folder (tokenizer.model + optional tokenizer_config.json) or a tokenizer.model path
   * (then a tokenizer_config.json beside it is used if present).
   */
  static async fromDir(dirOrModel: string): Promise<InternLM2Tokenizer> {
    const isFile = (await stat(dirOrModel).catch(() => null))?.isFile() ?? false;
    const dir = isFile ? path.dirname(dirOrModel) : dirOrModel;
    const modelPath = isFile ? dirOrModel : path.join(dir, 'tokenizer.model');
    const bytes = await readFile(modelPath).catch((e: Error) => {
      throw new Error(`${modelPath}: cannot read tokenizer model (${e.message})`);
    });
    const configPath = path.join(dir, 'tokenizer_config.json');
    let config: TokenizerConfigJson | undefined;
    const text = await readFile(configPath, 'utf8').catch(() => undefined);
    if (text !== undefined) {
      try {
        config = JSON.parse(text) as TokenizerConfigJson;
      } catch (e) {
        throw new Error(`${configPath}: not valid JSON (${(e as Error).message})`);
      }
    }
    const added = config?.added_tokens_decoder ? addedTokensFromConfig(config, configPath) : undefined;
    return InternLM2Tokenizer.fromModelBytes(bytes, added, {
      origin: modelPath,
      additionalSpecialTokens: config?.additional_special_tokens,
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Vocabulary

  /** Number of ids (SentencePiece pieces plus added tokens beyond them) = `len(tokenizer)`. */
  get vocabSize(): number {
    return this.totalIds;
  }

  /** Pieces in tokenizer.model (`tokenizer.vocab_size`). */
  get spVocabSize(): number {
    return this.sp.size;
  }

  /** `convert_tokens_to_ids`: added token names first, then SentencePiece pieces; undefined when unknown. */
  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.sp.findPiece(token);
  }

  /** `convert_ids_to_tokens`: added token name, else the SentencePiece piece; undefined when out of range. */
  idToToken(id: number): string | undefined {
    const added = this.addedById.get(id);
    if (added) return added.content;
    return id >= 0 && id < this.sp.size ? this.sp.idToPiece(id) : undefined;
  }

  /** The id of a token that must exist, with a clear error otherwise. */
  requireId(token: string): number {
    const id = this.tokenToId(token);
    if (id === undefined) throw new Error(`${this.sp.origin}: tokenizer has no token "${token}"`);
    return id;
  }

  /** BOS as InternLM2Tokenizer reports it (`sp_model.bos_id()`). */
  get bosId(): number {
    return this.sp.bosId;
  }
  /** SentencePiece EOS `</s>`; generation stops on `<|im_end|>` instead (see `imEndId`). */
  get eosId(): number {
    return this.sp.eosId;
  }
  get unkId(): number {
    return this.sp.unkId;
  }
  get imStartId(): number {
    return this.requireId('<|im_start|>');
  }
  /** `<|im_end|>`: the chat template's separator and the stop token of `chat()`. */
  get imEndId(): number {
    return this.requireId('<|im_end|>');
  }
  get imgStartId(): number {
    return this.requireId('<img>');
  }
  get imgEndId(): number {
    return this.requireId('</img>');
  }
  /** `<IMG_CONTEXT>`: positions overwritten by vision embeddings. */
  get imgContextId(): number {
    return this.requireId('<IMG_CONTEXT>');
  }
  /** Same as `imgContextId` (name used in the issue text). */
  get imContextId(): number {
    return this.imgContextId;
  }

  /** Added tokens, in id order. */
  get addedTokens(): AddedToken[] {
    return [...this.addedById.values()].sort((a, b) => a.id - b.id);
  }

  isSpecial(id: number): boolean {
    const t = this.idToToken(id);
    return t !== undefined && this.specialContents.has(t);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Encoding

  /** Ids for `text` as `tokenizer(text).input_ids` in InternVL (BOS + added-token-aware SentencePiece). */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const { addBos = true, splitSpecial = true } = options;
    const out: number[] = addBos && this.bosId >= 0 ? [this.bosId] : [];
    if (!splitSpecial) {
      for (const id of this.sp.encode(text)) out.push(id);
      return out;
    }
    for (const chunk of this.splitAddedTokens(text)) {
      if (typeof chunk === 'string') {
        for (const id of this.sp.encode(chunk)) out.push(id);
      } else out.push(chunk.id);
    }
    return out;
  }

  /** Plain SentencePiece ids (`sp_model.encode(text)`: no BOS, no added-token splitting). */
  encodeRaw(text: string): number[] {
    return this.sp.encode(text);
  }

  /**
   * transformers `PreTrainedTokenizer.tokenize` splitting: added tokens matched leftmost-longest (`Trie.split`),
   * their lstrip/rstrip applied to the neighbouring text, empty text chunks dropped.
   */
  splitAddedTokens(text: string): (string | AddedToken)[] {
    const parts: (string | AddedToken)[] = [];
    let textStart = 0;
    for (let i = 0; i < text.length;) {
      const list = this.addedByFirst.get(text.charCodeAt(i));
      const hit = list?.find((t) => text.startsWith(t.content, i));
      if (!hit) {
        i++;
        continue;
      }
      if (i > textStart) parts.push(text.slice(textStart, i));
      parts.push(hit);
      i += hit.content.length;
      textStart = i;
    }
    if (textStart < text.length) parts.push(text.slice(textStart));
    for (let k = 0; k < parts.length; k++) {
      const t = parts[k];
      if (typeof t === 'string') continue;
      if (t.rstrip && typeof parts[k + 1] === 'string') parts[k + 1] = pyLstrip(parts[k + 1] as string);
      if (t.lstrip && typeof parts[k - 1] === 'string') parts[k - 1] = pyRstrip(parts[k - 1] as string);
    }
    return parts.filter((p) => p !== '');
  }

  // -------------------------------------------------------------------------------------------------------------
  // Decoding

  /**
   * Text for ids: SentencePiece decoding (byte pieces fused into UTF-8) with added tokens printed by name;
   * `skipSpecial` drops special tokens (BOS, `<|im_end|>`, `<IMG_CONTEXT>`, ...).
   */
  decode(ids: readonly number[], options: { skipSpecial?: boolean } = {}): string {
    let out = '';
    let run: number[] = [];
    const flush = () => {
      if (run.length > 0) out += this.sp.decode(run);
      run = [];
    };
    for (const id of ids) {
      this.checkId(id);
      const added = this.addedById.get(id);
      if (options.skipSpecial && this.isSpecial(id)) continue;
      if (added) {
        flush();
        out += added.content;
      } else run.push(id);
    }
    flush();
    return out;
  }

  /** Plain `sp_model.decode(ids)` (ids must be SentencePiece ids). */
  decodeRaw(ids: readonly number[]): string {
    for (const id of ids) this.checkId(id, true);
    return this.sp.decode(ids);
  }

  /**
   * `tokenizer.decode(ids, skip_special_tokens=...)` with InternLM2Tokenizer's quirks (transformers 4.37
   * `PreTrainedTokenizer._decode` + IVL `tokenization_internlm2.py` `convert_tokens_to_string`):
   * - `convert_tokens_to_string` always runs transformers' `clean_up_tokenization` (" ." → ".", " ," → ",",
   *   " 's" → "'s", ...) even though `clean_up_tokenization_spaces=False` — so a reply "5 %" stays, but
   *   "yes , it is" becomes "yes, it is";
   * - kept special tokens are spliced in with a space before each run of them;
   * - `_maybe_add_prefix_space` compares a string token to a set of ints, so it always prepends ' ', which the
   *   final `[1:]` removes again;
   * - added special tokens beyond the SentencePiece vocabulary (`<img>`, `<ref>`, `<box>`, ...) are "legacy added
   *   tokens": kept ones become separate chunks, joined with ' ' (`spaces_between_special_tokens=True`).
   * This is what `chat()` returns before `.split('<|im_end|>')[0].strip()`.
   */
  decodeLikeReference(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    const skip = options.skipSpecialTokens ?? true;
    const tokens: string[] = [];
    for (const id of ids) {
      this.checkId(id);
      if (skip && this.isSpecial(id)) continue;
      tokens.push(this.idToToken(id)!);
    }
    const legacy = (t: string) => {
      const a = this.addedByContent.get(t);
      return a !== undefined && (!this.specialContents.has(t) || a.id >= this.sp.size);
    };
    const subTexts: string[] = [];
    let current: string[] = [];
    for (const t of tokens) {
      if (legacy(t)) {
        if (current.length > 0) {
          const s = this.convertTokensToString(current);
          if (s.length > 0) subTexts.push(s);
          current = [];
        }
        subTexts.push(t);
      } else current.push(t);
    }
    if (current.length > 0) subTexts.push(this.convertTokensToString(current));
    return subTexts.join(' ');
  }

  /** IVL `InternLM2Tokenizer.convert_tokens_to_string`. */
  private convertTokensToString(tokens: readonly string[]): string {
    let out = '';
    let sub: string[] = [];
    let prevIsSpecial = false;
    for (const t of tokens) {
      if (this.specialContents.has(t)) {
        if (!prevIsSpecial) out += ' ';
        out += this.sp.decodePieces(sub) + t;
        prevIsSpecial = true;
        sub = [];
      } else {
        sub.push(t);
        prevIsSpecial = false;
      }
    }
    out += this.sp.decodePieces(sub);
    out = cleanUpTokenization(out);
    // _maybe_add_prefix_space: `tokens[0] not in self.no_prefix_space_tokens` is always true (str vs int ids).
    if (tokens.length > 0) out = ' ' + out;
    return out.slice(1);
  }

  private checkId(id: number, spOnly = false): void {
    const limit = spOnly ? this.sp.size : this.vocabSize;
    if (!Number.isInteger(id) || id < 0 || id >= limit || (!spOnly && this.idToToken(id) === undefined)) {
      throw new Error(`token id ${id} is not in the vocabulary (0..${limit - 1})`);
    }
  }
}

/** transformers `PreTrainedTokenizerBase.clean_up_tokenization`. */
export function cleanUpTokenization(s: string): string {
  return s
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
