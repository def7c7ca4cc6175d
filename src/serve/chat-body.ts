/**
 * A chat completion body, validated and turned into a GenerationRequest (images still as URLs). Every problem is
 * an OpenAI-style 400 naming the field (`messages[2].content[0].image_url.url`), never a crash.
 *
 * - Conversations: an optional system message first, then user/assistant turns ending with a user turn. Earlier
 *   turns become `history` as InternVL's `chat(history=...)` keeps it: a turn whose images all come before its
 *   text is stored as `<image>\n` + text (what `chat()` itself stored after prefixing the question), and every
 *   image of every turn goes to the model in order, each replacing the next `<image>` in the prompt (model card:
 *   multi-round multi-image chat).
 * - Per-request tiling read the way lmdeploy (`image_url.max_dynamic_patch`, else `detail` low/medium/high →
 *   6/12/24, lmdeploy/vl/model/internvl.py) and vLLM (`mm_processor_kwargs.max_dynamic_patch`) take it
 *   (anchors.md §1.5).
 * - Sampling: temperature / top_p / top_k / seed (temperature 0 or absent: greedy, the evaluation setting);
 *   `max_tokens` (or `max_completion_tokens`), `min_tokens`; `stop` (a string or up to 4); `n` must be 1.
 */
import type { GenerationRequest, SamplingRequest } from '../runner/backend.ts';
import { badRequest, HttpError, tooLarge } from './http-errors.ts';
import type { ImageRef } from './image-urls.ts';

/** lmdeploy's fallback when an image part has no `max_dynamic_patch` (lmdeploy/vl/model/internvl.py). */
const DETAIL_TILES: Record<string, number> = { low: 6, medium: 12, high: 24 };
const MAX_TILES_LIMIT = 40;
/** OpenAI's limit on `stop` sequences. */
const MAX_STOPS = 4;

export interface ChatBodyOptions {
  /** The model id clients name. */
  readonly modelName: string;
  /** Tile cap when a request names none (InternVL2 config.json `max_dynamic_patch`: 12). */
  readonly defaultMaxTiles?: number;
  readonly useThumbnail?: boolean;
  /** `max_tokens` when a request names none (default 1024). */
  readonly defaultMaxTokens?: number;
  /** Most images in one request, all turns together (413 above; default: no limit). */
  readonly maxImages?: number;
}

export interface ParsedChat {
  readonly request: Omit<GenerationRequest, 'id' | 'images' | 'signal' | 'onText'>;
  readonly images: ImageRef[];
  readonly stream: boolean;
  /** `stream_options.include_usage`: a last chunk with the usage. */
  readonly includeUsage: boolean;
  /** Stop strings (empty: none). */
  readonly stop: string[];
}

type Json = Record<string, unknown>;

function tilesValue(v: unknown, param: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_TILES_LIMIT) {
    throw badRequest(`${param} must be an integer in 1..${MAX_TILES_LIMIT}`, 'invalid_value', param);
  }
  return v;
}

function numberIn(
  v: unknown,
  param: string,
  ok: (n: number) => boolean,
  what: string,
  integer = false,
): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || !ok(v)) {
    throw badRequest(`${param} must be ${what}`, 'invalid_value', param);
  }
  return v;
}

function textOf(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p, k) => {
        if ((p as Json)?.type !== 'text' || typeof (p as Json).text !== 'string') {
          throw badRequest(`${param}[${k}] must be a text part`, 'invalid_value', `${param}[${k}]`);
        }
        return (p as { text: string }).text;
      })
      .join('');
  }
  throw badRequest(`${param} must be a string or text parts`, 'invalid_value', param);
}

interface UserTurn {
  /** Text with `<image>` placeholders where images sat among the text. */
  readonly text: string;
  /** Images only before the text (InternVL chat() layout): the model side places them. */
  readonly leadingImages: number;
  readonly interleaved: boolean;
  readonly images: number;
}

