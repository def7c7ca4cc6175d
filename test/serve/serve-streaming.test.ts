/**
 * `serve` as OpenAI clients use it: streamed replies read with a spec-following SSE parser, conversations with
 * images in earlier turns, sampling settings, stop strings, limits (413/429), /health queue depth, generation
 * cancelled when the client disconnects, and requests joining between batches.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Backend, GenerationRequest, GenerationResult } from '../../src/runner/backend.ts';
import { startServer, type RunningServer, type ServeOptions } from '../../src/serve/server.ts';
import { imageSize } from '../../src/serve/image-size.ts';
import { applyStops, StopMatcher } from '../../src/serve/stop-strings.ts';
import { PNG_2X2 } from '../runner/helpers.ts';
import { chatChunks, parseEventStream } from './sse-parser.ts';

const dataUrl = `data:image/png;base64,${PNG_2X2.toString('base64')}`;

/** The reply the scripted model gives: deterministic from the request, one "token" per word. */
export function scriptedReply(r: GenerationRequest): string {
  if (r.question.includes('long')) return Array.from({ length: 400 }, (_, i) => `w${i}`).join(' ');
  const turns = r.history?.length ?? 0;
  const sampled = r.sampling ? ` sampled seed ${r.sampling.seed}` : '';
  return `Answer to ${r.question.replace(/<image>\n?/g, '').trim()} after ${turns} turns with ${r.images.length} images${sampled}.`;
}

/** Generates word by word (a piece per step), honours the signal, streams pieces through onText. */
class ScriptedBackend implements Backend {
  readonly info = { name: 'scripted', model: 'scripted' };
  calls: number[] = [];
  seen: GenerationRequest[] = [];
  finished: { id: string; reason: string; tokens: number }[] = [];
  /** The first generate call waits for this (tests hold a batch running). */
  hold: Promise<void> | undefined;
  constructor(
    readonly maxBatch = 1,
    private readonly stepMs = 1,
    readonly promptTokens?: (r: GenerationRequest) => Promise<number>,
  ) {}

  async generate(reqs: readonly GenerationRequest[]): Promise<GenerationResult[]> {
    this.calls.push(reqs.length);
    this.seen.push(...reqs);
    const hold = this.hold;
    this.hold = undefined;
    if (hold) await hold;
    const rows = reqs.map((r) => ({
      r,
      words: scriptedReply(r).split(/(?= )/),
      out: [] as string[],
      reason: '' as '' | 'stop' | 'length' | 'cancelled',
    }));
    for (let step = 0; rows.some((x) => !x.reason); step++) {
      await new Promise((res) => setTimeout(res, this.stepMs));
      for (const x of rows) {
        if (x.reason) continue;
        if (x.r.signal?.aborted) {
          x.reason = 'cancelled';
          continue;
        }
        if (step >= x.words.length) {
          x.reason = 'stop';
          continue;
        }
        x.out.push(x.words[step]);
        x.r.onText?.(x.words[step]);
        if (x.out.length >= x.r.maxNewTokens) x.reason = 'length';
      }
    }
    return rows.map((x) => {
      this.finished.push({ id: x.r.id, reason: x.reason, tokens: x.out.length });
      return {
        id: x.r.id,
        text: x.out.join(''),
        promptTokens: 10,
        outputTokens: x.out.length,
        tiles: x.r.images.map(() => 1),
        imageTokens: 256 * x.r.images.length,
        latencyMs: 1,
        finishReason: x.reason as 'stop' | 'length' | 'cancelled',
      };
    });
  }
  async close(): Promise<void> {}
}

