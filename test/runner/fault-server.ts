/**
 * A fault-injecting OpenAI-compatible chat server for the openai backend's tests: loopback only, bounded (every
 * stall ends by `maxStallMs` or at close, every socket is destroyed at close). A `plan` picks a fault for each
 * request it receives; a request without a fault gets a correct chat completion whose text is `answerFor` its
 * last user message (so a run's predictions are known in advance). The server counts what it injected.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | { readonly kind: 'ok' }
  /** 500/502/503, optionally with a Retry-After header. */
  | { readonly kind: 'status'; readonly status: number; readonly retryAfter?: string }
  /** 429 with Retry-After (delta-seconds or an HTTP-date). */
  | { readonly kind: 'rate-limit'; readonly retryAfter: string }
  /** Accept the request and never send headers (until maxStallMs / close). */
  | { readonly kind: 'stall-before-headers' }
  /** Send 200 headers and part of the body, then nothing more (until maxStallMs / close). */
  | { readonly kind: 'stall-after-headers' }
  /** Send 200 headers and half the body, then destroy the socket. */
  | { readonly kind: 'reset-mid-body' }
  /** A complete 200 response whose body is cut-off JSON. */
  | { readonly kind: 'truncated' }
  /** A complete 200 response whose body is an HTML page. */
  | { readonly kind: 'not-json' }
  /** A correct answer after `ms`. */
  | { readonly kind: 'slow'; readonly ms: number }
  /** Close the listening socket and every connection, listen again on the same port after `ms`. */
  | { readonly kind: 'down'; readonly ms: number };

export type FaultKind = Fault['kind'];

export interface FaultServerOptions {
  /** The fault for the n-th request this server receives (0-based), given the parsed body. */
  readonly plan: (n: number, body: ChatBody) => Fault;
  /** Longest stall, ms (default 5 000). */
  readonly maxStallMs?: number;
}

export interface ChatBody {
  readonly messages?: { role: string; content: unknown }[];
  readonly [k: string]: unknown;
}

/** The deterministic answer to a request: its last user message's text, trimmed. */
export function answerFor(body: ChatBody): string {
  const user = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user');
  const c = user?.content;
  if (typeof c === 'string') return c.trim();
  if (Array.isArray(c)) {
    return c
      .filter((p: { type?: string }) => p.type === 'text')
      .map((p: { text?: string }) => p.text ?? '')
      .join('')
      .trim();
  }
  return '';
}

export function completion(body: ChatBody): string {
  const text = answerFor(body);
  return JSON.stringify({
    id: 'chatcmpl-fault',
    object: 'chat.completion',
    created: 0,
    model: 'fault',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  });
}

export class FaultServer {
  /** Requests received (every attempt that reached the handler). */
  received = 0;
  /** Faults injected, by kind ('ok' and 'slow' answers are not faults). */
  readonly injected = new Map<FaultKind, number>();
  answered = 0;
  private server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  port = 0;

  private constructor(private readonly opts: FaultServerOptions) {
    this.server = this.create();
  }

  static async start(opts: FaultServerOptions): Promise<FaultServer> {
    const s = new FaultServer(opts);
    await s.listen(0);
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Total faults injected. */
  get faults(): number {
    let n = 0;
    for (const v of this.injected.values()) n += v;
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    await this.shut();
  }

  private create(): http.Server {
    const server = http.createServer((req, res) => this.handle(req, res));
    server.on('connection', (sock) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
    });
    return server;
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private shut(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  private later(ms: number, f: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      f();
    }, ms);
    this.timers.add(t);
  }

  private count(kind: FaultKind): void {
    this.injected.set(kind, (this.injected.get(kind) ?? 0) + 1);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = this.received++;
      let body: ChatBody = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatBody;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"bad json"}}');
        return;
      }
      this.answer(this.opts.plan(n, body), body, res);
    });
  }

  private answer(fault: Fault, body: ChatBody, res: http.ServerResponse): void {
    const maxStall = this.opts.maxStallMs ?? 5_000;
    const ok = () => {
      if (res.destroyed) return;
      const text = completion(body);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      this.answered++;
    };
    switch (fault.kind) {
      case 'ok':
        ok();
        return;
      case 'slow':
        this.later(fault.ms, ok);
        return;
      case 'status':
      case 'rate-limit': {
        this.count(fault.kind);
        const status = fault.kind === 'status' ? fault.status : 429;
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
        res.writeHead(status, headers).end(JSON.stringify({ error: { message: `injected ${status}` } }));
        return;
      }
      case 'stall-before-headers':
        this.count(fault.kind);
        this.later(maxStall, () => res.destroy());
        return;
      case 'stall-after-headers': {
        this.count(fault.kind);
        const text = completion(body);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.write(text.slice(0, 10));
        this.later(maxStall, () => res.destroy());
        return;
      }
      case 'reset-mid-body': {
        this.count(fault.kind);
        const text = completion(body);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.write(text.slice(0, Math.floor(text.length / 2)), () => res.socket?.resetAndDestroy());
        return;
      }
      case 'truncated': {
        this.count(fault.kind);
        const text = completion(body).slice(0, 25);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      case 'not-json':
        this.count(fault.kind);
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>');
        return;
      case 'down': {
        this.count(fault.kind);
        const port = this.port;
        res.socket?.destroy();
        void this.shut().then(() => {
          this.later(fault.ms, () => {
            if (this.closed) return;
            this.server = this.create();
            void this.listen(port);
          });
        });
        return;
      }
    }
  }
}

/** A small seeded PRNG (mulberry32) so a fault plan is the same every run. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
