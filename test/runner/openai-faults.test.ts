/**
 * The openai backend against servers that misbehave (fault-server.ts): every failure kind named, Retry-After and
 * backoff honoured, dead endpoints taken out of the balance and probed again, and a whole run over faulty
 * endpoints that ends with every sample exactly once (a prediction or a named error record).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { GenerationRequest } from '../../src/runner/backend.ts';
import { EndpointPool, type Clock } from '../../src/runner/backends/endpoint-pool.ts';
import {
  FAILURE_KINDS,
  jitteredBackoffMs,
  parseRetryAfter,
  type FailureKind,
} from '../../src/runner/backends/http-json.ts';
import { OpenAIBackend } from '../../src/runner/backends/openai.ts';
import { runEvaluation } from '../../src/runner/run-evaluation.ts';
import { answerFor, FaultServer, seeded, type ChatBody, type Fault } from './fault-server.ts';
import { readJsonl, tempDir, writeTasks } from './helpers.ts';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../bin/internvl-eval.js');
const lineCount = (file: string) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '').length
    : 0;

/** Virtual time: `sleep` moves the clock instead of waiting, so schedules are checked without wall-clock time. */
class VirtualClock implements Clock {
  t = 0;
  sleeps: number[] = [];
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.t += ms;
    await new Promise((r) => setImmediate(r));
  }
}

const req = (id: string, question = `q ${id}`): GenerationRequest => ({
  id,
  question,
  images: [],
  maxTiles: [],
  useThumbnail: true,
  maxNewTokens: 8,
  minNewTokens: 0,
});

