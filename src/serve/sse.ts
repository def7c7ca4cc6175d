/**
 * Server-sent events in the OpenAI chat streaming format: `data: {chat.completion.chunk}\n\n` events, the first
 * carrying `delta.role`, then `delta.content` pieces, a last one with `finish_reason`, an optional usage chunk
 * (`stream_options.include_usage`: empty `choices`), then `data: [DONE]`. An error after the headers went out is
 * an event holding `{"error": ...}` followed by `[DONE]`, as OpenAI's API does.
 */
import type http from 'node:http';

export type FinishReason = 'stop' | 'length';

export interface ChunkIdentity {
  readonly id: string;
  readonly created: number;
  readonly model: string;
  /** With include_usage every chunk carries `usage` (null until the last). */
  readonly includeUsage: boolean;
}

export interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

export function chunk(
  who: ChunkIdentity,
  delta: { role?: 'assistant'; content?: string },
  finishReason: FinishReason | null,
): Record<string, unknown> {
  return {
    ...chunkHeader(who),
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(who.includeUsage ? { usage: null } : {}),
  };
}

/** The fields every `chat.completion.chunk` of one response repeats. */
function chunkHeader(who: ChunkIdentity): Record<string, unknown> {
  return {
    id: who.id,
    object: 'chat.completion.chunk',
    created: who.created,
    model: who.model,
    system_fingerprint: null,
  };
}

export function usageChunk(who: ChunkIdentity, usage: Usage): Record<string, unknown> {
  return { ...chunkHeader(who), choices: [], usage };
}

/** Writes SSE events to a response; after the client went away, writes are dropped. */
export class SseWriter {
  constructor(private readonly res: http.ServerResponse) {}

  open(): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // nginx: do not buffer the stream
    });
    this.res.flushHeaders();
  }

  send(data: unknown): void {
    if (this.res.destroyed || this.res.writableEnded) return;
    this.res.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  done(): void {
    if (this.res.destroyed || this.res.writableEnded) return;
    this.res.end('data: [DONE]\n\n');
  }
}
