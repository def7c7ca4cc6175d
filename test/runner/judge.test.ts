/**
 * The optional local judge (src/runner/judge.ts) against a fake OpenAI-compatible judge on 127.0.0.1 (node:http,
 * ephemeral port). The fake judge grades from the prompt it receives, so the expected scores follow from the
 * prompts the code builds, not from typed-in numbers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listTasks } from '../../src/datasets/task-config.ts';
import type { TaskConfig } from '../../src/datasets/task.ts';
import { meanCi } from '../../src/metrics/bootstrap.ts';
import { judgeMmvetSample } from '../../src/metrics/mmvet-judge.ts';
import { judgeExternalTask, judgeKindOf } from '../../src/runner/judge.ts';
import {
  createJudgeClient,
  maskSecret,
  recordableEndpoint,
  type JudgeClient,
} from '../../src/runner/judge-client.ts';
import type { PredictionRecord } from '../../src/runner/prediction-record.ts';
import { runEvaluation } from '../../src/runner/run-evaluation.ts';
import { runWithReport } from '../../src/report/run-with-report.ts';
import { runOptionsFromArgs, type RunArgs } from '../../src/cli/run.ts';
import { FakeBackend, fakeDeps, readJsonl, tempDir, writeTasks } from './helpers.ts';

// ---------------------------------------------------------------- the fake judge

interface Seen {
  auth: string | undefined;
  body: {
    model: string;
    messages: { role: string; content: { type: string; text: string }[] }[];
    temperature: number;
    max_tokens: number;
    n: number;
  };
}

type Reply = { status?: number; content?: string; raw?: string };
let handler: (prompt: string, seen: Seen) => Reply = () => ({ content: '0.0' });
const seen: Seen[] = [];
let server: Server;
let endpoint = '';

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      const s: Seen = { auth: req.headers.authorization, body: JSON.parse(data) };
      seen.push(s);
      const r = handler(s.body.messages[0].content[0].text, s);
      res.writeHead(r.status ?? 200, { 'content-type': 'application/json' });
      res.end(
        r.raw ??
          JSON.stringify(
            r.status && r.status >= 400
              ? { error: { message: `fake judge says no (${s.auth ?? 'no auth'})` } }
              : { choices: [{ message: { role: 'assistant', content: r.content } }] },
          ),
      );
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
});

beforeEach(() => {
  seen.length = 0;
});

function client(extra: { apiKey?: string; retries?: number } = {}): JudgeClient {
  return createJudgeClient({
    endpoint,
    model: 'fake-gpt',
    timeoutMs: 5000,
    retries: extra.retries ?? 0,
    backoffMs: 1,
    maxBackoffMs: 2,
    ...(extra.apiKey ? { apiKey: extra.apiKey } : {}),
  });
}

/** The `question | gt | prediction | ` row an MM-Vet prompt ends with. */
function mmvetRow(prompt: string): { q: string; gt: string; pred: string } {
  const last = prompt.slice(prompt.lastIndexOf('\n') + 1);
  const [q, gt, pred] = last.split(' | ');
  return { q, gt, pred };
}

/** Grades exact matches 1.0, anything else 0.0; predictions containing "half" get 0.5; "garbage" never parses. */
function mmvetGrader(prompt: string): Reply {
  const { gt, pred } = mmvetRow(prompt);
  if (pred.includes('garbage')) return { content: 'I cannot grade this' };
  if (pred.includes('half')) return { content: ' 0.5\n' };
  return { content: pred === gt ? '1.0' : '0.0' };
}

