/**
 * What the GPT-judge graders (mmvet-judge.ts, mathvista-judge.ts) share: the judge they are handed, the trace they
 * keep per sample, and VLMEvalKit's retry schedule. The graders never do I/O themselves: the caller (the runner's
 * judge client, or a fake in tests) answers `ask`, so a grade is a function of the replies it got.
 */

/** One judge call: the stripped reply text, or why there is none. */
export type JudgeReply = { text: string } | { error: string };

/** The judge a grader asks (an OpenAI-compatible chat model, reached by runner/judge-client.ts). */
export interface JudgeAsk {
  /** Model name, recorded in each trace. */
  readonly model: string;
  ask(prompt: string, temperature: number, maxTokens: number): Promise<JudgeReply>;
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

/** Tries per sample and the temperature of try i (`temperature=i * 0.5`, MMVet_auxeval / MathVista_auxeval). */
export const JUDGE_TRIES = 5;
export const judgeTemperature = (i: number): number => i * 0.5;
