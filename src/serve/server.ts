/**
 * `internvl-eval serve`: an OpenAI-compatible HTTP server (node:http) over any Backend — the ONNX engine in
 * production — so one loaded model serves several runners and clients.
 *
 *   POST /v1/chat/completions   text + image_url parts, conversations, sampling, stop strings, `stream: true`
 *                               (server-sent events, sse.ts); see chat-body.ts for what a body may hold
 *   GET  /v1/models             the one model
 *   GET  /health                liveness and queue depth (no API key needed)
 *
 * Scheduling: requests are validated, their images loaded and preprocessed (the backend's `prepare`), then queued;
 * the BatchDispatcher hands the model up to `backend.maxBatch` queued requests per call, so requests arriving
 * while a batch runs join the next one (dynamic batching between batches). A client that disconnects aborts its
 * request's signal: generation stops for it (other requests of the batch go on), and a request still queued is
 * skipped by the backend.
 *
 * Limits, each answered the OpenAI way: body bytes, images per request, pixels per image, prompt tokens → 413;
 * queue full → 429 with Retry-After. Safety: binds to 127.0.0.1 unless told otherwise; optional API key
 * (Bearer); images only as `data:` URLs unless remote images are allowed, `file:` never; every bad request gets a
 * JSON error, never a crash.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Backend, GenerationRequest, GenerationResult } from '../runner/backend.ts';
import { BatchDispatcher } from '../runner/batch-dispatcher.ts';
import { parseChatBody, type ParsedChat } from './chat-body.ts';
import { badRequest, errorBody, HttpError, readBody, sendError, sendJson, tooLarge } from './http-errors.ts';
import { loadImages } from './image-urls.ts';
import { chunk, SseWriter, usageChunk, type ChunkIdentity, type FinishReason } from './sse.ts';
import { StopMatcher } from './stop-strings.ts';

export interface ServeOptions {
  readonly backend: Backend;
  /** The model id clients name (and /v1/models lists). */
  readonly modelName: string;
  readonly host?: string;
  /** 0: an ephemeral port. */
  readonly port?: number;
  readonly apiKey?: string;
  /** Request body limit, bytes (default 32 MiB). */
  readonly maxBodyBytes?: number;
  readonly allowRemoteImages?: boolean;
  /** Per remote image, bytes (default 20 MiB) and ms (default 15 000). */
  readonly remoteImageMaxBytes?: number;
  readonly remoteImageTimeoutMs?: number;
  /** Tile cap when a request names none (InternVL2 config.json `max_dynamic_patch`: 12). */
  readonly defaultMaxTiles?: number;
  readonly useThumbnail?: boolean;
  /** `max_tokens` when a request names none. */
  readonly defaultMaxTokens?: number;
  /** Requests waiting for the model (queued or being prepared) beyond which new ones get 429 (default 256). */
  readonly maxQueue?: number;
  /** Images per request, all turns together (default 16). */
  readonly maxImages?: number;
  /** Width × height per image (default 50 000 000). */
  readonly maxImagePixels?: number;
  /** Prompt tokens, images expanded, when the backend can count them (default: no limit). */
  readonly maxPromptTokens?: number;
  readonly log?: (line: string) => void;
}

export interface RunningServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** What /health reports. */
export interface ServerHealth {
  readonly status: 'ok';
  readonly model: string;
  readonly queue: {
    /** Requests queued for the model. */
    readonly waiting: number;
    /** Requests whose images are being loaded and preprocessed. */
    readonly preparing: number;
    /** Requests in the batch the model is working on. */
    readonly running: number;
    readonly maxQueue: number;
    readonly maxBatch: number;
  };
}