describe('judgeKindOf: the task YAML names the grader (external.judge), never the task name', () => {
  const t = (name: string, judge?: 'mmvet' | 'mathvista'): TaskConfig =>
    ({
      name,
      external: { reason: 'r', submissionFormat: 'json', ...(judge ? { judge } : {}) },
    }) as TaskConfig;
  it.each([
    ['mmvet', 'mmvet', 'mmvet'],
    ['mathvista_testmini', 'mathvista', 'mathvista'],
    ['any_name', 'mathvista', 'mathvista'],
    ['mathvista_testmini', undefined, null],
    ['mmvet', undefined, null],
  ] as [string, 'mmvet' | 'mathvista' | undefined, string | null][])(
    '%s (judge: %s) -> %s',
    (name, j, want) => {
      expect(judgeKindOf(t(name, j))).toBe(want);
    },
  );
  it('a task without an external block is never judged', () => {
    expect(judgeKindOf({ name: 'mmvet' } as TaskConfig)).toBe(null);
  });

  it('configs/tasks: the MM-Vet and MathVista tasks take their graders; server-scored tasks none', async () => {
    const graders = Object.fromEntries(
      (await listTasks()).flatMap((task) => {
        const kind = judgeKindOf(task);
        return kind ? [[task.name, kind]] : [];
      }),
    );
    expect(graders).toEqual({ mathvista_testmini: 'mathvista', mmvet: 'mmvet', mmvet_vlmevalkit: 'mmvet' });
  });
});

describe('secrets and endpoints', () => {
  it('recordableEndpoint drops user info and query', () => {
    expect(recordableEndpoint('https://u:secret@h.example/v1?api-key=secret#x')).toBe('https://h.example/v1');
  });
  it('maskSecret hides an echoed key', () => {
    expect(maskSecret('bad key sk-123 given', 'sk-123')).toBe('bad key *** given');
  });
});

// ---------------------------------------------------------------- one MM-Vet sample over HTTP

describe('judgeMmvetSample against the fake judge', () => {
  it('sends one text part, n=1, max_tokens 3, temperature 0; parses the stripped reply', async () => {
    handler = mmvetGrader;
    const r = await judgeMmvetSample(client(), 'q?', 'a', 'a half answer');
    expect(r.score).toBe(0.5);
    expect(r.trace.log).toBe('Succeed');
    expect(seen).toHaveLength(1);
    expect(seen[0].body).toMatchObject({ model: 'fake-gpt', n: 1, temperature: 0, max_tokens: 3 });
    expect(seen[0].body.messages).toHaveLength(1);
    expect(seen[0].auth).toBeUndefined();
  });

  it('malformed replies are retried at temperatures 0, 0.5, 1, 1.5, 2, then score 0 (MMVet_auxeval)', async () => {
    handler = () => ({ content: 'maybe 2' });
    const r = await judgeMmvetSample(client(), 'q?', 'a', 'b');
    expect(seen.map((s) => s.body.temperature)).toEqual([0, 0.5, 1, 1.5, 2]);
    expect(r.score).toBe(0);
    expect(r.trace.outputs).toEqual(Array(5).fill('maybe 2'));
    expect(r.trace.log).toMatch(
      /^Try 0: output is maybe 2, failed to parse\.\n[\s\S]*All 5 retries failed\.\n$/,
    );
    expect(r.trace.error).toBeUndefined();
  });

  it('an out-of-range grade is retried; a later valid one counts', async () => {
    let k = 0;
    handler = () => ({ content: ['1.7', 'nope', '0.3'][k++] ?? '0.9' });
    const r = await judgeMmvetSample(client(), 'q?', 'a', 'b');
    expect(r.score).toBe(0.3);
    expect(seen).toHaveLength(3);
    expect(r.trace.log).toContain('Try 0: output is 1.7, invalid score: 1.7.');
  });

  it('a judge that never answers gives an error note and no score, not a crash', async () => {
    handler = () => ({ status: 400 });
    const r = await judgeMmvetSample(client(), 'q?', 'a', 'b');
    expect(r.score).toBeNull();
    expect(r.trace.error).toMatch(/^judge unreachable: HTTP 400: fake judge says no/);
    expect(seen).toHaveLength(5);
  });

  it('an error reply that echoes the key is masked in the note', async () => {
    handler = () => ({ status: 401 });
    const r = await judgeMmvetSample(client({ apiKey: 'sk-echo-me-42' }), 'q?', 'a', 'b');
    expect(seen[0].auth).toBe('Bearer sk-echo-me-42');
    expect(r.trace.error).toContain('fake judge says no (Bearer ***)');
    expect(JSON.stringify(r.trace)).not.toContain('sk-echo-me-42');
  });

  it('5xx is retried by the HTTP layer within a try', async () => {
    let k = 0;
    handler = () => (k++ === 0 ? { status: 503 } : { content: '1.0' });
    const r = await judgeMmvetSample(client({ retries: 2 }), 'q?', 'a', 'a');
    expect(r.score).toBe(1);
    expect(seen.map((s) => s.body.temperature)).toEqual([0, 0]);
  });
});

