/**
 * How a task turns a Sample into the user-turn text (with `<image>` placeholders). A task YAML holds one recipe;
 * `buildUserText()` in `user-text.ts` interprets it. Each recipe copies one reference script; see
 * ../shared/docs/eval-protocols.md §4–§5 for the exact strings.
 */
export type PromptRecipe =
  /**
   * `question + joiner + suffix` (empty suffix: the question verbatim; `trailingJoiner` keeps the joiner even
   * then, as MMVet's `question + ' ' + ''`). InternVL's evaluate_vqa.py joins with a space, VLMEvalKit with '\n'.
   */
  | { kind: 'suffix'; suffix: string; joiner: string; trailingJoiner?: boolean }
  /**
   * Multiple choice: `[hint\n]question` + `\nA. text` per option + `\n` + instruction.
   * `internvl`: evaluate_mmbench.py (instruction by `lang`); `vlmevalkit`: build_multi_choice_prompt (language
   * detected from the prompt text when `lang` is 'auto'; no-option fallback text).
   */
  | {
      kind: 'mcq';
      style: 'internvl' | 'vlmevalkit';
      lang: 'en' | 'cn' | 'auto';
      instruction?: { en: string; cn: string };
    }
  /** InternVL evaluate_mvbench.py: FrameK lines, fixed instruction, `Question:`/`Options:` block, closing line. */
  | { kind: 'mvbench'; frames: number }
  /** VLMEvalKit Video-MME with the InternVL wrapper's build_video_prompt. */
  | { kind: 'videomme'; frames: number; subtitles: boolean }
  /** InternVL evaluate_grounding.py: template with `{}` replaced by the referring sentence. */
  | { kind: 'grounding'; template: string };
