/**
 * A tiny SentencePiece BPE tokenizer, made here and now, so the tiny test checkpoint runs with nothing
 * downloaded. It is a real `tokenizer.model` (same protobuf, same piece layout as InternLM2's: `<unk> <s> </s>`,
 * the 256 byte-fallback pieces, learned merges, single characters, USER_DEFINED chat pieces) and a real
 * `tokenizer_config.json` whose `added_tokens_decoder` has InternVL2's token names — only the ids differ, which is
 * why nothing in this project may hard-code ids.
 *
 * The merges are learned deterministically from a small built-in English text with plain BPE: words are
 * whitespace-separated with a leading '▁' (SentencePiece's `split_by_whitespace`), digits are never merged
 * (`split_digits`), the most frequent adjacent pair merges first, ties to the smaller piece string.
 */
import {
  ModelType,
  PieceType,
  defaultNormalizerSpec,
  defaultTrainerSpec,
  serializeSentencePieceModel,
  type SentencePiece,
} from './sentencepiece-model.ts';
import { internLM2TokenizerConfig } from './tokenizer-config-json.ts';
import { INTERNVL_ADDED_TOKENS, type TokenizerConfigJson } from './tokenizer.ts';

const CORPUS = `The image shows a small red house next to a tall green tree. A man is standing in front of the house and
a woman is sitting on a chair. What is the color of the house? The house is red. How many people are in the image?
There are two people in the image. Answer the question using a single word or phrase.
The chart shows the number of students in each year. The total number of students is 1250 and the value for the
first year is 300. Which year has the highest value? The answer is the third year. Please answer yes or no.
This document is an invoice. The invoice date is March 3, 2024 and the total amount due is $19.99. The name of the
company is written at the top of the page. What is the title of the document? Answer with the option's letter from
the given choices directly. Carefully watch the video and pay attention to the cause and sequence of events, the
detail and movement of objects, and the action and pose of persons. Based on your observations, select the best
option that accurately addresses the question. Please provide the bounding box coordinate of the region this
sentence describes. You are an AI assistant whose name is InternVL. The user asks a question about the picture and
the assistant gives a short answer. The text in the sign says open from nine to five on weekdays. The cat is on the
table and the dog is under the table. Is there a train in this image? Yes, there is a train on the left side.
The system message tells the model what to do. The map shows the river, the bridge and the road to the city.`;

/** Pieces InternLM2 keeps as USER_DEFINED (matched atomically); 141..146 are the chat tokens' pieces. */
const USER_DEFINED = [
  '——',
  '……',
  '[UNUSED_TOKEN_141]',
  '[UNUSED_TOKEN_142]',
  '[UNUSED_TOKEN_143]',
  '[UNUSED_TOKEN_144]',
  '[UNUSED_TOKEN_145]',
  '[UNUSED_TOKEN_146]',
];

/** The names internlm2-chat's tokenizer_config.json gives to `[UNUSED_TOKEN_141..146]`. */
const CHAT_TOKEN_NAMES = [
  '<|plugin|>',
  '<|interpreter|>',
  '<|action_end|>',
  '<|action_start|>',
  '<|im_end|>',
  '<|im_start|>',
];

const SPACE = '\u2581';
const DEFAULT_MERGES = 400;

export interface TinyTokenizer {
  /** `tokenizer.model` bytes. */
  model: Uint8Array;
  /** `tokenizer_config.json` content. */
  tokenizerConfig: TokenizerConfigJson;
  /** Ids in all (SentencePiece pieces + added tokens) = the LLM's embedding rows. */
  vocabSize: number;
}

const isDigit = (s: string) => /^[0-9]$/u.test(s);