function bearerMatches(header: string | undefined, key: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1].trim());
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Reason a request's signal is aborted with when one of its stop strings appeared. */
class StopStringReached extends Error {}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const maxBody = opts.maxBodyBytes ?? 32 * 1024 * 1024;
  const maxQueue = opts.maxQueue ?? 256;
  const backend = opts.backend;
  const dispatcher = new BatchDispatcher(backend, 1);
  const created = Math.floor(Date.now() / 1000);
  const log = opts.log ?? (() => {});
  let preparing = 0;
  let submitted = 0;

  const health = (): ServerHealth => ({
    status: 'ok',
    model: opts.modelName,
    queue: {
      waiting: dispatcher.queued,
      preparing,
      running: submitted - dispatcher.queued,
      maxQueue,
      maxBatch: Math.max(1, backend.maxBatch),
    },
  });

  /** Images loaded, preprocessed and counted; throws 413 over a limit. */
  const prepare = async (parsed: ParsedChat, id: string, signal: AbortSignal): Promise<GenerationRequest> => {
    const images = await loadImages(parsed.images, {
      ...(opts.allowRemoteImages !== undefined ? { allowRemoteImages: opts.allowRemoteImages } : {}),
      ...(opts.remoteImageMaxBytes !== undefined ? { remoteImageMaxBytes: opts.remoteImageMaxBytes } : {}),
      ...(opts.remoteImageTimeoutMs !== undefined ? { remoteImageTimeoutMs: opts.remoteImageTimeoutMs } : {}),
      maxImagePixels: opts.maxImagePixels ?? 50_000_000,
    });
    // Preprocess (on the backend's worker pool, when it has one) before queueing, so images are tiled while the
    // model works on earlier requests and the event loop stays free to answer /health and new requests.
    let request: GenerationRequest = { ...parsed.request, id, images, signal };
    if (backend.prepare) request = await backend.prepare(request);
    if (opts.maxPromptTokens !== undefined && backend.promptTokens) {
      const n = await backend.promptTokens(request);
      if (n > opts.maxPromptTokens) {
        throw tooLarge(
          `the prompt has ${n} tokens (images included); this server takes at most ${opts.maxPromptTokens}`,
          'prompt_too_long',
          'messages',
        );
      }
    }
    return request;
  };

  const chat = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const raw = await readBody(req, maxBody);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw badRequest(`the body is not valid JSON (${(err as Error).message})`, 'invalid_json');
    }
    const parsed = parseChatBody(body, { ...opts, maxImages: opts.maxImages ?? 16 });
    if (dispatcher.queued + preparing >= maxQueue) {
      throw new HttpError(
        429,
        `server busy: ${maxQueue} requests already waiting`,
        'rate_limit_error',
        'queue_full',
        null,
        { 'retry-after': '1' },
      );
    }
    const id = `chatcmpl-${randomUUID()}`;
    // The client going away stops its generation (and the answer is never written).
    const cancel = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) cancel.abort(new Error('client disconnected'));
    });
    preparing++;
    let request: GenerationRequest;
    try {
      request = await prepare(parsed, id, cancel.signal);
    } finally {
      preparing--;
    }
    if (cancel.signal.aborted) return;

    const who: ChunkIdentity = {
      id,
      created: Math.floor(Date.now() / 1000),
      model: opts.modelName,
      includeUsage: parsed.includeUsage,
    };
    const sse = parsed.stream ? new SseWriter(res) : undefined;
    if (sse) {
      sse.open();
      sse.send(chunk(who, { role: 'assistant', content: '' }, null));
    }
    const stops = new StopMatcher(parsed.stop);
    let streamed = false;
    const send = (text: string) => {
      if (sse && text !== '') sse.send(chunk(who, { content: text }, null));
    };
    const onText = (piece: string) => {
      streamed = true;
      send(stops.push(piece));
      if (stops.stopped && !cancel.signal.aborted) cancel.abort(new StopStringReached());
    };
    submitted++;
    let result: GenerationResult;
    try {
      result = await dispatcher.submit({ ...request, onText });
    } finally {
      submitted--;
    }
    if (cancel.signal.aborted && !(cancel.signal.reason instanceof StopStringReached)) return; // client gone
    if (result.error !== undefined) {
      const err = new HttpError(
        500,
        `generation failed: ${result.error}`,
        'server_error',
        'generation_failed',
      );
      if (!sse) throw err;
      sse.send(errorBody(err));
      sse.done();
      return;
    }
    // A backend that does not stream gives its text at the end.
    if (!streamed) send(stops.push(result.text));
    send(stops.flush());
    const finish: FinishReason = stops.stopped
      ? 'stop'
      : result.finishReason === 'length' ||
          (result.finishReason === undefined && result.outputTokens >= parsed.request.maxNewTokens)
        ? 'length'
        : 'stop';
    const usage = {
      prompt_tokens: result.promptTokens,
      completion_tokens: result.outputTokens,
      total_tokens: result.promptTokens + result.outputTokens,
    };
    if (sse) {
      sse.send(chunk(who, {}, finish));
      if (parsed.includeUsage) sse.send(usageChunk(who, usage));
      sse.done();
      return;
    }
    sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created: who.created,
      model: opts.modelName,
      system_fingerprint: null,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: stops.text },
          logprobs: null,
          finish_reason: finish,
        },
      ],
      usage,
      // What the model actually did with the images, for the runner's log (tiles incl. thumbnail).
      internvl: {
        tiles: result.tiles,
        image_tokens: result.imageTokens,
        latency_ms: result.latencyMs,
        max_tiles: parsed.request.maxTiles,
      },
    });
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const route = url.pathname.replace(/\/+$/, '') || '/';
    if (route === '/health') {
      if (req.method !== 'GET')
        throw new HttpError(405, 'use GET', 'invalid_request_error', 'method_not_allowed');
      sendJson(res, 200, health());
      return;
    }
    if (opts.apiKey !== undefined && !bearerMatches(req.headers.authorization, opts.apiKey)) {
      req.resume();
      throw new HttpError(
        401,
        'invalid or missing API key (Authorization: Bearer ...)',
        'invalid_request_error',
        'invalid_api_key',
      );
    }
    if (route === '/v1/models') {
      if (req.method !== 'GET')
        throw new HttpError(405, 'use GET', 'invalid_request_error', 'method_not_allowed');
      sendJson(res, 200, {
        object: 'list',
        data: [{ id: opts.modelName, object: 'model', created, owned_by: 'internvl-eval' }],
      });
      return;
    }
    if (route === '/v1/chat/completions') {
      if (req.method !== 'POST')
        throw new HttpError(405, 'use POST', 'invalid_request_error', 'method_not_allowed');
      await chat(req, res);
      return;
    }
    req.resume();
    throw new HttpError(404, `no route ${req.method} ${url.pathname}`, 'invalid_request_error', 'not_found');
  };

  const server = http.createServer((req, res) => {
    const t0 = performance.now();
    handle(req, res)
      .catch((err: unknown) => {
        const e =
          err instanceof HttpError
            ? err
            : new HttpError(
                500,
                `internal error: ${(err as Error)?.message ?? String(err)}`,
                'server_error',
                'internal_error',
              );
        // 413: the connection is closed after the answer (the rest of the body is not worth reading).
        sendError(res, e, e.status === 413 ? { connection: 'close' } : {});
      })
      .finally(() =>
        log(`${req.method} ${req.url} ${res.statusCode} ${(performance.now() - t0).toFixed(0)} ms`),
      );
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });
  server.requestTimeout = 0; // a generation may take minutes; clients set their own timeouts
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}`,
    host: addr.address,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
