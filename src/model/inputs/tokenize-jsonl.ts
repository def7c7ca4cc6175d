/**
 * Batch tokenisation for `internvl-eval tokenize --input FILE.jsonl`: each line `{"text": ...}` comes back with
 * `"ids"` added (other fields kept, in order).
 */
import type { InternLM2Tokenizer } from './tokenizer.ts';

export interface TokenizeTextOptions {
  /** Plain SentencePiece: no BOS, no added-token splitting. */
  raw?: boolean;
}

/** Ids for one text, as the CLI prints them. */
export function tokenizeText(
  tok: InternLM2Tokenizer,
  text: string,
  options: TokenizeTextOptions = {},
): number[] {
  return options.raw ? tok.encodeRaw(text) : tok.encode(text);
}

/** Tokenises a JSONL document; `origin` names the file in `FILE:LINE: ...` errors. Blank lines are skipped. */
export function tokenizeJsonl(
  tok: InternLM2Tokenizer,
  jsonl: string,
  origin: string,
  options: TokenizeTextOptions = {},
): string[] {
  const out: string[] = [];
  const lines = jsonl.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new Error(`${origin}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new Error(`${origin}:${i + 1}: expected a JSON object with a "text" field`);
    }
    const text = (row as Record<string, unknown>).text;
    if (typeof text !== 'string') throw new Error(`${origin}:${i + 1}: field "text" must be a string`);
    out.push(JSON.stringify({ ...row, ids: tokenizeText(tok, text, options) }));
  });
  return out;
}