// ---------------------------------------------------------------- MathVista task

function mvRecord(
  id: string,
  prediction: string,
  answer: string,
  meta: Record<string, unknown>,
): PredictionRecord {
  return {
    id,
    task: 'mathvista_testmini',
    promptHash: '',
    prompt: `<image>\nQuestion ${id}?`,
    tiles: [1],
    imageTokens: 256,
    promptTokens: 1,
    outputTokens: 1,
    latencyMs: 1,
    prediction,
    answers: [answer],
    score: null,
    meta,
  };
}

const mathvistaTask = {
  name: 'mathvista_testmini',
  title: 'MathVista testmini',
  group: 'image',
  source: { format: 'vlmevalkit-tsv', path: 'MathVista_MINI.tsv' },
  external: { reason: 'GPT-4-Turbo extraction', submissionFormat: 'vlmevalkit-xlsx', judge: 'mathvista' },
} as TaskConfig;

/** Extracts the first number of the model response, like a sensible judge would. */
function mathvistaExtractor(prompt: string): Reply {
  const m = /Model respone: ([\s\S]*)Extracted answer:$/.exec(prompt);
  if (!m) return { content: 'bad prompt' };
  return { content: /-?\d+(\.\d+)?/.exec(m[1])?.[0] ?? 'none' };
}

