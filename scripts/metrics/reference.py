"""Reference scorer logic in Python, written from reading the reference sources, used ONLY to make the expected
values in test/metrics/fixtures/*.json (tests never run Python). Sources (read, re-typed, not imported):
  IVL = OpenGVLab/InternVL internvl_chat/eval/... ; VEK = open-compass/VLMEvalKit @5e4df734.
"""
import re
import numpy as np

# ---- IVL vqa/textvqa_eval.py EvalAIAnswerProcessor -------------------------------------------------------------
CONTRACTIONS = {
    'aint': "ain't", 'arent': "aren't", 'cant': "can't", 'couldve': "could've", 'couldnt': "couldn't",
    "couldn'tve": "couldn't've", "couldnt've": "couldn't've", 'didnt': "didn't", 'doesnt': "doesn't",
    'dont': "don't", 'hadnt': "hadn't", "hadnt've": "hadn't've", "hadn'tve": "hadn't've", 'hasnt': "hasn't",
    'havent': "haven't", 'hed': "he'd", "hed've": "he'd've", "he'dve": "he'd've", 'hes': "he's", 'howd': "how'd",
    'howll': "how'll", 'hows': "how's", "Id've": "I'd've", "I'dve": "I'd've", 'Im': "I'm", 'Ive': "I've",
    'isnt': "isn't", 'itd': "it'd", "itd've": "it'd've", "it'dve": "it'd've", 'itll': "it'll", "let's": "let's",
    'maam': "ma'am", 'mightnt': "mightn't", "mightnt've": "mightn't've", "mightn'tve": "mightn't've",
    'mightve': "might've", 'mustnt': "mustn't", 'mustve': "must've", 'neednt': "needn't", 'notve': "not've",
    'oclock': "o'clock", 'oughtnt': "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at",
    'shant': "shan't", "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's", 'shouldve': "should've",
    'shouldnt': "shouldn't", "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've",
    "somebody'd": 'somebodyd', "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    'somebodyll': "somebody'll", 'somebodys': "somebody's", 'someoned': "someone'd",
    "someoned've": "someone'd've", "someone'dve": "someone'd've", 'someonell': "someone'll",
    'someones': "someone's", 'somethingd': "something'd", "somethingd've": "something'd've",
    "something'dve": "something'd've", 'somethingll': "something'll", 'thats': "that's", 'thered': "there'd",
    "thered've": "there'd've", "there'dve": "there'd've", 'therere': "there're", 'theres': "there's",
    'theyd': "they'd", "theyd've": "they'd've", "they'dve": "they'd've", 'theyll': "they'll",
    'theyre': "they're", 'theyve': "they've", 'twas': "'twas", 'wasnt': "wasn't", "wed've": "we'd've",
    "we'dve": "we'd've", 'weve': "we've", 'werent': "weren't", 'whatll': "what'll", 'whatre': "what're",
    'whats': "what's", 'whatve': "what've", 'whens': "when's", 'whered': "where'd", 'wheres': "where's",
    'whereve': "where've", 'whod': "who'd", "whod've": "who'd've", "who'dve": "who'd've", 'wholl': "who'll",
    'whos': "who's", 'whove': "who've", 'whyll': "why'll", 'whyre': "why're", 'whys': "why's", 'wont': "won't",
    'wouldve': "would've", 'wouldnt': "wouldn't", "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've",
    'yall': "y'all", "yall'll": "y'all'll", "y'allll": "y'all'll", "yall'd've": "y'all'd've",
    "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've", 'youd': "you'd", "youd've": "you'd've",
    "you'dve": "you'd've", 'youll': "you'll", 'youre': "you're", 'youve': "you've",
}
NUMBER_MAP = {'none': '0', 'zero': '0', 'one': '1', 'two': '2', 'three': '3', 'four': '4', 'five': '5',
              'six': '6', 'seven': '7', 'eight': '8', 'nine': '9', 'ten': '10'}
ARTICLES = ['a', 'an', 'the']
PERIOD_STRIP = re.compile(r'(?!<=\d)(\.)(?!\d)')
COMMA_STRIP = re.compile(r'(?<=\d)(\,)+(?=\d)')
PUNCTUATIONS = [';', r'/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`',
                ',', '?', '!']


def process_punctuation(in_text, comma=COMMA_STRIP):
    out_text = in_text
    for p in PUNCTUATIONS:
        if (p + ' ' in in_text or ' ' + p in in_text) or (re.search(comma, in_text) is not None):
            out_text = out_text.replace(p, '')
        else:
            out_text = out_text.replace(p, ' ')
    out_text = PERIOD_STRIP.sub('', out_text, re.UNICODE)
    return out_text


