import { describe, expect, it } from 'vitest';
import { buildUserText, isChineseText } from '../../src/datasets/user-text.ts';
import type { PromptRecipe } from '../../src/datasets/prompt-recipe.ts';
import type { ImageSource, Sample } from '../../src/datasets/sample.ts';
import { buildChatPrompt } from '../../src/model/inputs/chat-template.ts';
import { listTasks } from '../../src/datasets/task-config.ts';

const image: ImageSource = { origin: 'test', load: async () => new Uint8Array(0) };
function sample(over: Partial<Sample> = {}): Sample {
  return { id: '1', task: 't', images: [image], question: 'Q?', answers: [], meta: {}, ...over };
}
const SINGLE = 'Answer the question using a single word or phrase.';
const EN = "Answer with the option's letter from the given choices directly.";
const CN = '请直接回答选项字母。';
const MVB =
  'Carefully watch the video and pay attention to the cause and sequence of events, the detail and movement of objects, and the action and pose of persons. Based on your observations, select the best option that accurately addresses the question.\n';
const VMME =
  '\nThese are the frames of a video. Select the best answer to the following multiple-choice question based on the video. Respond with only the letter (A, B, C, or D) of the correct option.\n';

describe('buildUserText: suffix recipes (evaluate_vqa.py, VLMEvalKit)', () => {
  const cases: [string, PromptRecipe, string, string][] = [
    [
      'TextVQA (space joiner)',
      { kind: 'suffix', joiner: ' ', suffix: SINGLE },
      'what is the brand of this camera?',
      `what is the brand of this camera? ${SINGLE}`,
    ],
    [
      'MME: question already ends with the yes/no request',
      { kind: 'suffix', joiner: ' ', suffix: SINGLE },
      'Is there a train in this image? Please answer yes or no.',
      'Is there a train in this image? Please answer yes or no. Answer the question using a single word or phrase.',
    ],
    [
      'AI2D: empty suffix → question verbatim',
      { kind: 'suffix', joiner: ' ', suffix: '' },
      'Q\nA. x',
      'Q\nA. x',
    ],
    [
      'MMVet: question + " " + "" (trailing space)',
      { kind: 'suffix', joiner: ' ', suffix: '', trailingJoiner: true },
      'What is it?',
      'What is it? ',
    ],
    [
      'OCRBench (VEK, newline joiner)',
      { kind: 'suffix', joiner: '\n', suffix: SINGLE },
      'what?',
      `what?\n${SINGLE}`,
    ],
    [
      'HallusionBench (VEK)',
      { kind: 'suffix', joiner: ' ', suffix: `Please answer yes or no. ${SINGLE}` },
      'Is the line longer?',
      `Is the line longer? Please answer yes or no. ${SINGLE}`,
    ],
  ];
  it.each(cases)('%s', (_n, recipe, question, expected) => {
    expect(buildUserText(recipe, sample({ question }))).toBe(expected);
  });
});

