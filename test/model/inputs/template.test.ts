import { describe, expect, it } from 'vitest';
import {
  INTERNLM2_CHAT,
  STOP_TOKEN,
  buildChatPrompt,
  imageTokens,
  renderMptPrompt,
  splitReply,
} from '../../../src/model/inputs/chat-template.ts';

const SYS =
  '你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型，英文名叫InternVL, 是一个有用无害的人工智能助手。';
const IMG = (n: number, per = 256) => '<img>' + '<IMG_CONTEXT>'.repeat(per * n) + '</img>';
const head = `<|im_start|>system\n${SYS}<|im_end|>`;

describe('internlm2-chat template', () => {
  it('has the default system message of eval-protocols.md §1 (59 chars)', () => {
    expect(INTERNLM2_CHAT.systemMessage).toBe(SYS);
    expect([...SYS]).toHaveLength(59);
    expect(STOP_TOKEN).toBe('<|im_end|>');
  });

  it('renders MPT with no newline after <|im_end|>; an empty message is written like None (quirk)', () => {
    expect(
      renderMptPrompt('S', [
        ['<|im_start|>user\n', 'hi'],
        ['<|im_start|>assistant\n', null],
      ]),
    ).toBe('<|im_start|>system\nS<|im_end|><|im_start|>user\nhi<|im_end|><|im_start|>assistant\n');
    expect(
      renderMptPrompt('', [
        ['U', ''],
        ['A', null],
      ]),
    ).toBe('<|im_start|>system\n<|im_end|>UA');
    // '$&' in a system message is text, not a replacement pattern
    expect(renderMptPrompt('$&', [])).toBe('<|im_start|>system\n$&<|im_end|>');
  });
});

describe('buildChatPrompt (InternVLChatModel.chat)', () => {
  const cases: [string, Parameters<typeof buildChatPrompt>[0], string][] = [
    [
      'single image, TextVQA worked example (§5.9)',
      {
        question: 'what is the brand of this camera? Answer the question using a single word or phrase.',
        numPatchesList: [7],
        numImageToken: 256,
      },
      `${head}<|im_start|>user\n${IMG(7)}\nwhat is the brand of this camera? Answer the question using a single word or phrase.<|im_end|><|im_start|>assistant\n`,
    ],
    [
      'text only: no <image> prefix',
      { question: 'Hi', numPatchesList: [], numImageToken: 256 },
      `${head}<|im_start|>user\nHi<|im_end|><|im_start|>assistant\n`,
    ],
    [
      'question already holding <image> is left in place',
      { question: 'Look: <image> ok?', numPatchesList: [1], numImageToken: 2 },
      `${head}<|im_start|>user\nLook: ${IMG(1, 2)} ok?<|im_end|><|im_start|>assistant\n`,
    ],
    [
      'multi-image combined: one block with all tiles',
      { question: 'Describe.', numPatchesList: [3, 2], numImageToken: 1, imageLayout: 'combined' },
      `${head}<|im_start|>user\n${IMG(5, 1)}\nDescribe.<|im_end|><|im_start|>assistant\n`,
    ],
    [
      'multi-image separate: Image-k lines',
      { question: 'Describe.', numPatchesList: [3, 2], numImageToken: 1, imageLayout: 'separate' },
      `${head}<|im_start|>user\nImage-1: ${IMG(3, 1)}\nImage-2: ${IMG(2, 1)}\nDescribe.<|im_end|><|im_start|>assistant\n`,
    ],
    [
      'video frames in the question (MVBench) are expanded one per entry by default',
      { question: 'Frame1: <image>\nFrame2: <image>\nQ', numPatchesList: [1, 1], numImageToken: 1 },
      `${head}<|im_start|>user\nFrame1: ${IMG(1, 1)}\nFrame2: ${IMG(1, 1)}\nQ<|im_end|><|im_start|>assistant\n`,
    ],
    [
      'multi-round history: no <image> prefix, the first <image> (in history) is expanded',
      {
        question: 'And now?',
        history: [['<image>\nWhat is it?', 'A cat.']],
        numPatchesList: [1],
        numImageToken: 1,
      },
      `${head}<|im_start|>user\n${IMG(1, 1)}\nWhat is it?<|im_end|><|im_start|>assistant\nA cat.<|im_end|><|im_start|>user\nAnd now?<|im_end|><|im_start|>assistant\n`,
    ],
    [
      'history=[] (not None) suppresses the prefix (chat() quirk)',
      { question: 'Q', history: [], numPatchesList: [1], numImageToken: 1 },
      `${head}<|im_start|>user\nQ<|im_end|><|im_start|>assistant\n`,
    ],
    [
      'surplus placeholders stay as text',
      { question: '<image> and <image>', numPatchesList: [1], numImageToken: 1 },
      `${head}<|im_start|>user\n${IMG(1, 1)} and <image><|im_end|><|im_start|>assistant\n`,
    ],
    [
      'custom system message',
      { systemMessage: 'Be brief.', question: 'Q', numPatchesList: [], numImageToken: 1 },
      `<|im_start|>system\nBe brief.<|im_end|><|im_start|>user\nQ<|im_end|><|im_start|>assistant\n`,
    ],
  ];
  it.each(cases)('%s', (_n, input, expected) => {
    expect(buildChatPrompt(input)).toBe(expected);
  });

  it('holds 256·tiles context tokens per image', () => {
    const p = buildChatPrompt({ question: 'Q', numPatchesList: [7], numImageToken: 256 });
    expect(p.split('<IMG_CONTEXT>').length - 1).toBe(1792);
    expect(imageTokens(2, 3)).toBe('<img>' + '<IMG_CONTEXT>'.repeat(6) + '</img>');
  });

  it('rejects bad counts', () => {
    expect(() => buildChatPrompt({ question: 'Q', numPatchesList: [0], numImageToken: 256 })).toThrow(/≥ 1/);
    expect(() => buildChatPrompt({ question: 'Q', numPatchesList: [1], numImageToken: 0 })).toThrow(/≥ 1/);
  });
});

describe('splitReply', () => {
  const cases: [string, string][] = [
    ['  The answer is 5.<|im_end|>junk', 'The answer is 5.'],
    ['\n yes \n', 'yes'],
    ['no separator', 'no separator'],
    ['<|im_end|>', ''],
    ['\ufeffA\u3000', '\ufeffA'], // Python strip(): U+3000 is whitespace, U+FEFF is not
    ['\x1cB\x85', 'B'],
  ];
  it.each(cases)('%j', (input, expected) => expect(splitReply(input)).toBe(expected));
});
