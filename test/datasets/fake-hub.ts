/**
 * A local stand-in for the Hugging Face hub's file endpoints (node:http on 127.0.0.1): `HEAD/GET
 * /{datasets/}{repo}/resolve/{rev}/{file}` with the hub's headers (X-Repo-Commit; LFS files answer 302 to a CDN
 * origin with X-Linked-Etag = sha256 and X-Linked-Size), the CDN itself (Range requests, optionally cut short once),
 * and the paged tree API `/api/{datasets|models}/{repo}/tree/{rev}?recursive=true`.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeFile {
  content: Buffer;
  lfs: boolean;
  /** Advertise this sha256 instead of the real one (to provoke a mismatch). */
  advertisedSha?: string;
}

export interface Seen {
  server: 'hub' | 'cdn';
  method: string;
  url: string;
  authorization?: string;
  range?: string;
}

export interface FakeHub {
  endpoint: string;
  commit: string;
  seen: Seen[];
  /** Cut the next CDN/regular GET of a file after this many bytes (once). */
  cutNextAfter(bytes: number): void;
  close(): Promise<void>;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export async function startFakeHub(opts: {
  repo: string;
  type: 'dataset' | 'model';
  files: Record<string, FakeFile>;
  /** When set, every hub request must carry `Bearer <token>` (a gated repo). */
  requireToken?: string;
  pageSize?: number;
  /** A former name of the repo: its resolve URLs answer 307 with a relative Location (a renamed repo). */
  oldRepo?: string;
}): Promise<FakeHub> {
  const commit = 'c0ffee'.padEnd(40, '0');
  const seen: Seen[] = [];
  let cutAfter: number | undefined;
  const bySha = new Map(Object.values(opts.files).map((f) => [sha256(f.content), f]));

  const sendBody = (
    req: IncomingMessage,
    res: ServerResponse,
    content: Buffer,
    headers: Record<string, string>,
  ) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (start > content.length || (m && start === content.length)) {
      res.writeHead(416, { 'content-range': `bytes */${content.length}` }).end();
      return;
    }
    const body = content.subarray(start);
    res.writeHead(m ? 206 : 200, {
      ...headers,
      'content-length': String(body.length),
      ...(m ? { 'content-range': `bytes ${start}-${content.length - 1}/${content.length}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    if (cutAfter !== undefined) {
      const n = cutAfter;
      cutAfter = undefined;
      res.write(body.subarray(0, n), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(body);
  };

  let cdnOrigin = '';
  const cdn: Server = createServer((req, res) => {
    seen.push({
      server: 'cdn',
      method: req.method!,
      url: req.url!,
      authorization: req.headers.authorization,
      range: req.headers.range,
    });
    const f = bySha.get(req.url!.replace('/blob/', ''));
    if (!f) return void res.writeHead(404).end();
    sendBody(req, res, f.content, {});
  });
  const hub: Server = createServer((req, res) => {
    seen.push({
      server: 'hub',
      method: req.method!,
      url: req.url!,
      authorization: req.headers.authorization,
      range: req.headers.range,
    });
    if (opts.requireToken && req.headers.authorization !== `Bearer ${opts.requireToken}`) {
      return void res
        .writeHead(401, { 'content-type': 'text/plain' })
        .end('Access to this repo is restricted');
    }
    const url = new URL(req.url!, 'http://x');
    const kind = opts.type === 'dataset' ? 'datasets' : 'models';
    const tree = `/api/${kind}/${opts.repo}/tree/`;
    if (url.pathname.startsWith(tree)) {
      const all = Object.entries(opts.files).map(([p, f]) => ({
        type: 'file',
        path: p,
        size: f.content.length,
        ...(f.lfs ? { lfs: { oid: sha256(f.content), size: f.content.length } } : {}),
      }));
      const size = opts.pageSize ?? 100;
      const cursor = Number(url.searchParams.get('cursor') ?? 0);
      const page = all.slice(cursor, cursor + size);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (cursor + size < all.length) {
        url.searchParams.set('cursor', String(cursor + size));
        headers.link = `<${url.pathname}${url.search}>; rel="next"`;
      }
      return void res.writeHead(200, headers).end(JSON.stringify(page));
    }
    const kindPrefix = opts.type === 'dataset' ? 'datasets/' : '';
    if (opts.oldRepo && url.pathname.startsWith(`/${kindPrefix}${opts.oldRepo}/resolve/`)) {
      const moved = url.pathname.replace(`/${kindPrefix}${opts.oldRepo}/`, `/${kindPrefix}${opts.repo}/`);
      return void res.writeHead(307, { location: moved }).end();
    }
    const prefix = `/${kindPrefix}${opts.repo}/resolve/`;
    if (!url.pathname.startsWith(prefix)) return void res.writeHead(404).end();
    const rest = url.pathname.slice(prefix.length).split('/');
    const file = rest.slice(1).map(decodeURIComponent).join('/');
    const f = opts.files[file];
    if (!f) return void res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
    if (f.lfs) {
      const sha = sha256(f.content);
      return void res
        .writeHead(302, {
          location: `${cdnOrigin}/blob/${sha}`,
          'x-repo-commit': commit,
          'x-linked-etag': `"${f.advertisedSha ?? sha}"`,
          'x-linked-size': String(f.content.length),
          etag: '"0123456789abcdef0123456789abcdef01234567"',
        })
        .end();
    }
    const gitSha = createHash('sha1').update(f.content).digest('hex');
    sendBody(req, res, f.content, { 'x-repo-commit': commit, etag: `"${gitSha}"` });
  });
  await new Promise<void>((r) => cdn.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
  cdnOrigin = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;
  return {
    endpoint: `http://127.0.0.1:${(hub.address() as AddressInfo).port}`,
    commit,
    seen,
    cutNextAfter: (n) => {
      cutAfter = n;
    },
    close: async () => {
      hub.closeAllConnections();
      cdn.closeAllConnections();
      await Promise.all([new Promise((r) => hub.close(r)), new Promise((r) => cdn.close(r))]);
    },
  };
}