export function parseChatBody(body: unknown, opts: ChatBodyOptions): ParsedChat {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('the body must be a JSON object', 'invalid_body');
  }
  const b = body as Json;
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') {
    throw badRequest('stream must be a boolean', 'invalid_value', 'stream');
  }
  const stream = b.stream === true;
  const includeUsage = stream && (b.stream_options as Json | undefined)?.include_usage === true;
  if (b.n !== undefined && b.n !== null && b.n !== 1) {
    throw badRequest('only n = 1 is supported (one choice per request)', 'unsupported_parameter', 'n');
  }
  if (b.model !== undefined && b.model !== opts.modelName) {
    throw new HttpError(
      404,
      `model "${String(b.model)}" is not served here (serving "${opts.modelName}")`,
      'invalid_request_error',
      'model_not_found',
      'model',
    );
  }
  const sampling = parseSampling(b);
  const stop = parseStop(b.stop);

  const messages = b.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw badRequest('messages must be a non-empty array', 'invalid_value', 'messages');
  }
  const mmCap = tilesValue(
    (b.mm_processor_kwargs as Json | undefined)?.max_dynamic_patch,
    'mm_processor_kwargs.max_dynamic_patch',
  );
  const images: ImageRef[] = [];
  const maxTiles: number[] = [];
  let systemMessage: string | undefined;
  const turns: { role: 'user' | 'assistant'; user?: UserTurn; text?: string }[] = [];
  messages.forEach((m, i) => {
    const role = (m as Json)?.role;
    const content = (m as Json)?.content;
    if (role === 'system') {
      if (i !== 0) throw badRequest('a system message must come first', 'invalid_value', `messages[${i}]`);
      systemMessage = textOf(content, `messages[${i}].content`);
    } else if (role === 'user') {
      if (turns.at(-1)?.role === 'user') {
        throw badRequest('user and assistant turns must alternate', 'invalid_value', `messages[${i}]`);
      }
      turns.push({ role, user: userTurn(content, i, mmCap, opts, images, maxTiles) });
    } else if (role === 'assistant') {
      if (turns.at(-1)?.role !== 'user') {
        throw badRequest('an assistant turn must follow a user turn', 'invalid_value', `messages[${i}]`);
      }
      turns.push({ role, text: textOf(content, `messages[${i}].content`) });
    } else {
      throw badRequest(
        `messages[${i}].role "${String(role)}" is not supported (system, user, assistant)`,
        'unsupported_parameter',
        `messages[${i}].role`,
      );
    }
  });
  const last = turns.at(-1);
  if (!last?.user) throw badRequest('the last message must be a user turn', 'invalid_value', 'messages');
  if (opts.maxImages !== undefined && images.length > opts.maxImages) {
    throw tooLarge(
      `${images.length} images in the request; this server takes at most ${opts.maxImages}`,
      'too_many_images',
      'messages',
    );
  }

  let history: [string, string][] | undefined;
  let question: string;
  if (turns.length === 1) {
    // One turn: leading images stay implicit; the model side puts `<image>\n` first as chat() does.
    question = last.user.text;
  } else {
    history = [];
    for (let k = 0; k + 1 < turns.length; k += 2) {
      history.push([explicitText(turns[k].user!), turns[k + 1].text!]);
    }
    question = explicitText(last.user);
  }

  const maxTokens = b.max_tokens ?? b.max_completion_tokens ?? opts.defaultMaxTokens ?? 1024;
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1) {
    throw badRequest('max_tokens must be a positive integer', 'invalid_value', 'max_tokens');
  }
  const minTokens = b.min_tokens ?? b.min_new_tokens ?? 0;
  if (
    typeof minTokens !== 'number' ||
    !Number.isInteger(minTokens) ||
    minTokens < 0 ||
    minTokens > maxTokens
  ) {
    throw badRequest('min_tokens must be an integer in 0..max_tokens', 'invalid_value', 'min_tokens');
  }
  return {
    request: {
      question,
      maxTiles,
      useThumbnail: opts.useThumbnail ?? true,
      maxNewTokens: maxTokens,
      minNewTokens: minTokens,
      ...(systemMessage !== undefined ? { systemMessage } : {}),
      ...(history !== undefined ? { history } : {}),
      ...(sampling ? { sampling } : {}),
    },
    images,
    stream,
    includeUsage,
    stop,
  };
}

