/**
 * Task prompt builders: a Sample and its task's PromptRecipe → the user-turn text handed to `chat()` (before the
 * template and before `<image>` expansion). Each branch copies one reference script; the strings are those of
 * ../shared/docs/eval-protocols.md §4–§5 and are tested byte for byte.
 *
 * Image placeholders: InternVL's scripts and VLMEvalKit's single-image path leave them out (`chat()` prepends
 * `<image>\n`); MVBench, Video-MME and VLMEvalKit's multi-image path put them in the text.
 */
import type { PromptRecipe } from './prompt-recipe.ts';
import type { Sample } from './sample.ts';
import { pyRstrip } from '../common/python-strings.ts';

/** Where an image goes in a user turn; the chat template (model/inputs/chat-template.ts) expands it. */
export const IMAGE_PLACEHOLDER = '<image>';

/** evaluate_mmbench.py `prompt` by language (also VLMEvalKit's option instruction). */
export const MCQ_INSTRUCTION = {
  en: "Answer with the option's letter from the given choices directly.",
  cn: '请直接回答选项字母。',
} as const;

/** VLMEvalKit build_multi_choice_prompt when a row has no options. */
export const NO_OPTION_INSTRUCTION = {
  en: '\nAnswer the question directly.',
  cn: '\n请直接回答问题。',
} as const;

/** evaluate_mvbench.py `prompt` (ends with '\n') and `question_prompt`. */
export const MVBENCH_PROMPT =
  'Carefully watch the video and pay attention to the cause and sequence of events, the detail and movement of objects, and the action and pose of persons. Based on your observations, select the best option that accurately addresses the question.\n';
export const MVBENCH_QUESTION_PROMPT = '\nOnly give the best option.';

/** VLMEvalKit `vlmeval/dataset/videomme.py` `VideoMME.FRAMES_TMPL_NOSUB` / `FRAMES_TMPL_SUB`. */
export const VIDEOMME_FRAMES_TMPL_NOSUB =
  '\nThese are the frames of a video. Select the best answer to the following multiple-choice question based on the video. Respond with only the letter (A, B, C, or D) of the correct option.\n';
export const VIDEOMME_FRAMES_TMPL_SUB =
  "\nThese are the frames of a video. This video's subtitles are listed below:\n{}\nSelect the best answer to the following multiple-choice question based on the video. Respond with only the letter (A, B, C, or D) of the correct option.\n";
/** Appended by the InternVL wrapper's `build_video_prompt` for Video-MME. */
export const VIDEOMME_ANSWER_INSTRUCTION =
  "\nAnswer with the option's letter from the given choices directly.";

/** VLMEvalKit `cn_string`: any CJK Unified Ideograph U+4E00..U+9FFF. */
export function isChineseText(s: string): boolean {
  return /[\u4e00-\u9fff]/.test(s);
}

/** A dataset cell pandas would read as NaN (absent) — missing or empty. */
function present(v: string | undefined): v is string {
  return v !== undefined && v !== '';
}

/**
 * Options in letter order, skipping absent ones (`not pd.isna(line[cand])`). `letters`: the candidate columns the
 * script looks at (evaluate_mmbench.py: A–E only; VLMEvalKit: `string.ascii_uppercase`).
 */
function options(sample: Sample, letters = /^[A-Z]$/): [string, string][] {
  const choices = sample.choices ?? {};
  return Object.keys(choices)
    .filter((k) => letters.test(k) && present(choices[k]))
    .sort()
    .map((k) => [k, choices[k]]);
}

/** The user text for `sample` under `recipe`. */
export function buildUserText(recipe: PromptRecipe, sample: Sample): string {
  switch (recipe.kind) {
    case 'suffix':
      return suffixPrompt(recipe, sample.question);
    case 'mcq':
      return recipe.style === 'internvl'
        ? internvlMcqPrompt(recipe, sample)
        : vlmevalkitMcqPrompt(recipe, sample);
    case 'mvbench':
      return mvbenchPrompt(recipe.frames, sample);
    case 'videomme':
      return videommePrompt(recipe.frames, recipe.subtitles, sample);
    case 'grounding':
      return groundingPrompt(recipe.template, sample.question);
  }
}

/**
 * evaluate_vqa.py: `if len(prompt) != 0: question = question + ' ' + prompt`; MMVet's `question + ' ' + ''`
 * keeps the joiner (`trailingJoiner`); VLMEvalKit joins with '\n'.
 */
function suffixPrompt(recipe: Extract<PromptRecipe, { kind: 'suffix' }>, question: string): string {
  if (recipe.suffix.length > 0 || recipe.trailingJoiner) return question + recipe.joiner + recipe.suffix;
  return question;
}

function hinted(sample: Sample): string {
  return present(sample.hint) ? sample.hint + '\n' + sample.question : sample.question;
}

/** evaluate_mmbench.py `MMBenchDataset.__getitem__`. */
function internvlMcqPrompt(recipe: Extract<PromptRecipe, { kind: 'mcq' }>, sample: Sample): string {
  let q = hinted(sample);
  for (const [key, item] of options(sample, /^[A-E]$/)) q += '\n' + key + '. ' + item;
  const instruction = recipe.instruction ?? MCQ_INSTRUCTION;
  const lang = recipe.lang === 'auto' ? (isChineseText(q) ? 'cn' : 'en') : recipe.lang;
  return q + '\n' + instruction[lang];
}