describe('judgeExternalTask: MathVista', () => {
  const mc = {
    question_type: 'multi_choice',
    answer_type: 'text',
    choices: "['3/11', '8/11', '6/11']",
    answer_option: 'B',
  };
  const int = { question_type: 'free_form', answer_type: 'integer' };
  const flt = { question_type: 'free_form', answer_type: 'float' };

  it('prefetch bypasses the judge; the rest go through extraction then post_check', async () => {
    handler = mathvistaExtractor;
    const records = [
      mvRecord('1', 'The answer is B', '8/11', {
        ...mc,
        task: 'geometry',
        skills: "['algebraic reasoning']",
      }),
      mvRecord('2', 'The answer is C', '8/11', { ...mc, task: 'geometry' }),
      mvRecord('3', '14', '14', { ...int, task: 'vqa' }),
      mvRecord('4', 'I count 7 apples.', '7', { ...int, task: 'vqa' }),
      mvRecord('5', 'roughly 0.5 of them', '0.6', { ...flt, task: 'vqa' }),
      mvRecord('6', '0', '0', { ...int, task: 'vqa' }), // int 0 is falsy: goes to the judge (quirk)
      { ...mvRecord('7', '', '3', { ...int }), error: 'model: out of memory' },
    ];
    const j = (await judgeExternalTask(mathvistaTask, records, client()))!;
    const byId = Object.fromEntries(j.records.map((r) => [r.id, r]));
    // Judge asked for 4, 5 and 6 only (one request each), with max_tokens 128.
    expect(seen.map((s) => s.body.max_tokens)).toEqual([128, 128, 128]);
    expect(
      seen.map((s) => /Model respone: (.*)Extracted/.exec(s.body.messages[0].content[0].text)![1]).sort(),
    ).toEqual(['0', 'I count 7 apples.', 'roughly 0.5 of them']);
    expect(seen[0].body.messages[0].content[0].text).toContain('\nQuestion ');
    expect(byId['1']).toMatchObject({ score: 1, extracted: 'B' });
    expect((byId['1'].meta!.judge as { log: string; prefetch: boolean }).log).toBe('Prefetch succeed');
    expect(byId['2']).toMatchObject({ score: 0, extracted: 'C' });
    expect(byId['3']).toMatchObject({ score: 1, extracted: 14 });
    expect(byId['4']).toMatchObject({ score: 1, extracted: '7' });
    expect(byId['5']).toMatchObject({ score: 0, extracted: '0.5' });
    expect(byId['6']).toMatchObject({ score: 1, extracted: '0' });
    expect((byId['6'].meta!.judge as { prefetch: boolean }).prefetch).toBe(false);
    expect(byId['7'].score).toBeNull(); // model failure: not judged
    expect(byId['7'].meta!.judge).toBeUndefined();
    const hits = [1, 0, 1, 1, 0, 1];
    expect(j.aggregate!.score).toBeCloseTo((100 * 4) / 6, 10);
    expect(j.aggregate!.n).toBe(6);
    expect(j.aggregate!.ci95).toEqual(meanCi(hits, 100));
    expect(j.aggregate!.breakdown).toMatchObject({ geometry: 50, vqa: 75, 'algebraic reasoning': 100 });
    expect(j.prefetched).toBe(3);
    expect(j.note).toMatch(/not the official judge; the official score is external/);
  });

  it('columns missing from meta are read from the source TSV by line', async () => {
    handler = mathvistaExtractor;
    const root = tempDir('judge-mv-');
    const header = [
      'index',
      'image',
      'question',
      'answer',
      'answer_option',
      'choices',
      'question_type',
      'answer_type',
      'task',
    ];
    const rows = [
      ['11', 'AAAA', 'Which? Choices: (A) x (B) y', 'y', 'B', "['x', 'y']", 'multi_choice', 'text', 'fqa'],
      ['12', 'AAAA', 'How many?', '3', '', '', 'free_form', 'integer', 'fqa'],
    ];
    writeFileSync(
      path.join(root, 'MathVista_MINI.tsv'),
      [header, ...rows].map((r) => r.join('\t')).join('\n') + '\n',
    );
    const records = [
      mvRecord('11', 'B', 'y', { index: 11, line: 2 }),
      mvRecord('12', 'there are three, so 3', '3', { index: 12, line: 3 }),
    ];
    const j = (await judgeExternalTask(mathvistaTask, records, client(), { dataRoot: root }))!;
    expect(j.records.map((r) => r.score)).toEqual([1, 1]);
    expect(seen).toHaveLength(1);
    // The extraction prompt carries the TSV's raw question column.
    expect(seen[0].body.messages[0].content[0].text).toContain(
      '\nHow many?\nModel respone: there are three, so 3',
    );
  });

  it('without the columns anywhere, samples get an error note and the task has no aggregate', async () => {
    const j = (await judgeExternalTask(mathvistaTask, [mvRecord('1', 'B', 'y', {})], client(), {
      dataRoot: tempDir('judge-none-'),
    }))!;
    expect(j.aggregate).toBeNull();
    expect(j.judgeErrors).toBe(1);
    expect((j.records[0].meta!.judge as { error: string }).error).toMatch(/no question_type/);
    expect(seen).toHaveLength(0);
  });
});

