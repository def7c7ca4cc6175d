/**
 * `serve`'s HTTP edges: OpenAI-style error answers (`{"error":{"message","type","code","param"}}`) and a request
 * body reader with a size limit (413 before reading more than it allows).
 */
import type http from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string,
    readonly param: string | null = null,
    /** Extra answer headers (Retry-After on 429). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string, code: string, param: string | null = null): HttpError =>
  new HttpError(400, message, 'invalid_request_error', code, param);

/** 413: the request is over one of the server's limits (body, images, pixels, prompt tokens). */
export const tooLarge = (message: string, code: string, param: string | null = null): HttpError =>
  new HttpError(413, message, 'invalid_request_error', code, param);

export function errorBody(err: HttpError): { error: Record<string, unknown> } {
  return { error: { message: err.message, type: err.type, code: err.code, param: err.param } };
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  extraHeaders: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...extraHeaders,
  });
  res.end(text);
}

export function sendError(
  res: http.ServerResponse,
  err: HttpError,
  extraHeaders: Record<string, string> = {},
): void {
  sendJson(res, err.status, errorBody(err), { ...err.headers, ...extraHeaders });
}

export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const over = () => tooLarge(`request body exceeds ${limit} bytes`, 'request_too_large');
    if (Number.isFinite(declared) && declared > limit) {
      req.resume(); // drain so the client can finish sending and read the answer
      reject(over());
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
        reject(over());
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
