/**
 * `internvl-eval serve`: an OpenAI-compatible HTTP server (node:http) over any Backend — the ONNX engine in
 * production — so one loaded model serves several runners, and the `openai` backend has a real server to test
 * against.
 *
 *   POST /v1/chat/completions   text + image_url parts; greedy only; per-request tiling read the way lmdeploy
 *                               (`image_url.max_dynamic_patch`, else `detail` low/medium/high → 6/12/24) and vLLM
 *                               (`mm_processor_kwargs.max_dynamic_patch`) take it (anchors.md §1.5)
 *   GET  /v1/models             the one model
 *   GET  /health                liveness (no API key needed)
 *
 * Safety: binds to 127.0.0.1 unless told otherwise; optional API key (Bearer); a request body limit; images only
 * as `data:` URLs unless remote images are allowed (http/https, with their own size limit and timeout), `file:`
 * never; every bad request gets an OpenAI-style JSON error (`{"error":{"message","type","code"}}`), never a crash.
 * Requests queue and go to the backend in batches of up to `backend.maxBatch` as it frees up.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Backend, GenerationRequest, GenerationResult } from './backend.ts';
import { BatchDispatcher } from './batch-dispatcher.ts';

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
  /** Requests waiting for the model beyond which new ones get 429 (default 256). */
  readonly maxQueue?: number;
  readonly log?: (line: string) => void;
}

export interface RunningServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** lmdeploy's fallback when an image part has no `max_dynamic_patch` (lmdeploy/vl/model/internvl.py). */
const DETAIL_TILES: Record<string, number> = { low: 6, medium: 12, high: 24 };
const MAX_TILES_LIMIT = 40;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

const badRequest = (message: string, code: string, param: string | null = null) =>
  new HttpError(400, message, 'invalid_request_error', code, param);

function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  extraHeaders: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  if (res.headersSent) return;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...extraHeaders,
  });
  res.end(text);
}

function sendError(res: http.ServerResponse, err: HttpError, extraHeaders: Record<string, string> = {}) {
  sendJson(
    res,
    err.status,
    { error: { message: err.message, type: err.type, code: err.code, param: err.param } },
    extraHeaders,
  );
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const tooLarge = () =>
      new HttpError(413, `request body exceeds ${limit} bytes`, 'invalid_request_error', 'request_too_large');
    if (Number.isFinite(declared) && declared > limit) {
      req.resume(); // drain so the client can finish sending and read the answer
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      if (!failed) reject(e);
    });
  });
}

function tilesValue(v: unknown, param: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_TILES_LIMIT) {
    throw badRequest(`${param} must be an integer in 1..${MAX_TILES_LIMIT}`, 'invalid_value', param);
  }
  return v;
}

function decodeDataUrl(url: string, param: string): Uint8Array {
  const m = /^data:([^;,]*)((?:;[^;,]*)*?);base64,(.*)$/s.exec(url);
  if (!m)
    throw badRequest(
      `${param}: only base64 data: URLs are accepted (data:image/...;base64,...)`,
      'invalid_image_url',
      param,
    );
  const b64 = m[3].replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64))
    throw badRequest(`${param}: invalid base64`, 'invalid_image_url', param);
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length === 0) throw badRequest(`${param}: empty image`, 'invalid_image_url', param);
  return new Uint8Array(bytes);
}

interface ParsedChat {
  readonly request: Omit<GenerationRequest, 'id' | 'images'>;
  readonly images: { url: string; param: string }[];
  readonly stream: boolean;
}

