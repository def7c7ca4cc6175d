#!/usr/bin/env python3
"""Golden token ids of the single-image chat prompt of InternVL2-2B, for test/model/engine/chat-cli.test.ts.

Independent of our TypeScript tokenizer: the query string is assembled from the template pieces of
IVL conversation.py (internlm2-chat, SeparatorStyle.MPT) and modeling_internvl_chat.py chat(), then tokenised the
way the slow InternLM2Tokenizer does: added tokens cut out first, every text chunk through sentencepiece's own
`encode`, special ids by name. The image block is left out (it is `<img>` + `<IMG_CONTEXT>` x 256*tiles + `</img>`,
assembled by the test from the ids stored here), so one fixture serves any tile count.

Run: /usr/bin/python3 scripts/make-engine-prompt-golden.py  (needs the sentencepiece module)
"""
import json
import os
import sentencepiece as spm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, '..', 'shared', 'fixtures', 'internlm2-tokenizer', 'tokenizer.model')
OUT = os.path.join(ROOT, 'test', 'model', 'engine', 'fixtures', 'single-image-prompt.json')

SYS = '你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型，英文名叫InternVL, 是一个有用无害的人工智能助手。'
QUESTION = 'What is the total amount due on the invoice?'
# InternLM2 ids 92542/92543 are pieces [UNUSED_TOKEN_145]/[UNUSED_TOKEN_146]; InternVL's added tokens follow.
SPECIAL = {'<|im_end|>': 92542, '<|im_start|>': 92543, '<img>': 92544, '</img>': 92545, '<IMG_CONTEXT>': 92546}

sp = spm.SentencePieceProcessor(model_file=MODEL)
assert sp.id_to_piece(92542) == '[UNUSED_TOKEN_145]' and sp.id_to_piece(92543) == '[UNUSED_TOKEN_146]'


def encode(text):
    ids = []
    rest = text
    while rest:
        hits = [(rest.find(t), t) for t in SPECIAL if rest.find(t) >= 0]
        if not hits:
            ids += sp.encode(rest)
            break
        at, tok = min(hits)
        if at > 0:
            ids += sp.encode(rest[:at])
        ids.append(SPECIAL[tok])
        rest = rest[at + len(tok):]
    return ids


# chat(): question '<image>\n' + QUESTION; MPT prompt: system + sep, role + message + sep, open assistant role.
before_image = '<|im_start|>system\n' + SYS + '<|im_end|>' + '<|im_start|>user\n'
after_image = '\n' + QUESTION + '<|im_end|>' + '<|im_start|>assistant\n'
golden = {
    'question': QUESTION,
    'bos': sp.bos_id(),
    'before_image': encode(before_image),
    'after_image': encode(after_image),
    'img_start': SPECIAL['<img>'],
    'img_end': SPECIAL['</img>'],
    'img_context': SPECIAL['<IMG_CONTEXT>'],
    'num_image_token': 256,
}
with open(OUT, 'w') as f:
    json.dump(golden, f)
    f.write('\n')
print(OUT, len(golden['before_image']), len(golden['after_image']))