def process_digit_article(in_text):
    out_text = []
    for word in in_text.lower().split():
        word = NUMBER_MAP.get(word, word)
        if word not in ARTICLES:
            out_text.append(word)
    for i, word in enumerate(out_text):
        if word in CONTRACTIONS:
            out_text[i] = CONTRACTIONS[word]
    return ' '.join(out_text)


def evalai(item):
    item = item.lower().replace(',', '').replace('?', '').replace("'s", " 's").strip()
    item = item.replace('\n', ' ').replace('\t', ' ').strip()
    item = process_punctuation(item)
    return process_digit_article(item)


def vqa_accuracy(pred, raw_answers):
    answers = [evalai(a) for a in raw_answers]
    gt_answers = list(enumerate(answers))
    scores = {}
    for ua in set(answers):
        accs = []
        for gt in gt_answers:
            others = [item for item in gt_answers if item != gt]
            matching = [item for item in others if item[1] == ua]
            accs.append(min(1, float(len(matching)) / 3))
        scores[ua] = sum(accs) / len(accs)
    return scores.get(evalai(pred), 0.0)


# ---- IVL vqa/infographicsvqa_eval.py -----------------------------------------------------------------------------
def levenshtein(s1, s2):
    if len(s1) > len(s2):
        s1, s2 = s2, s1
    distances = range(len(s1) + 1)
    for i2, c2 in enumerate(s2):
        d_ = [i2 + 1]
        for i1, c1 in enumerate(s1):
            d_.append(distances[i1] if c1 == c2 else 1 + min((distances[i1], distances[i1 + 1], d_[-1])))
        distances = d_
    return distances[-1]


def anls(pred, answers, threshold=0.5):
    values = []
    for answer in answers:
        gt_answer = ' '.join(answer.strip().lower().split())
        det_answer = ' '.join(pred.strip().lower().split())
        dist = levenshtein(gt_answer, det_answer)
        length = max(len(answer.upper()), len(pred.upper()))
        values.append(0.0 if length == 0 else float(dist) / float(length))
    r = 1 - min(values)
    return 0 if r < threshold else r


# ---- IVL vqa/evaluate_vqa.py -------------------------------------------------------------------------------------
def relaxed_correctness(target, prediction, max_relative_change=0.05):
    def _to_float(text):
        try:
            if text.endswith('%'):
                return float(text.rstrip('%')) / 100.0
            return float(text)
        except ValueError:
            return None
    prediction_float = _to_float(prediction)
    target_float = _to_float(target)
    if prediction_float is not None and target_float:
        return abs(prediction_float - target_float) / abs(target_float) <= max_relative_change
    return prediction.lower() == target.lower()


def chartqa(answer, annotation):
    if isinstance(annotation, str):
        annotation = [annotation]
    return max([relaxed_correctness(answer.strip(), ann) for ann in annotation])


def exact_match(answer, annotation):
    if isinstance(annotation, str):
        annotation = [annotation]
    return max([1.0 if answer.strip().lower() == ann.strip().lower() else 0.0 for ann in annotation])


# ---- IVL refcoco/evaluate_grounding.py (torch float32 emulated with numpy float32) -------------------------------
PATTERN = re.compile(r'\[*\[(.*?),(.*?),(.*?),(.*?)\]\]*')
f32 = np.float32


def refcoco(answer, gt_bbox, w, h):
    m = re.findall(PATTERN, answer)
    try:
        box = (float(m[0][0]), float(m[0][1]), float(m[0][2]), float(m[0][3]))
    except Exception:
        box = (0., 0., 0., 0.)
    with np.errstate(all='ignore'):
        b = [f32(v) for v in box]
        s = f32(f32(f32(b[0] + b[1]) + b[2]) + b[3])
        if s >= 4:
            b = [f32(v / f32(1000)) for v in b]
        b = [f32(b[0] * f32(w)), f32(b[1] * f32(h)), f32(b[2] * f32(w)), f32(b[3] * f32(h))]
        t = [f32(v) for v in gt_bbox]
        a1 = f32(f32(b[2] - b[0]) * f32(b[3] - b[1]))
        a2 = f32(f32(t[2] - t[0]) * f32(t[3] - t[1]))
        lt = [np.maximum(b[0], t[0]), np.maximum(b[1], t[1])]
        rb = [np.minimum(b[2], t[2]), np.minimum(b[3], t[3])]
        wh = [np.clip(f32(rb[0] - lt[0]), f32(0), None), np.clip(f32(rb[1] - lt[1]), f32(0), None)]
        inter = f32(wh[0] * wh[1])
        union = f32(f32(a1 + a2) - inter)
        iou = f32(inter / union)
    return bool(iou >= 0.5), float(iou)