describe('buildUserText: MCQ', () => {
  const abcd = { A: 'red', B: 'green', C: 'blue', D: 'black' };
  const internvlEn: PromptRecipe = { kind: 'mcq', style: 'internvl', lang: 'en' };
  const cases: [string, PromptRecipe, Partial<Sample>, string][] = [
    [
      'MMBench-EN worked example (§5.9), with hint',
      internvlEn,
      { hint: 'A hint.', question: 'What color?', choices: abcd },
      `A hint.\nWhat color?\nA. red\nB. green\nC. blue\nD. black\n${EN}`,
    ],
    [
      'no hint, absent options skipped (pandas NaN), letters in order',
      internvlEn,
      { hint: '', question: 'Q', choices: { B: 'b', A: 'a', C: '', E: 'e', F: 'f' } },
      `Q\nA. a\nB. b\nE. e\n${EN}`, // evaluate_mmbench.py looks at A–E only
    ],
    [
      'CCBench / MMBench-CN: lang cn',
      { kind: 'mcq', style: 'internvl', lang: 'cn' },
      { question: '这是什么？', choices: { A: '猫', B: '狗' } },
      `这是什么？\nA. 猫\nB. 狗\n${CN}`,
    ],
    [
      'internvl with an instruction override from the YAML',
      { kind: 'mcq', style: 'internvl', lang: 'en', instruction: { en: 'Pick one.', cn: '选一个' } },
      { question: 'Q', choices: { A: 'a' } },
      'Q\nA. a\nPick one.',
    ],
    [
      'VLMEvalKit build_multi_choice_prompt, English',
      { kind: 'mcq', style: 'vlmevalkit', lang: 'auto' },
      { hint: 'H', question: 'Q', choices: { A: 'a', B: 'b' } },
      `H\nQ\nA. a\nB. b\n${EN}`,
    ],
    [
      'VLMEvalKit: Chinese anywhere in the prompt (here an option) → Chinese instruction',
      { kind: 'mcq', style: 'vlmevalkit', lang: 'auto' },
      { question: 'Which?', choices: { A: '猫', B: 'dog' } },
      `Which?\nA. 猫\nB. dog\n${CN}`,
    ],
    [
      'VLMEvalKit: no options → answer directly',
      { kind: 'mcq', style: 'vlmevalkit', lang: 'auto' },
      { question: 'How many?' },
      'How many?\nAnswer the question directly.',
    ],
    [
      'VLMEvalKit: no options, Chinese',
      { kind: 'mcq', style: 'vlmevalkit', lang: 'auto' },
      { question: '多少？' },
      '多少？\n请直接回答问题。',
    ],
    [
      'VLMEvalKit multi-image (MMMU): <image-k>: <image> prefix, markers left at the end',
      { kind: 'mcq', style: 'vlmevalkit', lang: 'auto' },
      { question: 'Compare <image 1> and <image 2>.', choices: { A: 'x', B: 'y' }, images: [image, image] },
      `<image-1>: <image> <image-2>: <image>\nCompare <image 1> and <image 2>.\nA. x\nB. y\n${EN}<image-1><image-2>`,
    ],
  ];
  it.each(cases)('%s', (_n, recipe, over, expected) => {
    expect(buildUserText(recipe, sample(over))).toBe(expected);
  });

  it('cn detection is VLMEvalKit cn_string (U+4E00..U+9FFF only)', () => {
    expect(isChineseText('abc')).toBe(false);
    expect(isChineseText('日本')).toBe(true);
    expect(isChineseText('カタカナ')).toBe(false);
    expect(isChineseText('，。')).toBe(false);
  });
});

