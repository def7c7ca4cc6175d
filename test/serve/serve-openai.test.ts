import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationRequest } from '../../src/runner/backend.ts';
import { OpenAIBackend, buildChatBody } from '../../src/runner/backends/openai.ts';
import { startServer, type RunningServer } from '../../src/serve/server.ts';
import { FakeBackend, PNG_2X2 } from '../runner/helpers.ts';

const dataUrl = `data:image/png;base64,${PNG_2X2.toString('base64')}`;

/** Records what reached the model, and answers like FakeBackend. */
class RecordingBackend extends FakeBackend {
  seen: GenerationRequest[] = [];
  override async generate(reqs: readonly GenerationRequest[]) {
    this.seen.push(...reqs);
    return super.generate(reqs);
  }
}

const req = (over: Partial<GenerationRequest> = {}): GenerationRequest => ({
  id: 'r1',
  question: 'what? answer:cat',
  images: [new Uint8Array(PNG_2X2)],
  maxTiles: [12],
  useThumbnail: true,
  maxNewTokens: 10,
  minNewTokens: 1,
  ...over,
});

async function post(url: string, body: string | object, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
}

describe('serve', () => {
  let server: RunningServer;
  let keyed: RunningServer;
  const backend = new RecordingBackend(4);
  beforeAll(async () => {
    server = await startServer({
      backend,
      modelName: 'tiny',
      port: 0,
      maxBodyBytes: 4096,
      defaultMaxTiles: 6,
    });
    keyed = await startServer({ backend, modelName: 'tiny', port: 0, apiKey: 'sekret' });
  });
  afterAll(async () => {
    await server.close();
    await keyed.close();
  });

  it('binds to loopback and answers health and models', async () => {
    expect(server.host).toBe('127.0.0.1');
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({
      status: 'ok',
      model: 'tiny',
      queue: { waiting: 0, preparing: 0, running: 0, maxQueue: 256, maxBatch: 4 },
    });
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as any;
    expect(models.data.map((m: { id: string }) => m.id)).toEqual(['tiny']);
  });

  it('answers a chat completion with image parts and honours per-request tiling', async () => {
    const { status, json } = await post(server.url, {
      model: 'tiny',
      messages: [
        { role: 'system', content: 'be brief' },
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: dataUrl, max_dynamic_patch: 2 } },
            { type: 'text', text: 'what? answer:cat' },
          ],
        },
      ],
      max_tokens: 7,
    });
    expect(status).toBe(200);
    expect(json.choices[0].message).toEqual({ role: 'assistant', content: 'cat' });
    expect(json.internvl.tiles).toEqual([2]);
    expect(json.usage.completion_tokens).toBe(1);
    const seen = backend.seen.at(-1)!;
    expect(seen).toMatchObject({
      question: 'what? answer:cat',
      maxTiles: [2],
      maxNewTokens: 7,
      systemMessage: 'be brief',
    });
    expect(Buffer.from(seen.images[0]).equals(PNG_2X2)).toBe(true);
  });

  it.each([
    ['vLLM mm_processor_kwargs', { mm_processor_kwargs: { max_dynamic_patch: 3 } }, {}, 3],
    ['lmdeploy detail', {}, { detail: 'low' }, 6],
    ['default', {}, {}, 6],
  ])('tile cap from %s', async (_n, top, part, want) => {
    const { status } = await post(server.url, {
      ...top,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: dataUrl, ...part } },
            { type: 'text', text: 'q' },
          ],
        },
      ],
    });
    expect(status).toBe(200);
    expect(backend.seen.at(-1)!.maxTiles).toEqual([want]);
  });

  it.each<[string, string | object, Record<string, string>, number, string]>([
    ['malformed JSON', '{"messages": [', {}, 400, 'invalid_json'],
    [
      'oversized body',
      { messages: [{ role: 'user', content: 'x'.repeat(10_000) }] },
      {},
      413,
      'request_too_large',
    ],
    [
      'file: image URL',
      {
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'file:///etc/passwd' } }] },
        ],
      },
      {},
      400,
      'invalid_image_url',
    ],
    [
      'remote image without the flag',
      {
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://127.0.0.1:9/x.png' } }] },
        ],
      },
      {},
      400,
      'remote_images_disabled',
    ],
    ['no messages', { messages: [] }, {}, 400, 'invalid_value'],
    ['n = 2', { n: 2, messages: [{ role: 'user', content: 'q' }] }, {}, 400, 'unsupported_parameter'],
    [
      'temperature out of range',
      { temperature: 5, messages: [{ role: 'user', content: 'q' }] },
      {},
      400,
      'invalid_value',
    ],
    ['top_p 0', { top_p: 0, messages: [{ role: 'user', content: 'q' }] }, {}, 400, 'invalid_value'],
    [
      'five stop strings',
      { stop: ['a', 'b', 'c', 'd', 'e'], messages: [{ role: 'user', content: 'q' }] },
      {},
      400,
      'invalid_value',
    ],
    [
      'stream not a boolean',
      { stream: 'yes', messages: [{ role: 'user', content: 'q' }] },
      {},
      400,
      'invalid_value',
    ],
    [
      'a conversation ending with the assistant',
      {
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: 'a' },
        ],
      },
      {},
      400,
      'invalid_value',
    ],
    [
      'two user turns in a row',
      {
        messages: [
          { role: 'user', content: 'q' },
          { role: 'user', content: 'q2' },
        ],
      },
      {},
      400,
      'invalid_value',
    ],
    [
      'bad tile cap',
      { mm_processor_kwargs: { max_dynamic_patch: 0 }, messages: [{ role: 'user', content: 'q' }] },
      {},
      400,
      'invalid_value',
    ],
    [
      'wrong model',
      { model: 'other', messages: [{ role: 'user', content: 'q' }] },
      {},
      404,
      'model_not_found',
    ],
    [
      'bad base64',
      {
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,@@@' } }] },
        ],
      },
      {},
      400,
      'invalid_image_url',
    ],
  ])('refuses %s with an OpenAI-style error', async (_name, body, headers, status, code) => {
    const r = await post(server.url, body, headers);
    expect(r.status).toBe(status);
    expect(r.json.error.code).toBe(code);
    expect(typeof r.json.error.message).toBe('string');
    expect(typeof r.json.error.type).toBe('string');
    // ...and keeps serving.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('refuses a wrong or missing API key, accepts the right one', async () => {
    const body = { messages: [{ role: 'user', content: 'q answer:ok' }] };
    expect((await post(keyed.url, body)).json.error.code).toBe('invalid_api_key');
    expect((await post(keyed.url, body, { authorization: 'Bearer nope' })).status).toBe(401);
    const ok = await post(keyed.url, body, { authorization: 'Bearer sekret' });
    expect(ok.json.choices[0].message.content).toBe('ok');
    expect((await fetch(`${keyed.url}/v1/models`)).status).toBe(401);
    expect((await fetch(`${keyed.url}/health`)).status).toBe(200);
  });

  it('fetches http(s) images only with --allow-remote-images, and never file:', async () => {
    const images = await plainServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(PNG_2X2);
    });
    const open = await startServer({ backend, modelName: 'tiny', allowRemoteImages: true });
    try {
      const part = (url: string) => ({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url } },
              { type: 'text', text: 'q' },
            ],
          },
        ],
      });
      const ok = await post(open.url, part(`${images.url}/a.png`));
      expect(ok.status).toBe(200);
      expect(Buffer.from(backend.seen.at(-1)!.images[0]).equals(PNG_2X2)).toBe(true);
      expect((await post(open.url, part('file:///etc/hostname'))).json.error.code).toBe('invalid_image_url');
      expect((await post(open.url, part(`${images.url.replace('http:', 'ftp:')}/a.png`))).status).toBe(400);
    } finally {
      await open.close();
      await images.close();
    }
  });

  it('answers 404 for unknown routes and 405 for wrong methods', async () => {
    expect((await fetch(`${server.url}/v2/x`)).status).toBe(404);
    expect((await fetch(`${server.url}/v1/chat/completions`)).status).toBe(405);
  });
});

