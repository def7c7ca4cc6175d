/**
 * The HTTP side of the optional local GPT judge (`run --judge-endpoint URL --judge-model NAME
 * [--judge-api-key-env VAR]`): a chat-completions client over backends/http-json.ts (timeouts, bounded retries on
 * 429 / 5xx / network errors, shared with the OpenAI backend) that the graders in metrics/ ask.
 *
 * The API key comes from the environment variable the user names and is only ever put in the Authorization
 * header: it is not stored, and any echo of it in an error reply is masked before a note is kept.
 */
import pLimit from 'p-limit';
import { pyStrip } from '../common/python-strings.ts';
import type { JudgeAsk, JudgeReply } from '../metrics/judge-grading.ts';
import { postJsonWithRetries } from './backends/http-json.ts';
import { chatCompletionsUrl } from './backends/openai.ts';

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

export interface JudgeClient extends JudgeAsk {
  /** The endpoint as recorded (no user info, query or fragment). */
  readonly endpoint: string;
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
 * At most `concurrency` requests are in flight.
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
