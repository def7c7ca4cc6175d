/**
 * A sample's full model prompt: the task recipe's user text (datasets/user-text.ts) inside the internlm2-chat template with
 * `<image>` expanded (chat-template.ts) — the string InternVL's `chat()` tokenises.
 */
import type { Sample } from '../../datasets/sample.ts';
import { buildChatPrompt, IMG_CONTEXT_TOKEN } from './chat-template.ts';
import { buildUserText } from '../../datasets/user-text.ts';
import type { PromptRecipe } from '../../datasets/prompt-recipe.ts';

export interface SamplePrompt {
  /** What the task script passes to `chat()` as `question`. */
  userText: string;
  /** The full query (template + expanded image tokens), before BOS. */
  prompt: string;
}

export function buildSamplePrompt(
  recipe: PromptRecipe,
  sample: Sample,
  numPatchesList: readonly number[],
  numImageToken: number,
  systemMessage?: string,
): SamplePrompt {
  const userText = buildUserText(recipe, sample);
  const prompt = buildChatPrompt({ systemMessage, question: userText, numPatchesList, numImageToken });
  return { userText, prompt };
}

/** Folds each run of `<IMG_CONTEXT>` into `<IMG_CONTEXT>×N`, for reading a prompt on a terminal. */
export function compactImageTokens(prompt: string): string {
  return prompt.replace(
    /(?:<IMG_CONTEXT>)+/g,
    (run) => `${IMG_CONTEXT_TOKEN}×${run.length / IMG_CONTEXT_TOKEN.length}`,
  );
}
