/**
 * Streaming counterpart of the reference reply post-processing (IVL `modeling_internvl_chat.py` `chat()`:
 * `tokenizer.batch_decode(ids, skip_special_tokens=True)[0].split(template.sep)[0].strip()`, implemented by
 * `decodeLikeReference` + `splitReply`): pieces whose concatenation is exactly that final text.
 */
import { pyLstrip, pyRstrip, pyStrip } from '../../common/python-strings.ts';

/** `decoded.split(sep)[0].strip()`. */
export function replyFromDecoded(decoded: string, separator: string): string {
  const i = separator ? decoded.indexOf(separator) : -1;
  return pyStrip(i >= 0 ? decoded.slice(0, i) : decoded);
}

/**
 * The reference decode runs transformers' `clean_up_tokenization` (" ." → ".", " 's" → "'s", ... — every rule is a
 * space followed by at most 3 fixed characters), so text right after a late space may still change.
 */
const CLEANUP_REACH = 4;

/**
 * Incremental text for streaming: after each new token, `push` returns the newly settled text. Text is held back
 * while it may still change: an unfinished UTF-8 sequence (decoding ends in U+FFFD), trailing whitespace (the final
 * strip may remove it), a space within reach of a clean-up rule, and a tail that could start the separator.
 * `finish` returns the rest, so the pieces concatenate to `replyFromDecoded(decode(all ids), separator)`.
 */
export class ReplyStreamer {
  private readonly ids: number[] = [];
  private emitted = '';
  private stopped = false;

  constructor(
    private readonly decode: (ids: readonly number[]) => string,
    private readonly separator: string,
  ) {}

  push(tokenId: number): string {
    this.ids.push(tokenId);
    if (this.stopped) return '';
    const decoded = this.decode(this.ids);
    const cut = this.separator ? decoded.indexOf(this.separator) : -1;
    if (cut >= 0) {
      this.stopped = true;
      return this.advance(pyStrip(decoded.slice(0, cut)));
    }
    let text = pyLstrip(decoded);
    if (text.endsWith('\uFFFD')) return '';
    for (let k = Math.min(this.separator.length - 1, text.length); k > 0; k--) {
      if (this.separator.startsWith(text.slice(text.length - k))) {
        text = text.slice(0, text.length - k);
        break;
      }
    }
    const lastSpace = text.lastIndexOf(' ');
    if (lastSpace >= 0 && text.length - lastSpace <= CLEANUP_REACH) text = text.slice(0, lastSpace);
    return this.advance(pyRstrip(text));
  }

  finish(): string {
    return this.advance(replyFromDecoded(this.decode(this.ids), this.separator));
  }

  private advance(text: string): string {
    if (text.length <= this.emitted.length || !text.startsWith(this.emitted)) return '';
    const piece = text.slice(this.emitted.length);
    this.emitted = text;
    return piece;
  }
}