/**
 * A turn's text with its images written out, as chat() keeps a question in its history: one leading image is
 * `<image>\n` before the text; several are `Image-1: <image>\n…` lines (InternVL's separate-image layout).
 */
function explicitText(t: UserTurn): string {
  if (t.interleaved || t.leadingImages === 0) return t.text;
  if (t.leadingImages === 1) return `<image>\n${t.text}`;
  let lines = '';
  for (let i = 1; i <= t.leadingImages; i++) lines += `Image-${i}: <image>\n`;
  return lines + t.text;
}

function userTurn(
  content: unknown,
  index: number,
  mmCap: number | undefined,
  opts: ChatBodyOptions,
  images: ImageRef[],
  maxTiles: number[],
): UserTurn {
  if (typeof content === 'string') return { text: content, leadingImages: 0, interleaved: false, images: 0 };
  if (!Array.isArray(content)) {
    throw badRequest(
      'user content must be a string or an array of parts',
      'invalid_value',
      `messages[${index}].content`,
    );
  }
  const texts: string[] = [];
  let sawText = false;
  let interleaved = false;
  let count = 0;
  content.forEach((part, k) => {
    const param = `messages[${index}].content[${k}]`;
    const p = part as Json;
    if (p?.type === 'text') {
      if (typeof p.text !== 'string')
        throw badRequest(`${param}.text must be a string`, 'invalid_value', param);
      texts.push(p.text);
      sawText = true;
    } else if (p?.type === 'image_url') {
      const iu = p.image_url;
      const url = typeof iu === 'string' ? iu : (iu as Json)?.url;
      if (typeof url !== 'string')
        throw badRequest(`${param}.image_url.url must be a string`, 'invalid_value', param);
      const obj = typeof iu === 'object' && iu !== null ? (iu as Json) : {};
      const detail = typeof obj.detail === 'string' ? DETAIL_TILES[obj.detail] : undefined;
      maxTiles.push(
        tilesValue(obj.max_dynamic_patch, `${param}.image_url.max_dynamic_patch`) ??
          mmCap ??
          detail ??
          opts.defaultMaxTiles ??
          12,
      );
      images.push({ url, param: `${param}.image_url.url` });
      count++;
      if (sawText) interleaved = true;
      texts.push('<image>');
    } else {
      throw badRequest(
        `${param}.type "${String(p?.type)}" is not supported (text, image_url)`,
        'unsupported_parameter',
        param,
      );
    }
  });
  // Images before all text: the InternVL chat() layout. Images among the text keep their places as `<image>`
  // placeholders (the inverse of the openai backend's buildContent).
  const text = interleaved ? texts.join('') : texts.filter((t) => t !== '<image>').join('');
  return { text, leadingImages: interleaved ? 0 : count, interleaved, images: count };
}

function parseSampling(b: Json): SamplingRequest | undefined {
  const temperature = numberIn(b.temperature, 'temperature', (n) => n >= 0 && n <= 2, 'a number in 0..2');
  const topP = numberIn(b.top_p, 'top_p', (n) => n > 0 && n <= 1, 'a number in (0, 1]');
  // vLLM spells "no top-k" as -1; 0 means the same here.
  const topK = numberIn(b.top_k, 'top_k', (n) => n >= -1, 'an integer >= -1', true);
  const seed = numberIn(b.seed, 'seed', (n) => n >= 0 && n <= 2 ** 32 - 1, 'an integer in 0..2^32-1', true);
  if (!temperature) return undefined; // greedy: the other settings change nothing
  return {
    temperature,
    ...(topP !== undefined ? { topP } : {}),
    ...(topK !== undefined && topK > 0 ? { topK } : {}),
    // No seed: a fresh one, so two sampled requests differ as clients expect.
    seed: seed ?? Math.floor(Math.random() * 2 ** 32),
  };
}

function parseStop(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (
    !Array.isArray(list) ||
    list.length > MAX_STOPS ||
    !list.every((s): s is string => typeof s === 'string' && s.length > 0)
  ) {
    throw badRequest(
      `stop must be a non-empty string or up to ${MAX_STOPS} of them`,
      'invalid_value',
      'stop',
    );
  }
  return list;
}
