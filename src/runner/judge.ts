/**
 * The optional local GPT judge (`run --judge-endpoint URL --judge-model NAME [--judge-api-key-env VAR]`): gives the
 * external tasks whose official score IS a GPT judge a local score, computed the way VLMEvalKit computes it, with
 * whatever OpenAI-compatible model the user points it at. The result is never the official number (the official
 * judge is a specific GPT-4 snapshot, or the MM-Vet evaluator): scores/TASK.json records `judge: {model, endpoint}`
 * and the report labels the row with the judge model.
 *
 * - MM-Vet (eval-protocols.md §5.6; VLMEvalKit `vlmeval/dataset/utils/mmvet.py`, `MMVet_auxeval` / `MMVet_acc`):
 *   the few-shot correctness prompt, `max_tokens=3` (VLMEvalKit `MMVet.evaluate`: `build_judge(max_tokens=3)`),
 *   up to 5 tries at temperature `i * 0.5`; a reply counts when Python `float()` reads it and it lies in [0, 1]; after
 *   5 unusable replies the sample scores 0.0, as the reference does. Overall = mean × 100; breakdown per capability
 *   (`rec ocr know gen spat math`, matched as substrings of the category) and per category (`,` → `_`).
 * - MathVista (§5.5; `vlmeval/dataset/utils/mathvista.py`, `post_check` / `MathVista_auxeval` / `MathVista_acc`):
 *   prefetch by rule first (multiple choice: `can_infer` over the `choices` list; integer / float: Python
 *   `int()` / `float()` equal to the answer), then the extraction prompt (`max_tokens=128`, 5 tries at temperature
 *   `i * 0.5`), then `post_check` on the extraction. Quirks kept (and tested): a multiple-choice prefetch succeeds
 *   whenever `can_infer` finds any letter, right or wrong ('Z' included); a free-form prefetch whose value is 0
 *   is falsy in Python and goes to the judge; text/list answers compare `str(None)` and are never right.
 *
 * Bounded: at most `concurrency` requests in flight, each with a timeout and bounded retries (http-json.ts).
 * A sample whose judge could not be reached at all (every try failed at the HTTP level) keeps `score: null` and a
 * `judge.error` note, is left out of the aggregate and counted; it never stops the run. Samples that failed in the
 * model (`error`) are not judged, as they are left out of every local aggregate (task-score.ts).
 *
 * The API key comes from the environment variable the user names and is only ever put in the Authorization
 * header: it is not stored, and any echo of it in an error reply is masked before a note is kept.
 */
import pLimit from 'p-limit';
import { readTaskTsvTable } from '../datasets/formats/tsv-table.ts';
import { parsePythonStringList } from '../common/py-literal.ts';
import type { TaskConfig } from '../datasets/task.ts';
import { meanCi, mean } from '../metrics/bootstrap.ts';
import { canInfer } from '../metrics/mcq.ts';
import { pyFloat, pyStrip } from '../common/python-strings.ts';
import type { Aggregate } from '../metrics/scorer.ts';
import { chatCompletionsUrl } from './backends/openai.ts';
import { postJsonWithRetries } from './backends/http-json.ts';
import { buildMathvistaExtractionPrompt, buildMmvetJudgePrompt } from './judge-prompts.ts';
import type { PredictionRecord } from './prediction-record.ts';
import type { TaskScore } from './task-score.ts';

export type JudgeKind = 'mmvet' | 'mathvista';

/** Tries per sample and the temperature of try i (`temperature=i * 0.5`, MMVet_auxeval / MathVista_auxeval). */
export const JUDGE_TRIES = 5;
export const judgeTemperature = (i: number): number => i * 0.5;
/** `build_judge(max_tokens=...)` in VLMEvalKit's MMVet.evaluate and MathVista_eval. */
export const MMVET_MAX_TOKENS = 3;
export const MATHVISTA_MAX_TOKENS = 128;

/** Server-scored formats: never judged here, whatever the task is called. */
const SERVER_FORMATS = new Set(['rrc-docvqa-json', 'rrc-infovqa-json', 'mmbench-xlsx']);

/**
 * Which judge an external task takes, or null (not external, or scored by a submission server: DocVQA/InfoVQA
 * test, MMBench test, CCBench). MM-Vet by its submission format or name, MathVista by name.
 */
