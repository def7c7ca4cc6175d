/**
 * The error a scorer throws for a malformed input field. The `score` CLI and the runner prefix it with
 * `FILE:LINE:` so the user sees e.g. `preds.jsonl:12: field "answers" must be an array of strings`.
 */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`field "${field}" ${problem}`);
    this.name = 'FieldError';
  }
}

export function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new FieldError(field, `must be a string (got ${describe(value)})`);
  return value;
}

export function requireStringArray(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new FieldError(field, `must be an array of strings (got ${describe(value)})`);
  }
  return value as string[];
}

/** `answers` if present, else `answer` wrapped in a list (InternVL wraps a str annotation the same way). */
export function answerList(input: { answers?: unknown; answer?: unknown }): string[] {
  if (input.answers !== undefined) {
    const list = requireStringArray(input.answers, 'answers');
    if (list.length === 0) throw new FieldError('answers', 'must not be empty');
    return list;
  }
  if (input.answer !== undefined) return [requireString(input.answer, 'answer')];
  throw new FieldError('answers', 'is missing (give "answers": [..] or "answer": "..")');
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string'
    ? `"${value.length > 40 ? value.slice(0, 40) + '…' : value}"`
    : typeof value;
}

/**
 * The single GT of metrics that have one (option letter, Yes/No): `answer`, or `answers` holding exactly one
 * string (the runner's PredictionRecord always carries `answers: string[]`).
 */
export function singleAnswer(input: { answers?: unknown; answer?: unknown }): string {
  if (input.answer !== undefined) return requireString(input.answer, 'answer');
  if (input.answers !== undefined) {
    const list = requireStringArray(input.answers, 'answers');
    if (list.length !== 1)
      throw new FieldError('answers', `must hold exactly one answer here, got ${list.length}`);
    return list[0];
  }
  throw new FieldError('answer', 'is missing');
}