const servers: FaultServer[] = [];
async function faulty(plan: (n: number, body: ChatBody) => Fault, maxStallMs = 2_000): Promise<FaultServer> {
  const s = await FaultServer.start({ plan, maxStallMs });
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A URL where nothing listens. */
async function deadUrl(): Promise<string> {
  const s = await FaultServer.start({ plan: () => ({ kind: 'ok' }) });
  const url = s.url;
  await s.close();
  return url;
}

describe('Retry-After and backoff', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each<[string | null, number | undefined]>([
    ['3', 3000],
    [' 0 ', 0],
    ['1.5', 1500],
    ['Thu, 01 Jan 2026 00:00:07 GMT', 7000],
    ['Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['soon', undefined],
    ['', undefined],
    [null, undefined],
  ])('Retry-After %j → %j ms', (value, want) => {
    expect(parseRetryAfter(value, now)).toBe(want);
  });

  it.each([
    [1, 0, 50],
    [1, 0.999, 100],
    [3, 0, 200],
    [3, 0.5, 300],
    [10, 0.9, 950],
    [10, 0.999, 1000],
  ])('retry %i with random %f waits %i ms (base 100, cap 1000)', (attempt, random, want) => {
    expect(Math.round(jitteredBackoffMs(attempt, 100, 1000, random))).toBe(want);
  });
});

describe('openai backend failure kinds', () => {
  it.each<[Fault, FailureKind]>([
    [{ kind: 'status', status: 500 }, 'http-5xx'],
    [{ kind: 'status', status: 502 }, 'http-5xx'],
    [{ kind: 'status', status: 503 }, 'http-5xx'],
    [{ kind: 'rate-limit', retryAfter: '0' }, 'rate-limited'],
    [{ kind: 'stall-before-headers' }, 'timeout'],
    [{ kind: 'stall-after-headers' }, 'stalled'],
    [{ kind: 'reset-mid-body' }, 'reset'],
    [{ kind: 'truncated' }, 'truncated'],
    [{ kind: 'not-json' }, 'not-json'],
    [{ kind: 'status', status: 400 }, 'http-4xx'],
  ])('%j is a %s failure, named in the error and counted for its endpoint', async (fault, kind) => {
    const s = await faulty(() => fault);
    // Only a stall needs the timeout to fire; the others get room, so a loaded machine cannot turn them into timeouts.
    const stall = fault.kind === 'stall-before-headers' || fault.kind === 'stall-after-headers';
    const timeoutMs = stall ? 300 : 10_000;
    const client = new OpenAIBackend({ endpoints: [s.url], model: 'm', retries: 0, timeoutMs });
    const [r] = await client.generate([req('a')]);
    expect(r.error).toMatch(new RegExp(`^(gave up after 1 attempts \\(${kind} ×1\\); last: )?${kind}: `));
    const [stats] = client.endpointStats();
    expect(stats).toMatchObject({ requests: 1, ok: 0, retries: 0, errors: { [kind]: 1 } });
    expect(FAILURE_KINDS).toContain(kind);
  });

  it('retries each retryable kind and then succeeds, counting retries and errors by kind', async () => {
    const faults: Fault[] = [
      { kind: 'status', status: 502 },
      { kind: 'reset-mid-body' },
      { kind: 'truncated' },
      { kind: 'not-json' },
      { kind: 'stall-after-headers' },
    ];
    const s = await faulty((n) => faults[n] ?? { kind: 'ok' });
    const clock = new VirtualClock();
    const client = new OpenAIBackend({
      endpoints: [s.url],
      model: 'm',
      retries: 5,
      timeoutMs: 300,
      backoffMs: 100,
      deadAfter: 100,
      clock,
      random: () => 0,
    });
    const [r] = await client.generate([req('a', 'the answer')]);
    expect(r.error).toBeUndefined();
    expect(r.text).toBe('the answer');
    expect(client.endpointStats()[0]).toMatchObject({
      requests: 6,
      ok: 1,
      retries: 5,
      errors: { 'http-5xx': 1, reset: 1, truncated: 1, 'not-json': 1, stalled: 1 },
    });
    // Exponential backoff (jitter 0: half of base·2^k), on virtual time.
    expect(clock.sleeps).toEqual([50, 100, 200, 400, 800]);
  });
});

describe('openai backend endpoint health', () => {
  it('waits for Retry-After (seconds and HTTP-date) before asking that endpoint again', async () => {
    const clock = new VirtualClock();
    const arrivals: number[] = [];
    // The HTTP-date is written when the request arrives (the client reads it against the wall clock then), so
    // time the test spent before that request, e.g. on a loaded machine, does not eat into the 4 s.
    const plan: (() => Fault)[] = [
      () => ({ kind: 'rate-limit', retryAfter: '7' }),
      () => ({ kind: 'status', status: 503, retryAfter: new Date(Date.now() + 4_000).toUTCString() }),
    ];
    const s = await faulty((n) => {
      arrivals.push(clock.now());
      return plan[n]?.() ?? { kind: 'ok' };
    });
    const client = new OpenAIBackend({
      endpoints: [s.url],
      model: 'm',
      retries: 3,
      backoffMs: 10,
      clock,
      random: () => 0,
    });
    const [r] = await client.generate([req('a')]);
    expect(r.error).toBeUndefined();
    expect(arrivals).toHaveLength(3);
    expect(arrivals[1] - arrivals[0]).toBeGreaterThanOrEqual(7_000);
    // An HTTP-date has one-second resolution: at least 3 s of the 4 asked.
    expect(arrivals[2] - arrivals[1]).toBeGreaterThanOrEqual(3_000);
    expect(client.endpointStats()[0].retryAfterMs).toBeGreaterThanOrEqual(10_000);
  });

  it('does not wait out one endpoint’s Retry-After when another endpoint is free', async () => {
    const clock = new VirtualClock();
    const busy = await faulty(() => ({ kind: 'rate-limit', retryAfter: '60' }));
    const free = await faulty(() => ({ kind: 'ok' }));
    const client = new OpenAIBackend({
      endpoints: [busy.url, free.url],
      model: 'm',
      balance: 'round-robin',
      retries: 2,
      backoffMs: 10,
      clock,
      random: () => 0,
    });
    for (let i = 0; i < 6; i++) {
      const [r] = await client.generate([req(String(i))]);
      expect(r.error).toBeUndefined();
    }
    expect(busy.received).toBe(1); // asked once, then left alone for its 60 s
    expect(clock.t).toBeLessThan(60_000);
  });

  it('takes a dead endpoint out of the balance and probes it again later, doubling the wait', async () => {
    const clock = new VirtualClock();
    const dead = await deadUrl();
    const live = await faulty(() => ({ kind: 'ok' }));
    const client = new OpenAIBackend({
      endpoints: [dead, live.url],
      model: 'm',
      balance: 'round-robin',
      retries: 3,
      backoffMs: 1,
      deadAfter: 2,
      probeAfterMs: 10_000,
      clock,
    });
    for (let i = 0; i < 10; i++) {
      const [r] = await client.generate([req(String(i))]);
      expect(r.error).toBeUndefined();
    }
    let [d] = client.endpointStats();
    expect(d).toMatchObject({ requests: 2, errors: { refused: 2 }, markedDown: 1 });
    clock.t += 10_001; // time out over: the next pick probes it once, fails, and it stays out twice as long
    for (let i = 0; i < 10; i++) await client.generate([req(`b${i}`)]);
    [d] = client.endpointStats();
    expect(d).toMatchObject({ requests: 3, errors: { refused: 3 }, markedDown: 2 });
    clock.t += 10_001; // not yet: 20 s this time
    for (let i = 0; i < 4; i++) await client.generate([req(`c${i}`)]);
    expect(client.endpointStats()[0].requests).toBe(3);
    expect(client.endpointStats()[1].ok).toBe(24);
  });

  it('puts an endpoint that comes back into the balance again after a successful probe', async () => {
    const clock = new VirtualClock();
    let back = false;
    const flaky = await faulty(() => (back ? { kind: 'ok' } : { kind: 'status', status: 503 }));
    const live = await faulty(() => ({ kind: 'ok' }));
    const client = new OpenAIBackend({
      endpoints: [flaky.url, live.url],
      model: 'm',
      balance: 'round-robin',
      retries: 3,
      backoffMs: 1,
      deadAfter: 1,
      probeAfterMs: 5_000,
      clock,
    });
    await client.generate([req('0')]);
    expect(client.endpointStats()[0].markedDown).toBe(1);
    back = true;
    clock.t += 5_001;
    for (let i = 0; i < 8; i++) await client.generate([req(String(i))]);
    expect(client.endpointStats()[0].ok).toBeGreaterThanOrEqual(3); // probe, then its share again
  });

  it('a pool with every endpoint down waits for the first to come back', async () => {
    const clock = new VirtualClock();
    const pool = new EndpointPool(['a', 'b'], { deadAfter: 1, probeAfterMs: 1_000, clock });
    (await pool.acquire(false))!.failed('refused');
    (await pool.acquire(false))!.failed('refused');
    expect(pool.down().sort()).toEqual(['a', 'b']);
    const lease = await pool.acquire(true);
    expect(clock.t).toBeGreaterThanOrEqual(1_000);
    lease!.succeeded();
    expect(pool.stats().reduce((n, s) => n + s.ok, 0)).toBe(1);
  });
});

/** Faults for the matrix: a seeded mix of every kind, about 35% of attempts. */
function matrixPlan(
  seed: number,
  downAt: number | null,
  /** Questions every server refuses (400): they must end as named error records, once each. */
  refused: ReadonlySet<string> = new Set(),
): (n: number, body: ChatBody) => Fault {
  const rnd = seeded(seed);
  const faults: Fault[] = [
    { kind: 'status', status: 500 },
    { kind: 'status', status: 502 },
    { kind: 'status', status: 503, retryAfter: '1' },
    { kind: 'rate-limit', retryAfter: '1' },
    { kind: 'stall-before-headers' },
    { kind: 'stall-after-headers' },
    { kind: 'reset-mid-body' },
    { kind: 'truncated' },
    { kind: 'not-json' },
  ];
  return (n, body) => {
    if (refused.has(answerFor(body))) return { kind: 'status', status: 400 };
    if (n === downAt) return { kind: 'down', ms: 800 };
    const x = rnd();
    if (x < 0.35) return faults[Math.floor(rnd() * faults.length)];
    if (x < 0.45) return { kind: 'slow', ms: 30 };
    return { kind: 'ok' };
  };
}

describe('a run over faulty endpoints', () => {
  it('ends with every sample exactly once, each failure named, retries and errors counted per endpoint', async () => {
    const refused = new Set(['q7', 'q41']);
    const a = await faulty(matrixPlan(1, 10, refused), 1_000);
    const b = await faulty(matrixPlan(2, null, refused), 1_000);
    const c = await faulty(matrixPlan(3, 25, refused), 1_000);
    const root = tempDir('runner-faults-');
    const rows = Array.from({ length: 60 }, (_, i) => ({
      question_id: `s${i}`,
      question: `q${i}`,
      answer: 'yes',
      image: `${i}.png`,
    }));
    const { configDir, dataRoot } = writeTasks(root, [{ name: 'alpha', rows }]);
    const out = path.join(root, 'run');
    const summary = await runEvaluation({
      model: 'm',
      backend: 'openai',
      endpoints: [a.url, b.url, c.url],
      tasks: ['alpha'],
      configDir,
      dataRoot,
      out,
      retries: 8,
      retryBackoffMs: 20,
      requestTimeoutMs: 300,
      concurrency: 6,
      progress: 'none',
    });
    const records = readJsonl(path.join(out, 'predictions', 'alpha.jsonl'));
    const ids = records.map((r) => r.id as string);
    const lost = rows.filter((r) => !ids.includes(r.question_id)).length;
    const duplicated = ids.length - new Set(ids).size;
    const faults = a.faults + b.faults + c.faults;
    const errors = records.filter((r) => r.error !== undefined);
    console.log(
      `fault matrix: faults injected ${faults}, samples ${records.length}, lost ${lost}, duplicated ${duplicated}, ` +
        `error records ${errors.length}`,
    );
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(faults).toBeGreaterThan(20);
    expect(errors.map((r) => r.id).sort()).toEqual(['s41', 's7']);
    for (const r of records) {
      if (r.error !== undefined) {
        expect(r.error).toMatch(
          // The runner marks a backend's failure `model: `; the kind follows.
          new RegExp(`^model: (gave up after \\d+ attempts \\(.*\\); last: )?(${FAILURE_KINDS.join('|')}): `),
        );
      } else {
        expect(r.prediction).toBe(`q${r.id.slice(1)}`);
      }
    }
    // The summary's per-endpoint counts agree with what the servers saw and injected.
    const stats = summary.endpoints!;
    expect(stats.map((s) => s.url)).toEqual([a, b, c].map((s) => `${s.url}/v1/chat/completions`));
    const sum = (f: (s: (typeof stats)[number]) => number) => stats.reduce((n, s) => n + f(s), 0);
    const injected = (k: Fault['kind']) => [a, b, c].reduce((n, s) => n + (s.injected.get(k) ?? 0), 0);
    expect(sum((s) => s.ok)).toBe(records.length - errors.length);
    expect(sum((s) => s.errors['http-4xx'] ?? 0)).toBe(refused.size);
    expect(sum((s) => (s.errors['http-5xx'] ?? 0) + (s.errors['http-4xx'] ?? 0))).toBe(injected('status'));
    expect(sum((s) => s.errors['rate-limited'] ?? 0)).toBe(injected('rate-limit'));
    expect(sum((s) => s.errors.truncated ?? 0)).toBe(injected('truncated'));
    expect(sum((s) => s.errors['not-json'] ?? 0)).toBe(injected('not-json'));
    // A server going down also cuts the stalls in flight there: those end as resets, not timeouts.
    const cut = sum((s) => (s.errors.timeout ?? 0) + (s.errors.stalled ?? 0) + (s.errors.reset ?? 0));
    expect(sum((s) => s.errors.timeout ?? 0)).toBeLessThanOrEqual(injected('stall-before-headers'));
    expect(sum((s) => s.errors.stalled ?? 0)).toBeLessThanOrEqual(injected('stall-after-headers'));
    expect(cut).toBeGreaterThanOrEqual(
      injected('stall-before-headers') + injected('stall-after-headers') + injected('reset-mid-body'),
    );
    expect(injected('down')).toBe(2); // two endpoints went away for a while and came back
    expect(sum((s) => s.retries)).toBeGreaterThan(0);
    expect(sum((s) => s.requests)).toBe(
      sum((s) => s.ok + Object.values(s.errors).reduce((x, y) => x + y, 0)),
    );
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.sessions.at(-1).endpoints).toEqual(stats);
  }, 60_000);
});