// ---------------------------------------------------------------- through the runner

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('runEvaluation --judge-endpoint', () => {
  it('MM-Vet judged: records, scores/TASK.json with judge + CI, report label; server task untouched; key never written', async () => {
    handler = mmvetGrader;
    const SECRET = 'sk-judge-9f3c1e7d2b';
    const KEY_ENV = 'INTERNVL_EVAL_TEST_JUDGE_KEY';
    process.env[KEY_ENV] = SECRET;
    const root = tempDir('judge-run-');
    const { configDir, dataRoot } = writeTasks(root, [
      {
        name: 'mmvet',
        rows: [
          { question_id: 0, question: 'What animal? answer:cat', answer: 'cat' },
          { question_id: 1, question: 'Which color? answer:blue', answer: 'red' },
          { question_id: 2, question: 'Explain answer:half-right', answer: 'x<AND>y' },
          { question_id: 3, question: 'Say answer:garbage', answer: 'z' },
          { question_id: 4, question: 'fail please', answer: 'w' },
        ],
        external: true,
      },
      { name: 'docvqa_test', rows: [{ question_id: 7, question: 'q answer:a', answer: '' }], external: true },
    ]);
    const yaml = path.join(configDir, 'mmvet.yaml');
    writeFileSync(
      yaml,
      readFileSync(yaml, 'utf8').replace(
        'submissionFormat: json',
        'submissionFormat: mmvet-json\n  judge: mmvet',
      ),
    );
    const yaml2 = path.join(configDir, 'docvqa_test.yaml');
    writeFileSync(
      yaml2,
      readFileSync(yaml2, 'utf8').replace('submissionFormat: json', 'submissionFormat: rrc-docvqa-json'),
    );
    const out = path.join(root, 'run');
    try {
      const s = await runWithReport({
        model: 'fake',
        backend: 'echo',
        tasks: ['mmvet', 'docvqa_test'],
        configDir,
        dataRoot,
        out,
        progress: 'none',
        deps: fakeDeps,
        commandLine: ['run', '--judge-api-key-env', KEY_ENV],
        backendInstance: new FakeBackend(),
        judgeEndpoint: endpoint,
        judgeModel: 'fake-gpt',
        judgeApiKeyEnv: KEY_ENV,
        judgeRetries: 0,
      });
      // Every judge request carried the key; only mmvet samples 0-3 were judged (4 failed in the model).
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((x) => x.auth === `Bearer ${SECRET}`)).toBe(true);
      const prompts = seen.map((x) => mmvetRow(x.body.messages[0].content[0].text));
      expect(new Set(prompts.map((p) => p.q))).toEqual(
        new Set([
          'What animal? answer:cat',
          'Which color? answer:blue',
          'Explain answer:half-right',
          'Say answer:garbage',
        ]),
      );
      expect(prompts.find((p) => p.q.startsWith('Explain'))!.gt).toBe('x <AND> y');
      expect(
        seen.filter((x) => mmvetRow(x.body.messages[0].content[0].text).pred === 'garbage'),
      ).toHaveLength(5);

      const recs = readJsonl(path.join(out, 'predictions', 'mmvet.jsonl'));
      const grades = Object.fromEntries(recs.map((r) => [r.id, r.score]));
      expect(grades).toEqual({ '0': 1, '1': 0, '2': 0.5, '3': 0, '4': null });
      expect(recs[0].extracted).toBe(1);
      expect(recs[0].meta.judge).toMatchObject({ model: 'fake-gpt', log: 'Succeed', outputs: ['1.0'] });
      expect(recs[3].meta.judge.log).toContain('All 5 retries failed.');

      const score = JSON.parse(readFileSync(path.join(out, 'scores', 'mmvet.json'), 'utf8'));
      expect(score.judge).toEqual({ model: 'fake-gpt', endpoint });
      expect(score.external.submissionFormat).toBe('mmvet-json');
      expect(score.aggregate.score).toBeCloseTo((100 * 1.5) / 4, 10);
      expect(score.aggregate.n).toBe(4);
      expect(score.aggregate.ci95).toEqual(meanCi([1, 0, 0.5, 0], 100));
      expect(score.errors).toBe(1);
      expect(s.tasks[0].score.judge?.model).toBe('fake-gpt');

      // The server-scored task is never judged.
      const doc = JSON.parse(readFileSync(path.join(out, 'scores', 'docvqa_test.json'), 'utf8'));
      expect(doc.aggregate).toBeNull();
      expect(doc.judge).toBeUndefined();
      expect(readJsonl(path.join(out, 'predictions', 'docvqa_test.jsonl'))[0].score).toBeNull();
      expect(s.notes.join('\n')).toMatch(
        /docvqa_test: scored by a submission server; the judge does not score it/,
      );
      expect(s.notes.join('\n')).toMatch(
        /mmvet: scored locally by the judge fake-gpt .*37\.50 over 4 sample/,
      );

      // Report: the judged row is labelled, never a bare number; the server task stays "external".
      const md = readFileSync(path.join(out, 'results.md'), 'utf8');
      expect(md).toMatch(/\| mmvet title \| 37\.5 \(judge: fake-gpt\)² \|/);
      expect(md).toMatch(/\| docvqa_test title \| external¹ \|/);
      expect(md).toContain('not the official number');
      const csv = readFileSync(path.join(out, 'results.csv'), 'utf8');
      expect(csv.split(/\r?\n/)[0].endsWith(',external,judge_model')).toBe(true);
      const html = readFileSync(path.join(out, 'report.html'), 'utf8');
      expect(html).toContain('37.5 (judge: fake-gpt)');

      // The key is in no file of the run folder (the variable's name may be).
      for (const f of filesUnder(out)) expect(readFileSync(f).includes(SECRET), f).toBe(false);
    } finally {
      delete process.env[KEY_ENV];
    }
  }, 60_000);

  it('a resumed run reuses the judgement of the same judge model', async () => {
    handler = mmvetGrader;
    const root = tempDir('judge-resume-');
    const { configDir, dataRoot } = writeTasks(root, [
      { name: 'mmvet', rows: [{ question_id: 0, question: 'q answer:a', answer: 'a' }], external: true },
    ]);
    const yaml = path.join(configDir, 'mmvet.yaml');
    writeFileSync(
      yaml,
      readFileSync(yaml, 'utf8').replace(
        'submissionFormat: json',
        'submissionFormat: mmvet-json\n  judge: mmvet',
      ),
    );
    const out = path.join(root, 'run');
    const opts = {
      model: 'fake',
      backend: 'echo' as const,
      tasks: ['mmvet'],
      configDir,
      dataRoot,
      out,
      progress: 'none' as const,
      deps: fakeDeps,
      commandLine: ['test'],
      backendInstance: new FakeBackend(),
      judgeEndpoint: endpoint,
      judgeModel: 'fake-gpt',
    };
    await runEvaluation(opts);
    expect(seen).toHaveLength(1);
    const again = await runEvaluation({ ...opts, resume: true });
    expect(seen).toHaveLength(1);
    expect(again.tasks[0].score.aggregate?.score).toBe(100);
  });

  it('flags are checked before anything runs', async () => {
    const base = {
      model: 'fake',
      backend: 'echo' as const,
      tasks: ['x'],
      deps: fakeDeps,
      progress: 'none' as const,
    };
    const root = tempDir('judge-flags-');
    const { configDir } = writeTasks(root, [
      { name: 'x', rows: [{ question_id: 0, question: 'q', answer: 'a' }] },
    ]);
    await expect(
      runEvaluation({ ...base, configDir, out: path.join(root, 'a'), judgeModel: 'm' }),
    ).rejects.toThrow(/--judge-endpoint and --judge-model go together/);
    await expect(
      runEvaluation({
        ...base,
        configDir,
        out: path.join(root, 'b'),
        judgeEndpoint: endpoint,
        judgeModel: 'm',
        judgeApiKeyEnv: 'INTERNVL_EVAL_SURELY_UNSET_VAR',
      }),
    ).rejects.toThrow(/INTERNVL_EVAL_SURELY_UNSET_VAR: that variable is not set/);
  });

  it('CLI flags map onto RunOptions (timeout in seconds)', () => {
    const o = runOptionsFromArgs({
      model: 'm',
      backend: 'echo',
      'server-kind': 'generic',
      balance: 'least-loaded',
      resume: false,
      'retry-errors': false,
      quiet: true,
      progress: 'none',
      'judge-endpoint': 'http://127.0.0.1:1',
      'judge-model': 'gpt-4o',
      'judge-api-key-env': 'OPENAI_API_KEY',
      'judge-concurrency': 2,
      'judge-timeout': 30,
      'judge-retries': 1,
    } as RunArgs);
    expect(o).toMatchObject({
      judgeEndpoint: 'http://127.0.0.1:1',
      judgeModel: 'gpt-4o',
      judgeApiKeyEnv: 'OPENAI_API_KEY',
      judgeConcurrency: 2,
      judgeTimeoutMs: 30_000,
      judgeRetries: 1,
    });
  });
});
