/**
 * A server-sent events parser written from the WHATWG HTML spec (§9.2.6 "Interpreting an event stream"), not
 * from any SDK, to check that `serve`'s stream is what a conforming client (the OpenAI SDKs among them) reads:
 * lines end in CRLF, LF or CR; a leading BOM is dropped; `:` lines are comments; `field: value` loses one space
 * after the colon; `data` lines join with LF; a blank line dispatches; an event without data is not dispatched;
 * a trailing event without its blank line is discarded at end of stream.
 */
export interface SseEvent {
  readonly type: string;
  readonly data: string;
  readonly lastEventId: string;
}

export function parseEventStream(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  let data = '';
  let type = '';
  let lastEventId = '';
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  // Split into lines; the part after the last line terminator is an incomplete line and is dropped.
  const lines = body.split(/\r\n|\n|\r/);
  lines.pop();
  for (const line of lines) {
    if (line === '') {
      if (data !== '') {
        events.push({
          type: type || 'message',
          data: data.endsWith('\n') ? data.slice(0, -1) : data,
          lastEventId,
        });
      }
      data = '';
      type = '';
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data += `${value}\n`;
    else if (field === 'event') type = value;
    else if (field === 'id' && !value.includes('\0')) lastEventId = value;
    // `retry` and unknown fields change nothing a test reads.
  }
  return events;
}

export interface ChatChunk {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: { index: number; delta: { role?: string; content?: string }; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

/**
 * The chunks of a chat stream as an OpenAI SDK client consumes them: `message` events up to the `[DONE]` data,
 * each parsed as JSON; an event holding `error` is an error (the SDK throws it). Throws when `[DONE]` is missing.
 */
export function chatChunks(text: string): {
  chunks: ChatChunk[];
  error?: { message: string; code?: string };
} {
  const chunks: ChatChunk[] = [];
  for (const e of parseEventStream(text)) {
    if (e.data.startsWith('[DONE]')) return { chunks };
    const json = JSON.parse(e.data) as ChatChunk & { error?: { message: string; code?: string } };
    if (json.error) return { chunks, error: json.error };
    chunks.push(json);
  }
  throw new Error('stream ended without data: [DONE]');
}
