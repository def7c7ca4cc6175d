/**
 * The `tokenizer_config.json` InternVL2 ships with its InternLM2 tokenizer (slow SentencePiece tokenizer, BOS on,
 * special tokens in `added_tokens_decoder`). Written for the real tokenizer by the checkpoint maker and for the
 * tiny self-made one, which differ only in their special tokens' ids.
 */
import type { TokenizerConfigJson } from './tokenizer.ts';

export type AddedTokenEntry = {
  content: string;
  lstrip: boolean;
  normalized: boolean;
  rstrip: boolean;
  single_word: boolean;
  special: boolean;
};

/** `specialTokens`: [id, content] pairs; `additional`: the `additional_special_tokens` list, in order. */
export function internLM2TokenizerConfig(
  specialTokens: ReadonlyArray<readonly [number, string]>,
  additional: readonly string[],
): TokenizerConfigJson & { added_tokens_decoder: Record<string, AddedTokenEntry> } {
  const decoder: Record<string, AddedTokenEntry> = {};
  for (const [id, content] of specialTokens) {
    decoder[String(id)] = {
      content,
      lstrip: false,
      normalized: false,
      rstrip: false,
      single_word: false,
      special: true,
    };
  }
  return {
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder: decoder,
    additional_special_tokens: [...additional],
    auto_map: { AutoTokenizer: ['tokenization_internlm2.InternLM2Tokenizer', null] },
    bos_token: '<s>',
    clean_up_tokenization_spaces: false,
    eos_token: '</s>',
    model_max_length: 8192,
    pad_token: '</s>',
    tokenizer_class: 'InternLM2Tokenizer',
    unk_token: '<unk>',
  };
}