/** Validates a chat completion body and turns it into a GenerationRequest (images still as URLs). */
export function parseChatBody(
  body: unknown,
  opts: Pick<ServeOptions, 'defaultMaxTiles' | 'useThumbnail' | 'defaultMaxTokens' | 'modelName'>,
): ParsedChat {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('the body must be a JSON object', 'invalid_body');
  }
  const b = body as Record<string, unknown>;
  if (b.stream === true) throw badRequest('stream: true is not supported', 'unsupported_parameter', 'stream');
  if (b.n !== undefined && b.n !== 1)
    throw badRequest('only n = 1 is supported', 'unsupported_parameter', 'n');
  if (typeof b.temperature === 'number' && b.temperature > 0) {
    throw badRequest(
      'only greedy decoding is served: temperature must be 0',
      'unsupported_parameter',
      'temperature',
    );
  }
  if (b.model !== undefined && b.model !== opts.modelName) {
    throw new HttpError(
      404,
      `model "${String(b.model)}" is not served here (serving "${opts.modelName}")`,
      'invalid_request_error',
      'model_not_found',
      'model',
    );
  }
  const messages = b.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw badRequest('messages must be a non-empty array', 'invalid_value', 'messages');
  }
  let systemMessage: string | undefined;
  let user: unknown;
  messages.forEach((m, i) => {
    const role = (m as { role?: unknown })?.role;
    const content = (m as { content?: unknown })?.content;
    if (role === 'system') {
      if (i !== 0) throw badRequest('a system message must come first', 'invalid_value', `messages[${i}]`);
      systemMessage = textOf(content, `messages[${i}].content`);
    } else if (role === 'user') {
      if (user !== undefined)
        throw badRequest(
          'one user message per request (no multi-turn)',
          'unsupported_parameter',
          `messages[${i}]`,
        );
      user = content;
    } else {
      throw badRequest(
        `messages[${i}].role "${String(role)}" is not supported (system, user)`,
        'unsupported_parameter',
        `messages[${i}].role`,
      );
    }
  });
  if (user === undefined) throw badRequest('no user message', 'invalid_value', 'messages');
  const userIndex = messages.findIndex((m) => (m as { role?: unknown }).role === 'user');
  const mmCap = tilesValue(
    (b.mm_processor_kwargs as Record<string, unknown> | undefined)?.max_dynamic_patch,
    'mm_processor_kwargs.max_dynamic_patch',
  );
  const images: { url: string; param: string }[] = [];
  const maxTiles: number[] = [];
  let question: string;
  if (typeof user === 'string') {
    question = user;
  } else if (Array.isArray(user)) {
    const texts: string[] = [];
    let sawText = false;
    let interleaved = false;
    user.forEach((part, k) => {
      const param = `messages[${userIndex}].content[${k}]`;
      const p = part as { type?: unknown; text?: unknown; image_url?: unknown };
      if (p?.type === 'text') {
        if (typeof p.text !== 'string')
          throw badRequest(`${param}.text must be a string`, 'invalid_value', param);
        texts.push(p.text);
        sawText = true;
      } else if (p?.type === 'image_url') {
        const iu = p.image_url;
        const url = typeof iu === 'string' ? iu : (iu as { url?: unknown })?.url;
        if (typeof url !== 'string')
          throw badRequest(`${param}.image_url.url must be a string`, 'invalid_value', param);
        const obj = typeof iu === 'object' && iu !== null ? (iu as Record<string, unknown>) : {};
        const detail = typeof obj.detail === 'string' ? DETAIL_TILES[obj.detail] : undefined;
        maxTiles.push(
          tilesValue(obj.max_dynamic_patch, `${param}.image_url.max_dynamic_patch`) ??
            mmCap ??
            detail ??
            opts.defaultMaxTiles ??
            12,
        );
        images.push({ url, param: `${param}.image_url.url` });
        if (sawText) interleaved = true;
        texts.push('<image>');
      } else {
        throw badRequest(
          `${param}.type "${String(p?.type)}" is not supported (text, image_url)`,
          'unsupported_parameter',
          param,
        );
      }
    });
    // Images before all text: the InternVL chat() layout, where the model side prepends `<image>\n` itself.
    // Images among the text: keep their places as `<image>` placeholders (inverse of the openai backend).
    question = interleaved ? texts.join('') : texts.filter((t) => t !== '<image>').join('');
  } else {
    throw badRequest(
      'user content must be a string or an array of parts',
      'invalid_value',
      `messages[${userIndex}].content`,
    );
  }
  const maxTokens = b.max_tokens ?? b.max_completion_tokens ?? opts.defaultMaxTokens ?? 1024;
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1) {
    throw badRequest('max_tokens must be a positive integer', 'invalid_value', 'max_tokens');
  }
  const minTokens = b.min_tokens ?? b.min_new_tokens ?? 0;
  if (
    typeof minTokens !== 'number' ||
    !Number.isInteger(minTokens) ||
    minTokens < 0 ||
    minTokens > maxTokens
  ) {
    throw badRequest('min_tokens must be an integer in 0..max_tokens', 'invalid_value', 'min_tokens');
  }
  return {
    request: {
      question,
      maxTiles,
      useThumbnail: opts.useThumbnail ?? true,
      maxNewTokens: maxTokens,
      minNewTokens: minTokens,
      ...(systemMessage !== undefined ? { systemMessage } : {}),
    },
    images,
    stream: false,
  };
}