const servers: RunningServer[] = [];
async function serve(backend: Backend, over: Partial<ServeOptions> = {}): Promise<RunningServer> {
  const s = await startServer({ backend, modelName: 'tiny', port: 0, ...over });
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const user = (content: unknown) => ({ role: 'user', content });
async function post(url: string, body: object, signal?: AbortSignal) {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}
async function health(url: string) {
  return (await (await fetch(`${url}/health`)).json()) as {
    queue: { waiting: number; preparing: number; running: number };
  };
}
async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('SSE parser (WHATWG event-stream rules)', () => {
  it.each<[string, string, { type: string; data: string }[]]>([
    [
      'LF lines',
      'data: a\n\ndata: b\n\n',
      [
        { type: 'message', data: 'a' },
        { type: 'message', data: 'b' },
      ],
    ],
    [
      'CRLF and CR lines',
      'data: a\r\n\r\ndata: b\r\r',
      [
        { type: 'message', data: 'a' },
        { type: 'message', data: 'b' },
      ],
    ],
    ['multi-line data joined with LF', 'data: a\ndata:b\ndata\n\n', [{ type: 'message', data: 'a\nb\n' }]],
    ['comments and event types', ': ping\nevent: x\ndata: 1\n\n', [{ type: 'x', data: '1' }]],
    ['only one space dropped', 'data:  two\n\n', [{ type: 'message', data: ' two' }]],
    [
      'BOM, empty event, unterminated tail',
      '\uFEFFid: 1\n\ndata: ok\n\ndata: lost',
      [{ type: 'message', data: 'ok' }],
    ],
  ])('%s', (_name, text, want) => {
    expect(parseEventStream(text).map(({ type, data }) => ({ type, data }))).toEqual(want);
  });
});

describe('stop strings and image headers', () => {
  it.each<[string[], string[], string, boolean]>([
    [['END'], ['abc', 'EN', 'D tail'], 'abc', true],
    [['END'], ['abc', 'EN', 'x'], 'abcENx', false],
    [['\n\n', 'Q:'], ['one\n', '\ntwo'], 'one', true],
    [['xyz'], ['a', 'b'], 'ab', false],
    [[], ['a', 'b'], 'ab', false],
  ])('stops %j over pieces %j → %j', (stops, pieces, want, stopped) => {
    const m = new StopMatcher(stops);
    let out = '';
    for (const p of pieces) out += m.push(p);
    out += m.flush();
    expect(out).toBe(want);
    expect(m.text).toBe(want);
    expect(m.stopped).toBe(stopped);
    expect(applyStops(pieces.join(''), stops)).toEqual({ text: want, stopped });
  });

  it('reads width and height from PNG, GIF, BMP and JPEG headers', () => {
    expect(imageSize(PNG_2X2)).toEqual({ width: 2, height: 2 });
    const gif = Buffer.from('GIF89a\x05\x00\x07\x00', 'latin1');
    expect(imageSize(gif)).toEqual({ width: 5, height: 7 });
    const bmp = Buffer.alloc(30);
    bmp.write('BM', 0, 'latin1');
    bmp.writeInt32LE(640, 18);
    bmp.writeInt32LE(-480, 22);
    expect(imageSize(bmp)).toEqual({ width: 640, height: 480 });
    // SOI, an APP0 segment, then SOF0 with height 300 and width 400.
    const jpeg = Buffer.from([
      0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0x2c, 0x01, 0x90,
      0x03,
    ]);
    expect(imageSize(jpeg)).toEqual({ width: 400, height: 300 });
    expect(imageSize(Buffer.from('not an image'))).toBeUndefined();
  });
});

describe('serve streaming', () => {
  it('streams chat.completion.chunk events ending in [DONE], equal to the answer without streaming', async () => {
    const s = await serve(new ScriptedBackend());
    const body = { model: 'tiny', messages: [user('hello there')], max_tokens: 50 };
    const plain = (await (await post(s.url, body)).json()) as any;
    const res = await post(s.url, { ...body, stream: true, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const { chunks, error } = chatChunks(text);
    expect(error).toBeUndefined();
    expect(chunks.length).toBeGreaterThan(4);
    for (const c of chunks) {
      expect(c).toMatchObject({ object: 'chat.completion.chunk', id: chunks[0].id, model: 'tiny' });
    }
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(content).toBe(plain.choices[0].message.content);
    expect(content).toBe('Answer to hello there after 0 turns with 0 images.');
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual(plain.usage);
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe('stop');
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.slice(0, -2).every((c) => c.choices[0].finish_reason === null)).toBe(true);
  });

  it('streams from a backend that does not stream (one content chunk) and reports length', async () => {
    const backend = new ScriptedBackend();
    const quiet: Backend = {
      info: backend.info,
      maxBatch: 1,
      generate: (reqs) => backend.generate(reqs.map(({ onText: _o, ...r }) => r)),
      close: async () => {},
    };
    const s = await serve(quiet);
    const res = await post(s.url, { messages: [user('q')], max_tokens: 3, stream: true });
    const { chunks } = chatChunks(await res.text());
    expect(chunks.map((c) => c.choices[0].delta.content ?? '')).toEqual(['', 'Answer to q', '']);
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe('length');
    expect(chunks.at(-1)!.usage).toBeUndefined();
  });

  it('cuts at stop strings (streamed or not), and stops the generation there', async () => {
    const backend = new ScriptedBackend();
    const s = await serve(backend);
    const body = { messages: [user('long')], stop: ['w3 ', 'w5'], max_tokens: 400 };
    const plain = (await (await post(s.url, body)).json()) as any;
    expect(plain.choices[0]).toMatchObject({ message: { content: 'w0 w1 w2 ' }, finish_reason: 'stop' });
    const { chunks } = chatChunks(await (await post(s.url, { ...body, stream: true })).text());
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe('w0 w1 w2 ');
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe('stop');
    expect(backend.finished.map((f) => f.reason)).toEqual(['cancelled', 'cancelled']);
    expect(Math.max(...backend.finished.map((f) => f.tokens))).toBeLessThan(10);
  });

  it('sends a generation failure after the headers as an error event, then [DONE]', async () => {
    const failing: Backend = {
      info: { name: 'f', model: 'f' },
      maxBatch: 1,
      generate: async (reqs) =>
        reqs.map((r) => ({
          id: r.id,
          text: '',
          promptTokens: 0,
          outputTokens: 0,
          tiles: [],
          imageTokens: 0,
          latencyMs: 0,
          error: 'boom',
        })),
      close: async () => {},
    };
    const s = await serve(failing);
    const text = await (await post(s.url, { messages: [user('q')], stream: true })).text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(chatChunks(text).error).toMatchObject({ code: 'generation_failed' });
  });
});

describe('serve conversations and sampling', () => {
  it('turns a multi-turn conversation with images in earlier turns into InternVL chat history', async () => {
    const backend = new ScriptedBackend();
    const s = await serve(backend);
    const res = await post(s.url, {
      messages: [
        { role: 'system', content: 'be brief' },
        user([
          { type: 'image_url', image_url: { url: dataUrl, max_dynamic_patch: 2 } },
          { type: 'text', text: 'Describe the image.' },
        ]),
        { role: 'assistant', content: 'A red square.' },
        user([
          { type: 'image_url', image_url: { url: dataUrl } },
          { type: 'image_url', image_url: { url: dataUrl } },
          { type: 'text', text: 'And these?' },
        ]),
        { role: 'assistant', content: [{ type: 'text', text: 'Two more.' }] },
        user('Which is largest?'),
      ],
    });
    expect(res.status).toBe(200);
    const json = (await res.json()) as any;
    expect(json.choices[0].message.content).toBe('Answer to Which is largest? after 2 turns with 3 images.');
    const seen = backend.seen.at(-1)!;
    expect(seen.history).toEqual([
      ['<image>\nDescribe the image.', 'A red square.'],
      ['Image-1: <image>\nImage-2: <image>\nAnd these?', 'Two more.'],
    ]);
    expect(seen.question).toBe('Which is largest?');
    expect(seen.images).toHaveLength(3);
    expect(seen.maxTiles).toEqual([2, 12, 12]);
    expect(seen.systemMessage).toBe('be brief');
  });

  it.each<[string, object, object | undefined]>([
    ['greedy by default', {}, undefined],
    ['temperature 0 is greedy', { temperature: 0, top_p: 0.5, seed: 1 }, undefined],
    [
      'all settings',
      { temperature: 0.7, top_p: 0.9, top_k: 5, seed: 3 },
      { temperature: 0.7, topP: 0.9, topK: 5, seed: 3 },
    ],
    ['vLLM top_k -1 means none', { temperature: 1, top_k: -1, seed: 9 }, { temperature: 1, seed: 9 }],
  ])('sampling: %s', async (_name, settings, want) => {
    const backend = new ScriptedBackend();
    const s = await serve(backend);
    const res = await post(s.url, { messages: [user('q')], ...settings });
    expect(res.status).toBe(200);
    expect(backend.seen.at(-1)!.sampling).toEqual(want);
  });

  it('picks a fresh seed for a sampled request without one', async () => {
    const backend = new ScriptedBackend();
    const s = await serve(backend);
    await post(s.url, { messages: [user('q')], temperature: 0.8 });
    await post(s.url, { messages: [user('q')], temperature: 0.8 });
    const [a, b] = backend.seen.map((r) => r.sampling!.seed);
    expect(Number.isInteger(a)).toBe(true);
    expect(a).not.toBe(b);
  });
});

describe('serve limits and health', () => {
  it.each<[string, Partial<ServeOptions>, unknown, string]>([
    [
      'too many images',
      { maxImages: 1 },
      [
        { type: 'image_url', image_url: { url: dataUrl } },
        { type: 'image_url', image_url: { url: dataUrl } },
      ],
      'too_many_images',
    ],
    [
      'too many pixels',
      { maxImagePixels: 3 },
      [
        { type: 'image_url', image_url: { url: dataUrl } },
        { type: 'text', text: 'q' },
      ],
      'image_too_large',
    ],
    ['too many prompt tokens', { maxPromptTokens: 50 }, 'q', 'prompt_too_long'],
  ])('413 for %s', async (_name, over, content, code) => {
    const backend = new ScriptedBackend(1, 1, async () => 100);
    const s = await serve(backend, over);
    const res = await post(s.url, { messages: [user(content)] });
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error.code).toBe(code);
    expect(backend.seen).toHaveLength(0);
  });

  it('answers 429 with Retry-After when the queue is full, and /health shows the depth', async () => {
    const backend = new ScriptedBackend(1);
    let release!: () => void;
    backend.hold = new Promise((r) => (release = r));
    const s = await serve(backend, { maxQueue: 1 });
    const first = post(s.url, { messages: [user('a')] });
    await until(async () => (await health(s.url)).queue.running === 1, 'the first request to run');
    const second = post(s.url, { messages: [user('b')] });
    await until(async () => (await health(s.url)).queue.waiting === 1, 'the second request to queue');
    expect((await health(s.url)).queue).toEqual({
      waiting: 1,
      preparing: 0,
      running: 1,
      maxQueue: 1,
      maxBatch: 1,
    });
    const third = await post(s.url, { messages: [user('c')] });
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('1');
    expect(((await third.json()) as any).error).toMatchObject({
      code: 'queue_full',
      type: 'rate_limit_error',
    });
    release();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect((await health(s.url)).queue).toMatchObject({ waiting: 0, running: 0 });
  });

  it('lets requests that arrive during a batch join the next one (dynamic batching up to maxBatch)', async () => {
    const backend = new ScriptedBackend(3);
    let release!: () => void;
    backend.hold = new Promise((r) => (release = r));
    const s = await serve(backend);
    const all = [post(s.url, { messages: [user('first')] })];
    await until(async () => (await health(s.url)).queue.running === 1, 'the first batch');
    for (const q of ['b', 'c', 'd', 'e']) all.push(post(s.url, { messages: [user(q)] }));
    await until(async () => (await health(s.url)).queue.waiting === 4, 'four queued');
    release();
    const replies = await Promise.all(
      all.map(async (p) => ((await (await p).json()) as any).choices[0].message.content),
    );
    expect(backend.calls).toEqual([1, 3, 1]);
    expect(replies).toEqual(
      ['first', 'b', 'c', 'd', 'e'].map((q) => `Answer to ${q} after 0 turns with 0 images.`),
    );
  });
});

describe('serve cancels generation when the client goes away', () => {
  it.each([false, true])('stream: %s', async (stream) => {
    const backend = new ScriptedBackend(1, 5);
    const s = await serve(backend);
    const controller = new AbortController();
    const res = post(s.url, { messages: [user('long')], max_tokens: 400, stream }, controller.signal);
    await until(async () => (await health(s.url)).queue.running === 1, 'generation to start');
    await new Promise((r) => setTimeout(r, 30));
    controller.abort();
    await res.then(
      (r) => r.body?.cancel().catch(() => undefined),
      () => undefined,
    );
    await until(async () => backend.finished.length === 1, 'the generation to end');
    expect(backend.finished[0].reason).toBe('cancelled');
    expect(backend.finished[0].tokens).toBeLessThan(400);
    expect((await health(s.url)).queue).toMatchObject({ waiting: 0, running: 0 });
  });
});