# ---- IVL mvbench/evaluate_mvbench.py check_ans ------------------------------------------------------------------
def check_ans(pred, gt):
    flag = False
    pred = pred.replace('Answer: ', '')
    pred_list = pred.lower().split(' ')
    pred_option = pred_list[0]
    gt_list = gt.lower().split(' ')
    gt_option, gt_content = gt_list[0], ' '.join(gt_list[1:])
    if gt_content[-1] == '.':
        gt_content = gt_content[:-1]
    if pred_option.replace('.', '') in gt_option:
        flag = True
    elif gt_option in pred_option:
        flag = True
    return flag


# ---- VEK image_vqa.py OCRBench.evaluate (one line) --------------------------------------------------------------
def ocrbench_hit(predict, answers, category):
    predict = str(predict)
    if category == 'Handwritten Mathematical Expression Recognition':
        for j in range(len(answers)):
            answer = answers[j].strip().replace('\n', ' ').replace(' ', '')
            predict = predict.strip().replace('\n', ' ').replace(' ', '')
            if answer in predict:
                return True
    else:
        for j in range(len(answers)):
            answer = answers[j].lower().strip().replace('\n', ' ')
            predict = predict.lower().strip().replace('\n', ' ')
            if answer in predict:
                return True
    return False


# ---- IVL mme/eval.py post_processing + mme/calculation.py, through a real results file ------------------------
def mme_post_processing(response):
    response = response.replace('\n', '').replace('不是', 'No').replace('是', 'Yes').replace('否', 'No')
    response = response.lower().replace('true', 'yes').replace('false', 'no')
    return re.sub(re.compile(r'[\u4e00-\u9fa5]'), '', response)


def parse_pred_ans(pred_ans):
    if pred_ans in ['yes', 'no']:
        return pred_ans
    prefix = pred_ans[:4]
    if 'yes' in prefix:
        return 'yes'
    if 'no' in prefix:
        return 'no'
    return 'other'


EVAL_TYPE = {
    'Perception': ['existence', 'count', 'position', 'color', 'posters', 'celebrity', 'scene', 'landmark',
                   'artwork', 'OCR'],
    'Cognition': ['commonsense_reasoning', 'numerical_calculation', 'text_translation', 'code_reasoning'],
}


def mme_ivl_scores(rows, tmpdir):
    """rows: (subtask, img, question, gt, raw_response) in file order. Writes Your_Results-style files with
    print(..., sep='\\t') as eval.py does, reads them back with readlines() as calculation.py does."""
    import os
    files = {}
    for sub, img, q, gt, resp in rows:
        files.setdefault(sub, []).append((img, q, gt, mme_post_processing(resp)))
    for sub, items in files.items():
        with open(os.path.join(tmpdir, sub + '.txt'), 'w', encoding='utf-8') as fout:
            for img, q, gt, resp in items:
                print(img, q, gt, resp, sep='\t', file=fout)
    out = {}
    for eval_type, names in EVAL_TYPE.items():
        total = 0
        for name in names:
            path = os.path.join(tmpdir, name + '.txt')
            if not os.path.exists(path):
                continue
            lines = open(path, 'r').readlines()
            chunks = [lines[i:i + 2] for i in range(0, len(lines), 2)]
            acc_plus_n = 0
            gts, preds = [], []
            for chunk in chunks:
                assert len(chunk) == 2
                ok = 0
                for item in chunk:
                    try:
                        img_name, question, gt_ans, pred_ans = item.split('\t')
                    except Exception:
                        continue
                    gt_ans = gt_ans.lower()
                    pred_ans = parse_pred_ans(pred_ans.lower())
                    gts.append(gt_ans)
                    preds.append(pred_ans)
                    if gt_ans == pred_ans:
                        ok += 1
                if ok == 2:
                    acc_plus_n += 1
            acc = sum(1 for g, p in zip(gts, preds) if g == p) / len(gts)
            score = acc * 100 + (acc_plus_n / len(chunks)) * 100
            out[name] = score
            total += score
        out[eval_type.lower()] = total
    return out


# ---- VEK smp/misc.py process_punctuation + utils/yorn.py --------------------------------------------------------
VEK_COMMA = re.compile(r'(\d)(,)(\d)')


def yorn(output):
    s = output.lower()
    words = process_punctuation(s, VEK_COMMA).split()
    if 'yes' in words and 'no' not in words:
        return 'Yes'
    if 'yes' not in words and 'no' in words:
        return 'No'
    return 'Unknown'