function textOf(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p, k) => {
        if (
          (p as { type?: unknown })?.type !== 'text' ||
          typeof (p as { text?: unknown }).text !== 'string'
        ) {
          throw badRequest(`${param}[${k}] must be a text part`, 'invalid_value', `${param}[${k}]`);
        }
        return (p as { text: string }).text;
      })
      .join('');
  }
  throw badRequest(`${param} must be a string or text parts`, 'invalid_value', param);
}

async function fetchRemoteImage(
  url: string,
  param: string,
  maxBytes: number,
  timeoutMs: number,
): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (err) {
    throw badRequest(
      `${param}: could not fetch the image (${(err as Error).message})`,
      'image_fetch_failed',
      param,
    );
  }
  if (!res.ok)
    throw badRequest(`${param}: fetching the image gave HTTP ${res.status}`, 'image_fetch_failed', param);
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw badRequest(`${param}: image larger than ${maxBytes} bytes`, 'image_too_large', param);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > maxBytes)
      throw badRequest(`${param}: image larger than ${maxBytes} bytes`, 'image_too_large', param);
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function bearerMatches(header: string | undefined, key: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1].trim());
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const maxBody = opts.maxBodyBytes ?? 32 * 1024 * 1024;
  const maxQueue = opts.maxQueue ?? 256;
  const dispatcher = new BatchDispatcher(opts.backend, 1);
  const created = Math.floor(Date.now() / 1000);
  const log = opts.log ?? (() => {});

  const images = async (list: ParsedChat['images']): Promise<Uint8Array[]> =>
    Promise.all(
      list.map(({ url, param }) => {
        const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
        if (scheme === 'data') return decodeDataUrl(url, param);
        if (scheme === 'http' || scheme === 'https') {
          if (!opts.allowRemoteImages) {
            throw badRequest(
              `${param}: remote image URLs are refused (start serve with --allow-remote-images); send a data: URL`,
              'remote_images_disabled',
              param,
            );
          }
          return fetchRemoteImage(
            url,
            param,
            opts.remoteImageMaxBytes ?? 20 * 1024 * 1024,
            opts.remoteImageTimeoutMs ?? 15_000,
          );
        }
        throw badRequest(
          `${param}: "${scheme ?? url.slice(0, 16)}" image URLs are refused (data: only${opts.allowRemoteImages ? ', or http(s)' : ''})`,
          'invalid_image_url',
          param,
        );
      }),
    );

  const chat = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const raw = await readBody(req, maxBody);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw badRequest(`the body is not valid JSON (${(err as Error).message})`, 'invalid_json');
    }
    const parsed = parseChatBody(body, opts);
    const bytes = await images(parsed.images);
    if (dispatcher.queued >= maxQueue) {
      throw new HttpError(
        429,
        `server busy: ${maxQueue} requests already waiting`,
        'rate_limit_error',
        'queue_full',
      );
    }
    const id = `chatcmpl-${randomUUID()}`;
    // Preprocess (on the backend's worker pool, when it has one) before queueing, so images are tiled while the
    // model works on earlier requests and the event loop stays free to answer /health and new requests.
    let request: GenerationRequest = { ...parsed.request, id, images: bytes };
    if (opts.backend.prepare) request = await opts.backend.prepare(request);
    const result: GenerationResult = await dispatcher.submit(request);
    if (result.error !== undefined) {
      throw new HttpError(500, `generation failed: ${result.error}`, 'server_error', 'generation_failed');
    }
    sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: opts.modelName,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: result.text },
          finish_reason: result.outputTokens >= parsed.request.maxNewTokens ? 'length' : 'stop',
        },
      ],
      usage: {
        prompt_tokens: result.promptTokens,
        completion_tokens: result.outputTokens,
        total_tokens: result.promptTokens + result.outputTokens,
      },
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
      sendJson(res, 200, { status: 'ok', model: opts.modelName });
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