describe('buildUserText: video and grounding', () => {
  it('MVBench: 16 FrameK lines, instruction, blank line, Question/Options block, closing line (§4.10, §5.9)', () => {
    const s = sample({
      question: 'What happens next?',
      choices: { A: 'He sits.', B: 'He runs. ' },
      images: [],
    });
    const frames = Array.from({ length: 16 }, (_, i) => `Frame${i + 1}: <image>`).join('\n');
    expect(buildUserText({ kind: 'mvbench', frames: 16 }, s)).toBe(
      `${frames}\n${MVB}\nQuestion: What happens next?\nOptions:\n(A) He sits.\n(B) He runs.\nOnly give the best option.`,
    );
  });

  it('MVBench prompt through the template gives the worked example layout', () => {
    const s = sample({ question: 'q', choices: { A: 'c0', B: 'c1' }, images: [] });
    const user = buildUserText({ kind: 'mvbench', frames: 2 }, s);
    const full = buildChatPrompt({ question: user, numPatchesList: [1, 1], numImageToken: 1 });
    const IMG = '<img><IMG_CONTEXT></img>';
    expect(full).toContain(`<|im_start|>user\nFrame1: ${IMG}\nFrame2: ${IMG}\nCarefully watch the video`);
    expect(
      full.endsWith(
        `accurately addresses the question.\n\nQuestion: q\nOptions:\n(A) c0\n(B) c1\nOnly give the best option.<|im_end|><|im_start|>assistant\n`,
      ),
    ).toBe(true);
  });

  it('Video-MME without subtitles (§5.8, §5.9)', () => {
    const s = sample({ question: 'What is shown?', choices: { A: 'a', B: 'b', C: 'c', D: 'd' }, images: [] });
    const frames = Array.from({ length: 16 }, (_, i) => `Frame${i + 1}: <image>`).join(' ');
    expect(buildUserText({ kind: 'videomme', frames: 16, subtitles: false }, s)).toBe(
      `${frames}\n${VMME}Question: What is shown?\nA. a\nB. b\nC. c\nD. d \n${EN}`,
    );
  });

  it('Video-MME with subtitles from sample.meta.subtitles; missing subtitles → empty (as VEK)', () => {
    const s = sample({
      question: 'Q',
      choices: { A: 'a' },
      images: [],
      meta: { subtitles: ['Hello there.', 'Bye.'] },
    });
    const out = buildUserText({ kind: 'videomme', frames: 8, subtitles: true }, s);
    const frames = Array.from({ length: 8 }, (_, i) => `Frame${i + 1}: <image>`).join(' ');
    expect(out).toBe(
      `${frames}\n` +
        "\nThese are the frames of a video. This video's subtitles are listed below:\nHello there.\nBye.\nSelect the best answer to the following multiple-choice question based on the video. Respond with only the letter (A, B, C, or D) of the correct option.\nQuestion: Q\nA. a \n" +
        EN,
    );
    // one frame: generate_v2's single-image branch joins the text parts with '\n'
    expect(buildUserText({ kind: 'videomme', frames: 1, subtitles: false }, s)).toBe(
      `<image>\n\n${VMME}\nQuestion: Q\nA. a \n${EN}`,
    );
    const none = buildUserText(
      { kind: 'videomme', frames: 8, subtitles: true },
      sample({ question: 'Q', meta: {} }),
    );
    expect(none).toContain('listed below:\n\nSelect');
  });

  it('Video-MME with a frame count that is not a multiple of 8 keeps the reference leftovers', () => {
    const s = sample({ question: 'Q', images: [] });
    const out = buildUserText({ kind: 'videomme', frames: 3, subtitles: false }, s);
    // build_video_prompt only deletes full runs of 8 markers; the rest are renamed to FrameK in place.
    expect(out).toBe(
      `Frame1: <image> Frame2: <image> Frame3: <image>\nFrame1Frame2Frame3${VMME}Question: Q \n${EN}`,
    );
  });

  it('grounding (evaluate_grounding.py)', () => {
    const t =
      'Please provide the bounding box coordinate of the region this sentence describes: <ref>{}</ref>';
    expect(buildUserText({ kind: 'grounding', template: t }, sample({ question: 'man in red $&' }))).toBe(
      'Please provide the bounding box coordinate of the region this sentence describes: <ref>man in red $&</ref>',
    );
    expect(() => buildUserText({ kind: 'grounding', template: 'no slot' }, sample())).toThrow(
      /exactly one "\{\}"/,
    );
  });
});

describe('every task YAML in configs/tasks builds a prompt', () => {
  it('TextVQA, MMBench, OCRBench, RefCOCO, MVBench configs give the documented strings', async () => {
    const tasks = new Map((await listTasks()).map((t) => [t.name, t]));
    const text = (name: string, s: Sample) => buildUserText(tasks.get(name)!.prompt, s);
    expect(text('textvqa_val', sample({ question: 'what?' }))).toBe(`what? ${SINGLE}`);
    expect(text('mmvet', sample({ question: 'what?' }))).toBe('what? ');
    expect(text('ocrbench', sample({ question: 'what?' }))).toBe(`what?\n${SINGLE}`);
    expect(text('mmbench_dev_en', sample({ question: 'Q', choices: { A: 'a' } }))).toBe(`Q\nA. a\n${EN}`);
    expect(text('ccbench_dev', sample({ question: 'Q', choices: { A: 'a' } }))).toBe(`Q\nA. a\n${CN}`);
    expect(text('refcoco_val', sample({ question: 'dog' }))).toContain('<ref>dog</ref>');
    for (const t of tasks.values()) {
      expect(() => buildUserText(t.prompt, sample({ choices: { A: 'a', B: 'b' } }))).not.toThrow();
    }
  });
});
