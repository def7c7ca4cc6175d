/**
 * The optional local GPT judge applied to a finished task (`run --judge-endpoint URL --judge-model NAME`): gives the
 * external tasks whose official score IS a GPT judge a local score, computed the way VLMEvalKit computes it, with
 * whatever OpenAI-compatible model the user points it at. The result is never the official number (the official
 * judge is a specific GPT-4 snapshot, or the MM-Vet evaluator): scores/TASK.json records `judge: {model, endpoint}`
 * and the report labels the row with the judge model.
 *
 * Which grader a task takes is its YAML's `external.judge` (`mmvet` | `mathvista`, metrics/mmvet-judge.ts and
 * metrics/mathvista-judge.ts); the HTTP client is judge-client.ts. This module matches records to what the grader
 * needs (MathVista columns from the source TSV when the record's meta lacks them) and writes the results back.
 *
 * A sample whose judge could not be reached at all (every try failed at the HTTP level) keeps `score: null` and a
 * `judge.error` note, is left out of the aggregate and counted; it never stops the run. Samples that failed in the
 * model (`error`) are not judged, as they are left out of every local aggregate (task-score.ts).
 */
import { readTaskTsvTable } from '../datasets/formats/tsv-table.ts';
import type { JudgeKind, TaskConfig } from '../datasets/task.ts';
import type { JudgeTrace } from '../metrics/judge-grading.ts';
import { judgeMathvistaSample, mathvistaAggregate, type MathvistaLine } from '../metrics/mathvista-judge.ts';
import { judgeMmvetSample, mmvetAggregate } from '../metrics/mmvet-judge.ts';
import type { Aggregate } from '../metrics/scorer.ts';
import type { JudgeClient } from './judge-client.ts';
import type { PredictionRecord } from './prediction-record.ts';
import type { TaskScore } from './task-score.ts';

/**
 * Which grader a task takes: its YAML's `external.judge`, or null (not judge-scored: a local metric, or a
 * submission server such as DocVQA/InfoVQA test, MMBench test, CCBench).
 */
export function judgeKindOf(task: TaskConfig): JudgeKind | null {
  return task.external?.judge ?? null;
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