/**
 * VLMEvalKit `InternVLChat.build_multi_choice_prompt` (VEK@5e4df734), plus the multi-image text layout of
 * `generate_v2`: text first, then `<image-k>` markers for the images, the whole prefixed by
 * `<image-1>: <image> <image-2>: <image>…\n` (the trailing marker run is not removed for image datasets).
 */
function vlmevalkitMcqPrompt(recipe: Extract<PromptRecipe, { kind: 'mcq' }>, sample: Sample): string {
  let prompt = hinted(sample);
  const opts = options(sample);
  for (const [key, item] of opts) prompt += `\n${key}. ${item}`;
  const lang = recipe.lang === 'auto' ? (isChineseText(prompt) ? 'cn' : 'en') : recipe.lang;
  if (opts.length > 0) prompt += '\n' + (recipe.instruction ?? MCQ_INSTRUCTION)[lang];
  else prompt += NO_OPTION_INSTRUCTION[lang];
  const n = sample.images.length;
  if (n > 1) {
    const markers = Array.from({ length: n }, (_, i) => `<image-${i + 1}>`);
    prompt = markers.map((m) => `${m}: ${IMAGE_PLACEHOLDER}`).join(' ') + '\n' + prompt + markers.join('');
  }
  return prompt;
}

/** evaluate_mvbench.py `qa_template` + `__getitem__`. */
function mvbenchPrompt(frames: number, sample: Sample): string {
  const special = Array.from({ length: frames }, (_, i) => `Frame${i + 1}: ${IMAGE_PLACEHOLDER}`).join('\n');
  let qa = `Question: ${sample.question}\n` + 'Options:\n';
  for (const [key, c] of options(sample)) qa += `(${key}) ${c}\n`;
  qa = pyRstrip(qa);
  return special + '\n' + MVBENCH_PROMPT + '\n' + qa + MVBENCH_QUESTION_PROMPT;
}

/**
 * VLMEvalKit Video-MME (`VideoMME.build_prompt`: [SYS='', frames, FRAMES_TMPL, 'Question: {q}\nAnswer: ']) through
 * the InternVL wrapper: `generate_v2` writes `<image-k>` per frame and the prefix `<image-1>: <image> …\n`;
 * `build_video_prompt` deletes the runs of 8 markers, renames `<image-k>` → `Frame{k}`, removes '\nAnswer:'
 * (keeping its trailing space) and appends the option instruction.
 * The TSV question is `question + '\n' + '\n'.join(options)` with options written `A. text`.
 * Subtitles: the lines active at the sampled frames, from `sample.meta.subtitles` (string[] or string); absent →
 * '' as VEK does when the subtitle file is missing.
 */
function videommePrompt(frames: number, subtitles: boolean, sample: Sample): string {
  const opts = options(sample);
  const question =
    opts.length > 0
      ? sample.question + '\n' + opts.map(([k, v]) => `${k}. ${v}`).join('\n')
      : sample.question;
  let template = VIDEOMME_FRAMES_TMPL_NOSUB;
  if (subtitles) {
    const subs = sample.meta.subtitles;
    const text = Array.isArray(subs) ? subs.map(String).join('\n') : typeof subs === 'string' ? subs : '';
    template = VIDEOMME_FRAMES_TMPL_SUB.replace('{}', () => text);
  }
  const texts = ['' /* VideoMME.SYS */, template, `Question: ${question}\nAnswer: `];
  if (frames === 1) {
    // generate_v2, single-image branch: '<image>\n' + the text parts joined by '\n'.
    return internvlBuildVideoPrompt(`${IMAGE_PLACEHOLDER}\n` + texts.join('\n'));
  }
  // generate_v2, multi-image branch: text parts concatenated with a marker per image, in message order
  // (SYS, frames, template, question).
  const markers = Array.from({ length: frames }, (_, i) => `<image-${i + 1}>`);
  let prompt = texts[0] + markers.join('') + texts[1] + texts[2];
  prompt = markers.map((m) => `${m}: ${IMAGE_PLACEHOLDER}`).join(' ') + '\n' + prompt;
  return internvlBuildVideoPrompt(prompt);
}

/**
 * VEK@5e4df734 `InternVLChat.build_video_prompt(prompt, 'Video-MME', max_nframe=64)`, step by step (so frame
 * counts that are not a multiple of 8 keep their leftover markers, renamed, exactly as the reference does).
 */
function internvlBuildVideoPrompt(input: string): string {
  const maxFrames = 64;
  let prompt = input;
  for (let start = 0; start < maxFrames; start += 8) {
    const run = Array.from({ length: 8 }, (_, k) => `<image-${start + k + 1}>`).join('');
    prompt = prompt.replaceAll(run, '');
  }
  for (let i = 0; i < maxFrames; i++) prompt = prompt.replaceAll(`<image-${i + 1}>`, `Frame${i + 1}`);
  prompt = prompt.replaceAll('\nAnswer:', '');
  return prompt + VIDEOMME_ANSWER_INSTRUCTION;
}

/** evaluate_grounding.py: `prompt.format(sent)` with a single `{}`. */
function groundingPrompt(template: string, sentence: string): string {
  const count = template.split('{}').length - 1;
  if (count !== 1)
    throw new Error(`grounding template must contain exactly one "{}", found ${count}: ${template}`);
  return template.replace('{}', () => sentence);
}