export function judgeKindOf(task: TaskConfig): JudgeKind | null {
  const ext = task.external;
  if (!ext || SERVER_FORMATS.has(ext.submissionFormat)) return null;
  if (ext.submissionFormat === 'mmvet-json' || /^mm-?vet/i.test(task.name)) return 'mmvet';
  if (/mathvista/i.test(task.name)) return 'mathvista';
  return null;
}

export interface JudgeSettings {
  /** OpenAI-compatible server (`http://h:p`, `.../v1` or `.../v1/chat/completions`). */
  readonly endpoint: string;
  /** Model name sent in each request and recorded with the scores. */
  readonly model: string;
  /** Read from the environment by the caller; never written anywhere. */
  readonly apiKey?: string;
  /** Requests in flight (default 4, VLMEvalKit's `nproc`). */
  readonly concurrency?: number;
  /** Per-attempt timeout, ms (default 60 000). */
  readonly timeoutMs?: number;
  /** HTTP retries per try on 429 / 5xx / network errors / timeouts (default 2). */
  readonly retries?: number;
  /** First backoff, ms (default 500), doubling, capped at maxBackoffMs (default 10 000). */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** One judge call: the stripped reply text, or why there is none. */
export type JudgeReply = { text: string } | { error: string };

export interface JudgeClient {
  readonly model: string;
  /** The endpoint as recorded (no user info, query or fragment). */
  readonly endpoint: string;
  ask(prompt: string, temperature: number, maxTokens: number): Promise<JudgeReply>;
}

/** The endpoint as it may be written to results: user info, query string and fragment removed. */
export function recordableEndpoint(endpoint: string): string {
  try {
    const u = new URL(endpoint);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString().replace(/\/+$/, '');
  } catch {
    return endpoint.replace(/[?#].*$/, '');
  }
}

/** Masks the API key wherever a server echoed it back. */
export function maskSecret(text: string, secret: string | undefined): string {
  return secret ? text.replaceAll(secret, '***') : text;
}

/**
 * A chat-completions client for the judge, shaped like VLMEvalKit's OpenAIWrapper request (one user message with
 * one text part, `n=1`, the try's temperature, `max_tokens`); the reply's content is `.strip()`ped as there.
 */
export function createJudgeClient(settings: JudgeSettings): JudgeClient {
  if (!/^https?:\/\//.test(settings.endpoint))
    throw new Error(`--judge-endpoint "${recordableEndpoint(settings.endpoint)}" must be an http(s) URL`);
  if (!settings.model) throw new Error('--judge-model is required with --judge-endpoint');
  const url = chatCompletionsUrl(settings.endpoint);
  const limit = pLimit(Math.max(1, settings.concurrency ?? 4));
  const key = settings.apiKey;
  return {
    model: settings.model,
    endpoint: recordableEndpoint(settings.endpoint),
    ask: (prompt, temperature, maxTokens) =>
      limit(async (): Promise<JudgeReply> => {
        const body = JSON.stringify({
          model: settings.model,
          messages: [{ role: 'user', content: [{ type: 'text', text: prompt }] }],
          n: 1,
          temperature,
          max_tokens: maxTokens,
        });
        const r = await postJsonWithRetries(url, body, {
          apiKey: key,
          timeoutMs: settings.timeoutMs ?? 60_000,
          retries: settings.retries ?? 2,
          backoffMs: settings.backoffMs ?? 500,
          maxBackoffMs: settings.maxBackoffMs ?? 10_000,
        });
        if ('error' in r) return { error: maskSecret(r.error, key) };
        const content = (r.json as { choices?: { message?: { content?: unknown } }[] })?.choices?.[0]?.message
          ?.content;
        if (typeof content !== 'string') return { error: 'reply has no choices[0].message.content string' };
        return { text: pyStrip(content) };
      }),
  };
}

/** What a judged record carries in `meta.judge`. */
export interface JudgeTrace {
  model: string;
  /** MathVista: the rule prefetch decided, no judge call was made. */
  prefetch?: boolean;
  /** The judge's reply per try, in order ('' for a try whose request failed). */
  outputs: string[];
  /** VLMEvalKit-style log (`Try 0: output is X, failed to parse.`, `Succeed`, `Prefetch succeed`). */
  log: string;
  /** Why this sample has no judged score (judge unreachable, data it needs is missing). */
  error?: string;
}

/** Python `int(str)` for base 10: null where Python raises ValueError. */
export function pyInt(text: string): number | null {
  const t = pyStrip(text);
  if (!/^[+-]?\d+(_\d+)*$/.test(t)) return null;
  return Number(t.replaceAll('_', ''));
}

// ---------------------------------------------------------------- MM-Vet

/** `float_cvt` + range check: the grade, or why the reply is not one. NaN is refused (Python would take it). */
export function parseMmvetGrade(output: string): { grade: number } | { problem: string } {
  const v = pyFloat(output);
  if (v === null) return { problem: 'failed to parse' };
  if (Number.isNaN(v) || v < 0 || v > 1) return { problem: `invalid score: ${v}` };
  return { grade: v };
}

/** MMVet_auxeval for one sample. */
export async function judgeMmvetSample(
  client: JudgeClient,
  question: string,
  groundTruth: string,
  prediction: string,
): Promise<{ score: number | null; trace: JudgeTrace }> {
  const prompt = buildMmvetJudgePrompt(question, groundTruth, prediction);
  const trace: JudgeTrace = { model: client.model, outputs: [], log: '' };
  let replies = 0;
  let lastError = '';
  for (let i = 0; i < JUDGE_TRIES; i++) {
    const r = await client.ask(prompt, judgeTemperature(i), MMVET_MAX_TOKENS);
    if ('error' in r) {
      trace.outputs.push('');
      trace.log += `Try ${i}: request failed: ${r.error}\n`;
      lastError = r.error;
      continue;
    }
    replies++;
    trace.outputs.push(r.text);
    const g = parseMmvetGrade(r.text);
    if ('grade' in g) {
      trace.log += 'Succeed';
      return { score: g.grade, trace };
    }
    trace.log += `Try ${i}: output is ${r.text}, ${g.problem}.\n`;
  }
  trace.log += `All ${JUDGE_TRIES} retries failed.\n`;
  if (replies === 0) {
    trace.error = `judge unreachable: ${lastError}`;
    return { score: null, trace };
  }
  return { score: 0, trace }; // MMVet_auxeval: `dict(log=log, score=0.0)`
}

/**
 * The question as VLMEvalKit's judge sees it: `meta.question` when the adapter kept it, else the prompt as sent
 * without its leading `<image>\n` and without the one trailing space InternVL's MM-Vet recipe adds.
 */
function rawQuestion(r: PredictionRecord, dropTrailingSpace: boolean): string {
  if (typeof r.meta?.question === 'string') return r.meta.question;
  const q = r.prompt.replace(/^(<image>\n)+/, '');
  return dropTrailingSpace ? q.replace(/ $/, '') : q;
}

/** MM-Vet ground truth: one answer (with `<AND>` / `<OR>` inside), several joined with `<OR>`. */
function mmvetGroundTruth(r: PredictionRecord): string | null {
  if (r.answers.length === 0 || r.answers.every((a) => a === '')) return null;
  return r.answers.join('<OR>');
}

const MMVET_CAPABILITIES = ['rec', 'ocr', 'know', 'gen', 'spat', 'math'];

/** MMVet_acc: Overall = mean grade × 100; per capability (substring of the category) and per category. */
export function mmvetAggregate(
  grades: readonly number[],
  categories: readonly (string | undefined)[],
): Aggregate {
  const breakdown: Record<string, number> = {};
  const add = (sums: Map<string, number[]>, k: string, v: number) =>
    (sums.get(k) ?? sums.set(k, []).get(k)!).push(v);
  const capa = new Map<string, number[]>();
  const cate = new Map<string, number[]>();
  grades.forEach((g, i) => {
    const c = categories[i];
    if (c === undefined) return;
    for (const k of MMVET_CAPABILITIES) if (c.includes(k)) add(capa, k, g);
    add(cate, c.replaceAll(',', '_'), g);
  });
  for (const [k, v] of [...capa, ...cate]) breakdown[k] = 100 * mean(v);
  return {
    metric: 'mmvet_gpt',
    n: grades.length,
    score: 100 * mean(grades),
    ci95: meanCi(grades, 100),
    breakdown,
    unit: 'x100',
  };
}

// ---------------------------------------------------------------- MathVista

/** The TSV columns `post_check` and `MathVista_acc` read. */
export interface MathvistaLine {
  question_type: string;
  answer_type: string;
  answer: string;
  answer_option?: string;
  /** Python list literal, e.g. `['3/11', '8/11']`. */
  choices?: string;
  task?: string;
  skills?: string;
}

export type PostCheckValue = string | number | boolean;

/**
 * `post_check(line, prefetch)`, with `response` the model's prediction (prefetch) or the extracted `res`.
 * Prefetch returns what Python returns: the letter / number when it matches (multiple choice: any letter
 * `can_infer` finds, before comparing), else false. Not prefetch: true when right, else false.
 * Throws when `choices` is not a list literal (the reference's `eval` raises, and it is not a ValueError).
 */
export function mathvistaPostCheck(
  line: MathvistaLine,
  response: string | number,
  prefetch: boolean,
): PostCheckValue {
  let res: string | number | false | null = null;
  let ans: string | number | undefined = line.answer;
  parse: {
    if (line.question_type === 'multi_choice') {
      ans = line.answer_option;
      if (line.choices === undefined) throw new Error('field "choices" is missing');
      const list = parsePythonStringList(line.choices);
      const choices = Object.fromEntries(list.map((c, i) => [String.fromCharCode(65 + i), c]));
      res = canInfer(String(response), choices);
      if (prefetch) return res;
    } else if (line.answer_type === 'integer') {
      const r = typeof response === 'number' ? Math.trunc(response) : pyInt(response);
      if (r === null) break parse; // ValueError: res stays None
      res = r;
      const a = pyInt(line.answer);
      if (a === null) break parse;
      ans = a;
    } else if (line.answer_type === 'float') {
      const r = typeof response === 'number' ? response : pyFloat(response);
      if (r === null) break parse;
      res = r;
      const a = pyFloat(line.answer);
      if (a === null) break parse;
      ans = a;
    } else {
      res = 'None'; // `str(res)` with res still None
      ans = line.answer;
    }
  }
  if (res !== null && res === ans) return prefetch ? res : true;
  return false;
}

/** Python truthiness of a prefetch result: false, 0, 0.0 and '' are falsy (NaN is truthy). */
function pyTruthy(v: PostCheckValue): boolean {
  return !(v === false || v === 0 || v === '');
}

/** MathVista_auxeval for one sample: `res` is the prefetch value, the judge's extraction, or '' after 5 failures. */
export async function judgeMathvistaSample(
  client: JudgeClient,
  line: MathvistaLine,
  question: string,
  prediction: string,
): Promise<{ hit: boolean | null; res: string | number; trace: JudgeTrace }> {
  const trace: JudgeTrace = { model: client.model, outputs: [], log: '' };
  const pre = mathvistaPostCheck(line, prediction, true);
  if (pyTruthy(pre)) {
    trace.prefetch = true;
    trace.log = 'Prefetch succeed';
    const res = pre as string | number;
    return { hit: mathvistaPostCheck(line, res, false) === true, res, trace };
  }
  trace.prefetch = false;
  const prompt = buildMathvistaExtractionPrompt(question, prediction);
  let lastError = '';
  for (let i = 0; i < JUDGE_TRIES; i++) {
    const r = await client.ask(prompt, judgeTemperature(i), MATHVISTA_MAX_TOKENS);
    if ('error' in r) {
      trace.outputs.push('');
      trace.log += `Try ${i}: output is ${prediction}, failed to parse.\n`;
      lastError = r.error;
      continue;
    }
    trace.outputs.push(r.text);
    trace.log += 'Succeed';
    return { hit: mathvistaPostCheck(line, r.text, false) === true, res: r.text, trace };
  }
  trace.log += `All ${JUDGE_TRIES} retries failed.\n`;
  trace.error = `judge unreachable: ${lastError}`;
  return { hit: null, res: '', trace };
}

/** `skills` as MathVista_acc reads it: a list literal, else the cell itself. */
function skillsOf(line: MathvistaLine): string[] {
  if (line.skills === undefined || line.skills === '') return [];
  try {
    return parsePythonStringList(line.skills);
  } catch {
    return [line.skills];
  }
}

/** MathVista_acc: Overall = hits / n × 100; breakdown per `task` and per skill. */
export function mathvistaAggregate(hits: readonly number[], lines: readonly MathvistaLine[]): Aggregate {
  const groups = new Map<string, number[]>();
  const add = (k: string, v: number) => (groups.get(k) ?? groups.set(k, []).get(k)!).push(v);
  hits.forEach((h, i) => {
    const l = lines[i];
    if (l.task) add(l.task, h);
    for (const s of skillsOf(l)) add(s, h);
  });
  const breakdown: Record<string, number> = {};
  for (const [k, v] of groups) breakdown[k] = 100 * mean(v);
  return {
    metric: 'mathvista_gpt',
    n: hits.length,
    score: 100 * mean(hits),
    ci95: meanCi(hits, 100),
    breakdown,
    unit: 'x100',
  };
}

const MATHVISTA_COLUMNS = [
  'question',
  'question_type',
  'answer_type',
  'answer',
  'answer_option',
  'choices',
  'task',
  'skills',
] as const;

type SourceColumns = Map<string, Record<string, string>>;

/**
 * The task's source TSV columns by line number and by index, for records whose meta lacks the MathVista columns
 * (the task YAML maps only the standard fields into meta). Image cells are never kept.
 */
async function readMathvistaSource(task: TaskConfig, dataRoot: string | undefined): Promise<SourceColumns> {
  const out: SourceColumns = new Map();
  for (const { line, cells } of (await readTaskTsvTable(task, dataRoot)).rows) {
    const row: Record<string, string> = {};
    for (const c of [...MATHVISTA_COLUMNS, 'index']) {
      const v = cells.get(c);
      if (v !== undefined) row[c] = v;
    }
    out.set(`line:${line}`, row);
    if (row.index !== undefined) out.set(`index:${row.index}`, row);
  }
  return out;
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** The MathVista columns of a record: its meta first, then the source row. */
function mathvistaLineOf(
  r: PredictionRecord,
  source: SourceColumns | undefined,
): { line: MathvistaLine; question?: string } | { problem: string } {
  const meta = r.meta ?? {};
  const row =
    source?.get(`line:${String(meta.line)}`) ??
    source?.get(`index:${r.id}`) ??
    ({} as Record<string, string>);
  const pick = (k: string) => text(meta[k]) ?? row[k];
  const question_type = pick('question_type');
  const answer_type = pick('answer_type');
  const answer = r.answers[0] ?? pick('answer');
  if (question_type === undefined || answer_type === undefined || answer === undefined) {
    return { problem: 'no question_type / answer_type / answer for this sample' };
  }
  const line: MathvistaLine = { question_type, answer_type, answer };
  for (const k of ['answer_option', 'choices', 'task', 'skills'] as const) {
    const v = pick(k);
    if (v !== undefined) line[k] = v;
  }
  if (question_type === 'multi_choice' && (line.answer_option === undefined || line.choices === undefined))
    return { problem: 'a multiple-choice sample without answer_option / choices' };
  const question = text(meta.question) ?? row.question;
  return question === undefined ? { line } : { line, question };
}

// ---------------------------------------------------------------- the task

export interface JudgedTask {
  /** The records with `score`, `extracted` and `meta.judge` filled in (unjudged ones unchanged). */
  records: PredictionRecord[];
  /** Over the judged samples; null when none could be judged. */
  aggregate: Aggregate | null;
  judge: { model: string; endpoint: string };
  /** Samples judged (or reused from an earlier judging by the same model). */
  judged: number;
  /** Samples the judge could not score (unreachable, data missing); left out of the aggregate. */
  judgeErrors: number;
  /** MathVista: samples decided by the rule prefetch. */
  prefetched: number;
  note: string;
}

/** A record judged earlier by the same model (a resumed run) is not asked again. */
function earlierJudgement(r: PredictionRecord, model: string): JudgeTrace | undefined {
  const j = r.meta?.judge as JudgeTrace | undefined;
  if (j && j.model === model && j.error === undefined && typeof r.score === 'number') return j;
  return undefined;
}

/**
 * Judges a finished external task's records. Returns null for tasks this judge does not score (server-scored,
 * or not external). Never throws for a sample: problems become `meta.judge.error` and are counted.
 */
export async function judgeExternalTask(
  task: TaskConfig,
  records: readonly PredictionRecord[],
  client: JudgeClient,
  opts: { dataRoot?: string } = {},
): Promise<JudgedTask | null> {
  const kind = judgeKindOf(task);
  if (kind === null) return null;
  const judge = { model: client.model, endpoint: client.endpoint };
  const out = records.map((r) => ({ ...r, meta: { ...(r.meta ?? {}) } }));
  let source: SourceColumns | undefined;
  let sourceProblem: string | undefined;
  if (kind === 'mathvista' && out.some((r) => r.error === undefined && r.meta.question_type === undefined)) {
    try {
      source = await readMathvistaSource(task, opts.dataRoot);
    } catch (err) {
      sourceProblem = `the source TSV is not readable (${(err as Error).message})`;
    }
  }

  const setError = (r: PredictionRecord, error: string) => {
    r.score = null;
    delete r.extracted;
    r.meta!.judge = { model: client.model, outputs: [], log: '', error } satisfies JudgeTrace;
  };
  const lines: (MathvistaLine | undefined)[] = out.map(() => undefined);
  await Promise.all(
    out.map(async (r, i) => {
      if (r.error !== undefined) return;
      if (kind === 'mmvet') {
        if (earlierJudgement(r, client.model)) return;
        const gt = mmvetGroundTruth(r);
        if (gt === null)
          return setError(
            r,
            "no ground-truth answer to judge against (InternVL's llava-mm-vet.jsonl has none; use a source " +
              'with answers, e.g. VLMEvalKit MMVet.tsv or lmms-lab/MMVet)',
          );
        const { score, trace } = await judgeMmvetSample(client, rawQuestion(r, true), gt, r.prediction);
        r.meta!.judge = trace;
        r.score = score;
        if (score === null) delete r.extracted;
        else r.extracted = score;
        return;
      }
      const got = mathvistaLineOf(r, source);
      if ('problem' in got)
        return setError(r, sourceProblem ? `${got.problem}; ${sourceProblem}` : got.problem);
      lines[i] = got.line;
      if (earlierJudgement(r, client.model)) return;
      try {
        const { hit, res, trace } = await judgeMathvistaSample(
          client,
          got.line,
          got.question ?? rawQuestion(r, false),
          r.prediction,
        );
        r.meta!.judge = trace;
        r.score = hit === null ? null : hit ? 1 : 0;
        r.extracted = res;
      } catch (err) {
        setError(r, (err as Error).message);
      }
    }),
  );

  const judgedIdx = out.flatMap((r, i) =>
    r.error === undefined && typeof r.score === 'number' && !(r.meta.judge as JudgeTrace | undefined)?.error
      ? [i]
      : [],
  );
  const judgeErrors = out.filter((r) => (r.meta.judge as JudgeTrace | undefined)?.error !== undefined).length;
  const prefetched = judgedIdx.filter((i) => (out[i].meta.judge as JudgeTrace).prefetch === true).length;
  let aggregate: Aggregate | null = null;
  if (judgedIdx.length > 0) {
    const scores = judgedIdx.map((i) => out[i].score as number);
    aggregate =
      kind === 'mmvet'
        ? mmvetAggregate(
            scores,
            judgedIdx.map((i) => text(out[i].meta.category)),
          )
        : mathvistaAggregate(
            scores,
            judgedIdx.map((i) => lines[i]!),
          );
  }
  const parts = [
    `${task.name}: scored locally by the judge ${client.model} at ${client.endpoint} (not the official ` +
      `judge; the official score is external)`,
    aggregate ? `${aggregate.score.toFixed(2)} over ${aggregate.n} sample(s)` : 'no sample could be judged',
  ];
  if (kind === 'mathvista') parts.push(`${prefetched} decided by the rule prefetch`);
  if (judgeErrors > 0) {
    const first = out.find((r) => (r.meta.judge as JudgeTrace | undefined)?.error !== undefined)!;
    parts.push(
      `${judgeErrors} sample(s) not judged and left out of the score (first: ${(first.meta.judge as JudgeTrace).error})`,
    );
  }
  return {
    records: out,
    aggregate,
    judge,
    judged: judgedIdx.length,
    judgeErrors,
    prefetched,
    note: parts.join('; '),
  };
}

/** The task score with the judge's aggregate in place of the missing local one, and who judged it. */
export function judgedTaskScore(score: TaskScore, judged: JudgedTask): TaskScore {
  if (!judged.aggregate) return score;
  return { ...score, metric: judged.aggregate.metric, aggregate: judged.aggregate, judge: judged.judge };
}
