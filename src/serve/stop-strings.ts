/**
 * OpenAI `stop` strings over text that arrives in pieces: `push` returns the text safe to send now (holding back
 * a tail that could be the start of a stop string), and once a stop string appears everything from it on is
 * dropped, as OpenAI-compatible servers do (the stop string itself is not returned).
 */
export class StopMatcher {
  private held = '';
  private sent = '';
  stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  /** Text of `piece` (plus what was held back) that can go out now. */
  push(piece: string): string {
    if (this.stopped) return '';
    const text = this.held + piece;
    let cut = -1;
    for (const s of this.stops) {
      const at = text.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.stopped = true;
      this.held = '';
      return this.emit(text.slice(0, cut));
    }
    // Hold back the longest tail that is a proper prefix of some stop string.
    let keep = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, text.length); k > keep; k--) {
        if (text.endsWith(s.slice(0, k))) {
          keep = k;
          break;
        }
      }
    }
    this.held = text.slice(text.length - keep);
    return this.emit(text.slice(0, text.length - keep));
  }

  /** At the end of generation: what was held back (no stop string came). */
  flush(): string {
    const rest = this.stopped ? '' : this.held;
    this.held = '';
    return this.emit(rest);
  }

  /** Everything sent so far. */
  get text(): string {
    return this.sent;
  }

  private emit(s: string): string {
    this.sent += s;
    return s;
  }
}

/** `text` cut at the first stop string, and whether one was found. */
export function applyStops(text: string, stops: readonly string[]): { text: string; stopped: boolean } {
  const m = new StopMatcher(stops);
  const out = m.push(text) + m.flush();
  return { text: out, stopped: m.stopped };
}
