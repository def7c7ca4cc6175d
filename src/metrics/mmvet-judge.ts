/**
 * MM-Vet graded by a GPT judge, the way VLMEvalKit does it (eval-protocols.md §5.6; VLMEvalKit
 * `vlmeval/dataset/utils/mmvet.py`, `MMVet_auxeval` / `MMVet_acc`): the few-shot correctness prompt,
 * `max_tokens=3` (VLMEvalKit `MMVet.evaluate`: `build_judge(max_tokens=3)`), up to 5 tries at temperature
 * `i * 0.5`; a reply counts when Python `float()` reads it and it lies in [0, 1]; after 5 unusable replies the
 * sample scores 0.0, as the reference does. Overall = mean × 100; breakdown per capability (`rec ocr know gen
 * spat math`, matched as substrings of the category) and per category (`,` → `_`).
 */
import { pyFloat } from '../common/python-strings.ts';
import { pushTo, scaledMeanAggregate, scaledMeans } from './aggregate-helpers.ts';
import { JUDGE_TRIES, judgeTemperature, type JudgeAsk, type JudgeTrace } from './judge-grading.ts';
import { buildMmvetJudgePrompt } from './judge-prompts.ts';
import type { Aggregate } from './scorer.ts';

/** `build_judge(max_tokens=3)` in VLMEvalKit's MMVet.evaluate. */
export const MMVET_MAX_TOKENS = 3;

/** `float_cvt` + range check: the grade, or why the reply is not one. NaN is refused (Python would take it). */
export function parseMmvetGrade(output: string): { grade: number } | { problem: string } {
  const v = pyFloat(output);
  if (v === null) return { problem: 'failed to parse' };
  if (Number.isNaN(v) || v < 0 || v > 1) return { problem: `invalid score: ${v}` };
  return { grade: v };
}

/** MMVet_auxeval for one sample; `score` is null only when no try got any reply (judge unreachable). */
export async function judgeMmvetSample(
  judge: JudgeAsk,
  question: string,
  groundTruth: string,
  prediction: string,
): Promise<{ score: number | null; trace: JudgeTrace }> {
  const prompt = buildMmvetJudgePrompt(question, groundTruth, prediction);
  const trace: JudgeTrace = { model: judge.model, outputs: [], log: '' };
  let replies = 0;
  let lastError = '';
  for (let i = 0; i < JUDGE_TRIES; i++) {
    const r = await judge.ask(prompt, judgeTemperature(i), MMVET_MAX_TOKENS);
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

const MMVET_CAPABILITIES = ['rec', 'ocr', 'know', 'gen', 'spat', 'math'];

/** MMVet_acc: Overall = mean grade × 100; per capability (substring of the category) and per category. */
export function mmvetAggregate(
  grades: readonly number[],
  categories: readonly (string | undefined)[],
): Aggregate {
  const capa = new Map<string, number[]>();
  const cate = new Map<string, number[]>();
  grades.forEach((g, i) => {
    const c = categories[i];
    if (c === undefined) return;
    for (const k of MMVET_CAPABILITIES) if (c.includes(k)) pushTo(capa, k, g);
    pushTo(cate, c.replaceAll(',', '_'), g);
  });
  // A category named like a capability keeps the capability's place and takes the category's value, as in
  // MMVet_acc, which fills one dict with the capabilities first.
  return scaledMeanAggregate('mmvet_gpt', grades, { ...scaledMeans(capa), ...scaledMeans(cate) });
}
