/**
 * MathVista graded with a GPT answer extractor, the way VLMEvalKit does it (eval-protocols.md §5.5;
 * `vlmeval/dataset/utils/mathvista.py`, `post_check` / `MathVista_auxeval` / `MathVista_acc`): prefetch by rule
 * first (multiple choice: `can_infer` over the `choices` list; integer / float: Python `int()` / `float()` equal
 * to the answer), then the extraction prompt (`max_tokens=128`, 5 tries at temperature `i * 0.5`), then
 * `post_check` on the extraction. Quirks kept (and tested): a multiple-choice prefetch succeeds whenever
 * `can_infer` finds any letter, right or wrong ('Z' included); a free-form prefetch whose value is 0 is falsy in
 * Python and goes to the judge; text/list answers compare `str(None)` and are never right.
 */
import { parsePythonStringList } from '../common/py-literal.ts';
import { pyFloat, pyInt } from '../common/python-strings.ts';
import { pushTo, scaledMeanAggregate, scaledMeans } from './aggregate-helpers.ts';
import { JUDGE_TRIES, judgeTemperature, type JudgeAsk, type JudgeTrace } from './judge-grading.ts';
import { buildMathvistaExtractionPrompt } from './judge-prompts.ts';
import { canInfer } from './mcq.ts';
import type { Aggregate } from './scorer.ts';

/** `build_judge(max_tokens=128)` in VLMEvalKit's MathVista_eval. */
export const MATHVISTA_MAX_TOKENS = 128;

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
  judge: JudgeAsk,
  line: MathvistaLine,
  question: string,
  prediction: string,
): Promise<{ hit: boolean | null; res: string | number; trace: JudgeTrace }> {
  const trace: JudgeTrace = { model: judge.model, outputs: [], log: '' };
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
    const r = await judge.ask(prompt, judgeTemperature(i), MATHVISTA_MAX_TOKENS);
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
  hits.forEach((h, i) => {
    const l = lines[i];
    if (l.task) pushTo(groups, l.task, h);
    for (const s of skillsOf(l)) pushTo(groups, s, h);
  });
  return scaledMeanAggregate('mathvista_gpt', hits, scaledMeans(groups));
}