describe('openai backend', () => {
  it('round-trips requests through serve, images and placeholders intact, over two endpoints', async () => {
    const backend = new RecordingBackend(2);
    const a = await startServer({ backend, modelName: 'tiny', apiKey: 'k' });
    const b = await startServer({ backend, modelName: 'tiny', apiKey: 'k' });
    try {
      const client = new OpenAIBackend({
        endpoints: [a.url, `${b.url}/v1`],
        model: 'tiny',
        apiKey: 'k',
        retries: 0,
      });
      const reqs = [
        req({ id: 'plain' }),
        req({
          id: 'frames',
          question: 'Frame1: <image>\nFrame2: <image>\nanswer:two',
          images: [PNG_2X2, PNG_2X2],
          maxTiles: [1, 1],
        }),
        req({ id: 'text', question: 'no image answer:t', images: [], maxTiles: [] }),
      ];
      const out = await client.generate(reqs);
      expect(out.map((r) => r.error)).toEqual([undefined, undefined, undefined]);
      expect(out.map((r) => r.text)).toEqual(['cat', 'two', 't']);
      expect(out[0].tiles).toEqual([3]);
      expect(out[1].tiles).toEqual([1, 1]);
      const byId = (q: string) => backend.seen.find((s) => s.question.includes(q))!;
      expect(byId('Frame1').question).toBe(reqs[1].question);
      expect(byId('what?').question).toBe('what? answer:cat');
      expect(byId('what?').minNewTokens).toBe(1);
      expect(backend.seen).toHaveLength(3);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('sends a conversation that serve turns back into the same history, images in their turns', async () => {
    const backend = new RecordingBackend(1);
    const s = await startServer({ backend, modelName: 'tiny' });
    try {
      const client = new OpenAIBackend({ endpoints: [s.url], model: 'tiny', retries: 0 });
      const history: [string, string][] = [
        ['<image>\nWhat is this? answer:x', 'A square.'],
        ['No image here.', 'Fine.'],
        ['Frame1: <image>\nFrame2: <image>\nAnd these?', 'Two frames.'],
      ];
      const conversation = req({
        id: 'conv',
        question: '<image>\nLast one? answer:done',
        images: [PNG_2X2, PNG_2X2, PNG_2X2, PNG_2X2],
        maxTiles: [1, 2, 3, 4],
        history,
      });
      const [r] = await client.generate([conversation]);
      expect(r.error).toBeUndefined();
      expect(r.text).toBe('done');
      const seen = backend.seen.at(-1)!;
      expect(seen.history).toEqual(history);
      expect(seen.question).toBe(conversation.question);
      expect(seen.maxTiles).toEqual([1, 2, 3, 4]);
      const body = buildChatBody(conversation, 'tiny', 'generic') as any;
      expect(body.messages.map((m: { role: string }) => m.role)).toEqual([
        'user',
        'assistant',
        'user',
        'assistant',
        'user',
        'assistant',
        'user',
      ]);
    } finally {
      await s.close();
    }
  });

  it('puts tiling where lmdeploy and vLLM read it', () => {
    const lm = buildChatBody(req(), 'm', 'lmdeploy') as any;
    expect(lm.messages[0].content[0].image_url.max_dynamic_patch).toBe(12);
    expect(lm.mm_processor_kwargs).toBeUndefined();
    expect(lm.temperature).toBe(0);
    expect(lm.max_tokens).toBe(10);
    const vl = buildChatBody(req(), 'm', 'vllm') as any;
    expect(vl.mm_processor_kwargs).toEqual({ max_dynamic_patch: 12 });
    expect(vl.messages[0].content[0].image_url.max_dynamic_patch).toBeUndefined();
    expect(vl.messages[0].content[0].image_url.url).toMatch(/^data:image\/png;base64,/);
    expect(vl.min_tokens).toBe(1);
  });

  it('retries 500s a bounded number of times with backoff, then records a clear failure', async () => {
    let hits = 0;
    const failing = await plainServer((_req, res) => {
      hits++;
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'boom', type: 'server_error', code: 'x' } }));
    });
    try {
      const client = new OpenAIBackend({ endpoints: [failing.url], model: 'm', retries: 2, backoffMs: 5 });
      const [r] = await client.generate([req()]);
      expect(hits).toBe(3);
      expect(r.error).toMatch(/^gave up after 3 attempts \(http-5xx ×3\); last: http-5xx: .*HTTP 500: boom/);
      expect(r.text).toBe('');
    } finally {
      await failing.close();
    }
  });

  it('recovers when a 429/503 is followed by success, and does not retry a 400', async () => {
    let hits = 0;
    const flaky = await plainServer((_req, res) => {
      hits++;
      if (hits === 1) {
        res.writeHead(429).end('slow down');
        return;
      }
      if (hits === 2) {
        res.writeHead(503).end();
        return;
      }
      if (hits === 3) {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { message: 'bad' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          choices: [{ message: { content: 'fine' } }],
          usage: { prompt_tokens: 3, completion_tokens: 1 },
        }),
      );
    });
    try {
      const client = new OpenAIBackend({ endpoints: [flaky.url], model: 'm', retries: 3, backoffMs: 1 });
      const [bad] = await client.generate([req()]);
      expect(bad.error).toMatch(/HTTP 400: bad/);
      expect(hits).toBe(3);
      const [good] = await client.generate([req()]);
      expect(good).toMatchObject({ text: 'fine', promptTokens: 3, outputTokens: 1 });
    } finally {
      await flaky.close();
    }
  });

  it('times out a stalled server, retries a bounded number of times, never hangs', async () => {
    let hits = 0;
    const stalled = await plainServer(() => {
      hits++; // never answers
    });
    try {
      const client = new OpenAIBackend({
        endpoints: [stalled.url],
        model: 'm',
        retries: 1,
        // Long enough that a loaded machine still delivers each attempt to the server before it times out.
        timeoutMs: 1000,
        backoffMs: 1,
      });
      const out = await client.generate([req({ id: 'a' }), req({ id: 'b' })]);
      for (const r of out)
        expect(r.error).toMatch(
          /^gave up after 2 attempts \(timeout ×2\); last: timeout: .*timed out after 1000 ms/,
        );
      expect(hits).toBe(4);
    } finally {
      await stalled.close();
    }
  });

  it('reports a refused connection as a failure after retries', async () => {
    const gone = await plainServer(() => {});
    const url = gone.url;
    await gone.close();
    const client = new OpenAIBackend({ endpoints: [url], model: 'm', retries: 1, backoffMs: 1 });
    const [r] = await client.generate([req()]);
    expect(r.error).toMatch(/^gave up after 2 attempts \(refused ×2\); last: refused: .*\(ECONNREFUSED\)/);
  });

  it('refuses a reply whose applied tile caps differ from the request', async () => {
    const liar = await plainServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          choices: [{ message: { content: 'x' } }],
          internvl: { max_tiles: [6], tiles: [3] },
        }),
      );
    });
    try {
      const client = new OpenAIBackend({ endpoints: [liar.url], model: 'm', retries: 0 });
      const [r] = await client.generate([req()]);
      expect(r.error).toBe('bad-reply: server applied tile caps [6] instead of [12]');
    } finally {
      await liar.close();
    }
  });

  it('spreads load over endpoints (least-loaded)', async () => {
    const counts = [0, 0];
    const mk = (k: number) =>
      plainServer((_req, res) => {
        counts[k]++;
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ choices: [{ message: { content: String(k) } }] }));
        }, 20);
      });
    const s0 = await mk(0);
    const s1 = await mk(1);
    try {
      const client = new OpenAIBackend({ endpoints: [s0.url, s1.url], model: 'm', retries: 0 });
      await client.generate(Array.from({ length: 8 }, (_, i) => req({ id: String(i) })));
      expect(counts).toEqual([4, 4]);
    } finally {
      await s0.close();
      await s1.close();
    }
  });
});

async function plainServer(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

describe('serve with a preparing backend', () => {
  it('calls prepare before queueing and hands its request to generate', async () => {
    const seen: unknown[] = [];
    const backend = new FakeBackend();
    const preparing = Object.assign(backend, {
      prepare: async (r: GenerationRequest): Promise<GenerationRequest> => ({ ...r, prepared: 'tiled' }),
      generate: async (reqs: readonly GenerationRequest[]) => {
        seen.push(...reqs.map((r) => r.prepared));
        return FakeBackend.prototype.generate.call(backend, reqs);
      },
    });
    const s = await startServer({ backend: preparing, modelName: 'tiny', port: 0 });
    try {
      const r = await post(s.url, {
        model: 'tiny',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: dataUrl } },
              { type: 'text', text: 'answer:yes' },
            ],
          },
        ],
      });
      expect(r.status).toBe(200);
      expect(r.json.choices[0].message.content).toBe('yes');
      expect(seen).toEqual(['tiled']);
    } finally {
      await s.close();
    }
  });
});