/** Plain BPE merges over `words` (arrays of characters), most frequent pair first, ties to the smaller string. */
export function learnBpeMerges(words: ReadonlyMap<string, number>, count: number): string[] {
  const seqs = [...words.entries()].map(([w, n]) => ({ syms: [...w], n }));
  const merges: string[] = [];
  for (let m = 0; m < count; m++) {
    const freq = new Map<string, { n: number; a: string; b: string }>();
    for (const { syms, n } of seqs) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const a = syms[i];
        const b = syms[i + 1];
        if (isDigit(a.slice(-1)) && isDigit(b[0])) continue; // split_digits
        const key = a + '\u0000' + b;
        const e = freq.get(key);
        if (e) e.n += n;
        else freq.set(key, { n, a, b });
      }
    }
    let best: { n: number; a: string; b: string } | undefined;
    for (const e of freq.values()) {
      if (
        !best ||
        e.n > best.n ||
        (e.n === best.n && (e.a + e.b < best.a + best.b || (e.a + e.b === best.a + best.b && e.a < best.a)))
      ) {
        best = e;
      }
    }
    if (!best || best.n < 2) break;
    const merged = best.a + best.b;
    if (!merges.includes(merged)) merges.push(merged);
    for (const s of seqs) {
      const out: string[] = [];
      for (let i = 0; i < s.syms.length; i++) {
        if (i + 1 < s.syms.length && s.syms[i] === best.a && s.syms[i + 1] === best.b) {
          out.push(merged);
          i++;
        } else out.push(s.syms[i]);
      }
      s.syms = out;
    }
  }
  return merges;
}

let cached: TinyTokenizer | undefined;

/** Builds the tiny tokenizer (deterministic; the result is cached). */
export function makeTinyTokenizer(): TinyTokenizer {
  if (cached) return cached;
  const words = new Map<string, number>();
  for (const w of CORPUS.split(/\s+/).filter(Boolean)) {
    const key = SPACE + w;
    words.set(key, (words.get(key) ?? 0) + 1);
    // Text at the very start has no '▁' (no dummy prefix): learn the bare form too.
    words.set(w, (words.get(w) ?? 0) + 1);
  }
  const merges = learnBpeMerges(words, DEFAULT_MERGES);

  const pieces: SentencePiece[] = [
    { piece: '<unk>', score: 0, type: PieceType.UNKNOWN },
    { piece: '<s>', score: 0, type: PieceType.CONTROL },
    { piece: '</s>', score: 0, type: PieceType.CONTROL },
  ];
  for (let b = 0; b < 256; b++) {
    pieces.push({
      piece: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`,
      score: 0,
      type: PieceType.BYTE,
    });
  }
  const seen = new Set(pieces.map((p) => p.piece));
  let score = 0;
  for (const m of merges) {
    if (seen.has(m)) continue;
    seen.add(m);
    pieces.push({ piece: m, score: -score++, type: PieceType.NORMAL });
  }
  // Single characters: every printable ASCII character, '▁', tab and newline, plus whatever the corpus holds.
  const chars = new Set<string>([SPACE, '\n', '\t']);
  for (let c = 0x21; c < 0x7f; c++) chars.add(String.fromCharCode(c));
  for (const ch of CORPUS.replaceAll(' ', SPACE)) chars.add(ch);
  for (const ch of [...chars].sort()) {
    if (seen.has(ch)) continue;
    seen.add(ch);
    pieces.push({ piece: ch, score: -score++, type: PieceType.NORMAL });
  }
  for (const u of USER_DEFINED) pieces.push({ piece: u, score: 0, type: PieceType.USER_DEFINED });

  const trainerSpec = {
    ...defaultTrainerSpec(),
    modelType: ModelType.BPE,
    vocabSize: pieces.length,
    byteFallback: true,
    splitDigits: true,
  };
  const normalizerSpec = {
    ...defaultNormalizerSpec(),
    name: 'identity',
    addDummyPrefix: false,
    removeExtraWhitespaces: false,
    escapeWhitespaces: true,
  };
  const model = serializeSentencePieceModel({ pieces, trainerSpec, normalizerSpec, unknownFields: [] });

  // The chat tokens keep the ids of their `[UNUSED_TOKEN_141..146]` pieces; InternVL's tokens come after the pieces.
  const special: [number, string][] = [
    [0, '<unk>'],
    [1, '<s>'],
    [2, '</s>'],
    ...CHAT_TOKEN_NAMES.map((name, k): [number, string] => [
      pieces.findIndex((p) => p.piece === `[UNUSED_TOKEN_${141 + k}]`),
      name,
    ]),
    ...INTERNVL_ADDED_TOKENS.map((name, k): [number, string] => [pieces.length + k, name]),
  ];
  const tokenizerConfig = internLM2TokenizerConfig(special, [
    '<|im_start|>',
    '<|im_end|>',
    '<|action_start|>',
    '<|action_end|>',
    '<|interpreter|>',
    '<|plugin|>',
    ...INTERNVL_ADDED_TOKENS,
  ]);
  cached = { model, tokenizerConfig, vocabSize: pieces.length + INTERNVL_ADDED_TOKENS.length };
  return cached;
}