describe('kill -9 and --resume in the middle of faults', () => {
  it('a real `run --backend openai` child, SIGKILLed part-way and resumed, logs every sample exactly once', async () => {
    const a = await faulty(matrixPlan(11, 30), 1_000);
    const b = await faulty(matrixPlan(12, null), 1_000);
    const root = tempDir('runner-faults-kill-');
    const rows = Array.from({ length: 40 }, (_, i) => ({
      question_id: `s${i}`,
      question: `q${i}`,
      answer: 'yes',
      image: `${i}.png`,
    }));
    const { configDir, dataRoot } = writeTasks(root, [{ name: 'alpha', rows }]);
    const out = path.join(root, 'run');
    const args = [
      cli,
      'run',
      '--model',
      'm',
      '--backend',
      'openai',
      '--endpoint',
      a.url,
      '--endpoint',
      b.url,
      '--tasks',
      'alpha',
      '--config-dir',
      configDir,
      '--data-root',
      dataRoot,
      '--out',
      out,
      '--retries',
      '8',
      '--retry-backoff',
      '0.02',
      '--request-timeout',
      '0.4',
      '--concurrency',
      '2',
      '--quiet',
      '--no-report',
    ];
    const log = path.join(out, 'predictions', 'alpha.jsonl');
    // Child processes, not spawnSync: the fault servers live in this process's event loop.
    const runChild = (extra: string[]) => {
      const child = spawn(process.execPath, [...args, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d) => (output += String(d)));
      child.stderr.on('data', (d) => (output += String(d)));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      return { child, exited, output: () => output };
    };
    const first = runChild([]);
    for (let i = 0; i < 1200 && lineCount(log) < 8 && first.child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    first.child.kill('SIGKILL');
    await first.exited;
    const partial = lineCount(log);
    expect(partial, first.output()).toBeGreaterThanOrEqual(8);
    expect(partial).toBeLessThan(rows.length);

    const second = runChild(['--resume']);
    expect(await second.exited, second.output()).toBe(0);
    const records = readJsonl(log);
    const ids = records.map((r) => r.id as string);
    const lost = rows.filter((r) => !ids.includes(r.question_id)).length;
    const duplicated = ids.length - new Set(ids).size;
    const errors = records.filter((r) => r.error !== undefined);
    console.log(
      `kill -9 + resume under faults: faults injected ${a.faults + b.faults}, samples ${records.length} ` +
        `(${partial} before the kill), lost ${lost}, duplicated ${duplicated}, error records ${errors.length}`,
    );
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(a.faults + b.faults).toBeGreaterThan(5);
    for (const r of records) {
      if (r.error !== undefined)
        expect(r.error).toMatch(
          new RegExp(`^model: (gave up after \\d+ attempts \\(.*\\); last: )?(${FAILURE_KINDS.join('|')}): `),
        );
      else expect(r.prediction).toBe(`q${r.id.slice(1)}`);
    }
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.status).toBe('complete');
    expect(manifest.sessions).toHaveLength(2);
    expect(manifest.sessions[1].endpoints.map((e: { url: string }) => e.url)).toHaveLength(2);
  }, 90_000);
});
