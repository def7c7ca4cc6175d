/**
 * The `internlm2-chat` conversation template and InternVL's `<image>` expansion, byte for byte as
 * IVL@5d8f485 `internvl_chat/internvl/conversation.py` (`register_conv_template(name='internlm2-chat')`,
 * `SeparatorStyle.MPT` in `get_prompt`) and `modeling_internvl_chat.py` `InternVLChatModel.chat`.
 * See ../shared/docs/eval-protocols.md §1 and model-runtime.md §B.7–B.8.
 */
import { pyStrip } from '../../common/python-strings.ts';
import { IMAGE_PLACEHOLDER } from '../../datasets/user-text.ts';

export const INTERNLM2_CHAT = {
  name: 'internlm2-chat',
  systemTemplate: '<|im_start|>system\n{system_message}',
  /** Default system message (59 chars: full-width '，' and '。', ASCII ', ' after InternVL). */
  systemMessage:
    '你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型，英文名叫InternVL, 是一个有用无害的人工智能助手。',
  roles: ['<|im_start|>user\n', '<|im_start|>assistant\n'] as const,
  /** MPT separator: appended after the system prompt and after every message — no newline follows it. */
  sep: '<|im_end|>',
} as const;

/** The token `chat()` stops generation on: `tokenizer.convert_tokens_to_ids(template.sep)`. */
export const STOP_TOKEN = INTERNLM2_CHAT.sep;

export const IMG_START_TOKEN = '<img>';
export const IMG_END_TOKEN = '</img>';
export const IMG_CONTEXT_TOKEN = '<IMG_CONTEXT>';

/**
 * `Conversation.get_prompt()` for SeparatorStyle.MPT: `system + sep`, then `role + message + sep` per message,
 * and just `role` for the open (None) assistant turn. Quirk kept: a message that is falsy in Python (the empty
 * string) is treated like None — only its role is written, with no separator.
 */
export function renderMptPrompt(
  systemMessage: string,
  messages: readonly (readonly [role: string, message: string | null])[],
): string {
  let ret =
    INTERNLM2_CHAT.systemTemplate.replace('{system_message}', () => systemMessage) + INTERNLM2_CHAT.sep;
  for (const [role, message] of messages) {
    ret += message ? role + message + INTERNLM2_CHAT.sep : role;
  }
  return ret;
}

export interface ChatPromptInput {
  /** Default: the template's system message (InternVL2-2B's config does not override it). */
  systemMessage?: string;
  /**
   * Earlier rounds as [user, assistant]. `undefined` is Python's `history=None`; an empty array is
   * `history=[]`, which — as in `chat()` — suppresses the automatic `<image>\n` prefix.
   */
  history?: readonly (readonly [string, string])[];
  question: string;
  /** Tiles per image (thumbnail included), one entry per image/frame; empty for text-only. */
  numPatchesList: readonly number[];
  /** Context tokens per tile: `(image_size // patch_size)² · downsample_ratio²` = 256 for InternVL2-2B. */
  numImageToken: number;
  /**
   * How several images are placed (InternVL model card): `combined` — one `<image>`, all tiles in one
   * `<img>…</img>` block (`chat()` with the default `num_patches_list = [pixel_values.shape[0]]`); `separate` —
   * one block per entry (`num_patches_list` given), and when the question has no `<image>` of its own,
   * `Image-1: <image>\nImage-2: <image>\n…` lines are put before it. Default: `separate` when the question
   * already holds `<image>` placeholders (MVBench's `FrameK: <image>` lines), else `combined`.
   */
  imageLayout?: 'combined' | 'separate';
}

/** `<img>` + `<IMG_CONTEXT>`×(numImageToken·numPatches) + `</img>`. */
export function imageTokens(numPatches: number, numImageToken: number): string {
  return IMG_START_TOKEN + IMG_CONTEXT_TOKEN.repeat(numImageToken * numPatches) + IMG_END_TOKEN;
}

/**
 * The full query string `chat()` tokenises (before BOS): template with history, the question with `<image>`
 * placeholders expanded.
 */
export function buildChatPrompt(input: ChatPromptInput): string {
  const { history, numPatchesList, numImageToken } = input;
  const layout = input.imageLayout ?? (input.question.includes(IMAGE_PLACEHOLDER) ? 'separate' : 'combined');
  for (const n of numPatchesList) {
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`numPatchesList entries must be integers ≥ 1, got ${n}`);
  }
  if (!Number.isInteger(numImageToken) || numImageToken < 1) {
    throw new Error(`numImageToken must be an integer ≥ 1, got ${numImageToken}`);
  }
  const hasImages = numPatchesList.length > 0;
  let question = input.question;
  let patches: readonly number[] = numPatchesList;
  if (layout === 'combined' && numPatchesList.length > 1) {
    // One block holding every tile, as chat() does when only pixel_values (concatenated) is passed.
    patches = [numPatchesList.reduce((a, b) => a + b, 0)];
  }
  if (history === undefined && hasImages && !question.includes(IMAGE_PLACEHOLDER)) {
    if (layout === 'separate' && numPatchesList.length > 1) {
      const lines = numPatchesList.map((_, i) => `Image-${i + 1}: ${IMAGE_PLACEHOLDER}\n`).join('');
      question = lines + question;
    } else {
      question = `${IMAGE_PLACEHOLDER}\n` + question;
    }
  }
  const [user, assistant] = INTERNLM2_CHAT.roles;
  const messages: [string, string | null][] = [];
  for (const [q, a] of history ?? []) {
    messages.push([user, q], [assistant, a]);
  }
  messages.push([user, question], [assistant, null]);
  let query = renderMptPrompt(input.systemMessage ?? INTERNLM2_CHAT.systemMessage, messages);
  // Python `query.replace('<image>', tokens, 1)` per entry: the first remaining placeholder anywhere in the query
  // (history included); surplus placeholders stay as text, surplus entries replace nothing.
  for (const n of patches) {
    const at = query.indexOf(IMAGE_PLACEHOLDER);
    if (at < 0) break;
    query = query.slice(0, at) + imageTokens(n, numImageToken) + query.slice(at + IMAGE_PLACEHOLDER.length);
  }
  return query;
}

/** `chat()`'s post-processing of the decoded reply: `response.split(template.sep)[0].strip()`. */
export function splitReply(decodedText: string): string {
  const at = decodedText.indexOf(INTERNLM2_CHAT.sep);
  return pyStrip(at < 0 ? decodedText : decodedText.slice(0, at));
}