def mme_vek_rating(rows):
    """rows: (category, image_path, score)."""
    stats = {}
    for c, img, s in rows:
        stats.setdefault(c, {}).setdefault(img, []).append(s)
    scores = {}
    for k, res in stats.items():
        normal = [v for val in res.values() for v in val]
        plus = [val[0] * val[1] for val in res.values()]
        scores[k] = float(np.mean(normal) * 100 + np.mean(plus) * 100)
    per = sum(v for k, v in scores.items() if k in EVAL_TYPE['Perception'])
    cog = sum(v for k, v in scores.items() if k in EVAL_TYPE['Cognition'])
    scores['perception'] = per
    scores['cognition'] = cog
    return scores


def hallusion_rating(rows):
    """rows: (index, l2, score)."""
    def grp(keyf):
        res = {}
        for idx, l2, s in rows:
            res.setdefault(keyf(idx, l2), []).append(s)
        return float(np.mean([np.all(x) for x in res.values()]) * 100)
    a = float(np.mean([s for _, _, s in rows]) * 100)
    f = grp(lambda idx, l2: f"{l2}_{idx.split('_')[3]}_{idx.split('_')[4]}")
    q = grp(lambda idx, l2: f"{l2}_{idx.split('_')[3]}_{idx.split('_')[5]}")
    return {'aAcc': a, 'fAcc': f, 'qAcc': q, 'overall': (a + f + q) / 3}


# ---- VEK utils/matching_util.py ---------------------------------------------------------------------------------
def can_infer_option(answer, choices):
    if 'Failed to obtain answer via API' in answer:
        return False
    for err in ["Sorry, I can't help with images of people yet.", "I can't process this file.",
                "I'm sorry, but without the image provided", 'Cannot determine the answer']:
        if err in answer:
            return 'Z'

    def count_choice(splits, choices):
        return sum(1 for c in choices if c in splits)
    answer_mod = answer
    for c in '.()[],:;!*#{}':
        answer_mod = answer_mod.replace(c, ' ')
    splits = [x.strip() for x in answer_mod.split()]
    count = count_choice(splits, choices)
    if count == 1:
        for ch in choices:
            if ch in splits:
                return ch
    elif count == 0 and count_choice(splits, {'Z', ''}) == 1:
        return 'Z'
    return False


def can_infer_text(answer, choices):
    answer = answer.lower()
    choices = {k: str(v).lower() for k, v in choices.items()}
    cands = [k for k in choices if choices[k] in answer]
    return cands[0] if len(cands) == 1 else False


def can_infer(answer, choices):
    answer = str(answer)
    copt = can_infer_option(answer, choices)
    return copt if copt else can_infer_text(answer, choices)


def extract_exact(pred, choices):
    r = can_infer(pred, dict(choices))
    return r if r else 'Z'


def circular_hits(rows):
    """rows: (index, gt, prediction, choices) -> {main_index: hit} as mcq_circular_eval under exact_matching."""
    result = {}
    mains = [r for r in rows if r[0] < int(1e6)]
    for m in mains:
        group = [r for r in rows if r[0] % int(1e6) == m[0]]
        hit = None
        preds = []
        for idx, gt, pred, ch in group:
            p = can_infer(pred, dict(ch))
            if p and p != gt:
                hit = 0
                break
            preds.append(p)
        if hit is None:
            hit = 1 if all(p == r[1] for p, r in zip(preds, group)) else 0
        result[m[0]] = hit
    return result


# ---- IVL seed/calculation.py, VEK utils/videomme.py, IVL mmbench post_process -----------------------------------
def seed_correct(pred, gt):
    if len(pred) != 1:
        pred = pred[0]
    return pred == gt, pred


def extract_characters_regex(s):
    s = s.strip()
    answer_prefixes = [
        'The best answer is', 'The correct answer is', 'The answer is', 'The answer',
        'The best option is' 'The correct option is', 'Best answer:' 'Best option:', 'Answer:', 'Option:',
    ]
    for p in answer_prefixes:
        s = s.replace(p, '')
    if len(s.split()) > 10 and not re.search('[ABCD]', s):
        return ''
    m = re.search(r'[ABCD]', s)
    return '' if m is None else m[0]


def mmbench_post_process(pred, option):
    pred = pred.strip()
    cands = list(option.keys())
    if len(pred) == 1:
        return pred
    elif len(pred) != 1 and pred[0] in cands:
        return pred[0]
    elif len(pred) != 1 and pred[0] not in cands:
        for k, v in option.items():
            if v in pred:
                return k
    return pred
