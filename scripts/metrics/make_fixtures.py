"""Writes test/metrics/fixtures/*.json: case tables (each with its reason) and the expected values computed by
scripts/metrics/reference.py (Python re-statement of the reference scorers). Run from the repo root:
    python3 scripts/metrics/make_fixtures.py && npx prettier --write test/metrics/fixtures
Tests read the JSON only; they never run Python."""
import json
import math
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import reference as R  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'metrics', 'fixtures')


def enc(v):
    """JSON has no NaN/inf: encode them as strings."""
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return 'NaN' if math.isnan(v) else ('Infinity' if v > 0 else '-Infinity')
    return v


def dump(name, rows):
    with open(os.path.join(OUT, name + '.json'), 'w', encoding='utf-8') as f:
        json.dump(rows, f, ensure_ascii=False, indent=1)
    print(name, len(rows))


TEN = lambda *a: list(a) + ['zzz'] * (10 - len(a))  # noqa: E731

# ---------------------------------------------------------------------------------------------------------- anls
ANLS = [
    ('exact match', 'Yes', ['yes']),
    ('case-insensitive', 'PARIS', ['paris']),
    ('one edit in 5 chars: 1 - 1/5', 'hello', ['hallo']),
    ('two edits in 4 chars: 0.5 is kept (not < 0.5)', 'abcd', ['abxy']),
    ('three edits in 5 chars: 0.4 < 0.5 -> 0', 'abcde', ['axyze']),
    ('best of several GT answers', 'blue', ['red', 'blue', 'green']),
    ('raw-length divisor: surrounding spaces of the prediction enlarge the length', 'yes ', ['ye']),
    ('raw-length divisor: spaces vanish in the distance, count in the length', '  yes  ', ['yes']),
    ('inner whitespace runs normalized for the distance', 'new   york', ['new york']),
    ('tabs and newlines are whitespace for split()', 'new\tyork\n', ['new york']),
    ('empty prediction vs non-empty GT -> 0', '', ['abc']),
    ('both empty -> length 0 -> value 0.0 -> perfect 1', '', ['']),
    ('GT with trailing spaces: its raw length counts', 'ab', ['ab   ']),
    ('upper() lengthens ß to SS: divisor 4 for "ßab"', 'sab', ['ßab']),
    ('ligature ﬁ upper() is FI', 'fix', ['ﬁx']),
    ('code points, not UTF-16 units: emoji counts 1', '😀a', ['😀b']),
    ('unicode NBSP is Python whitespace (strip/split)', '\u00a0yes\u00a0', ['yes']),
    ('U+001F is Python whitespace', '\x1fyes', ['yes']),
    ('U+200B is not Python whitespace', '\u200byes', ['yes']),
    ('U+FEFF is not Python whitespace', '\ufeffyes', ['yes']),
    ('numbers as strings', '1,234', ['1234']),
    ('long answer partially right', 'the quick brown fox', ['the quick brown dog']),
    ('substitution vs insertion', 'abc', ['abcd']),
    ('GT list with an empty answer and a real one', 'x', ['', 'x']),
    ('prediction much longer than GT', 'the answer is 42 because of reasons', ['42']),
    ('Turkish dotted I lowercases to two code points', 'İstanbul', ['istanbul']),
    ('final sigma lowercasing', 'ΟΔΟΣ', ['οδος']),
    ('case differences only in inner letters', 'McDonald', ['mcdonald']),
    ('punctuation is not removed', 'yes.', ['yes']),
    ('0.5 boundary exactly: 1 edit over 2 chars', 'ab', ['ax']),
    ('just below boundary: 0.4999', 'abcdefg', ['abcxyzw']),
    ('multiple GT, first is best', 'cat', ['cat', 'cats']),
    ('CRLF in prediction', 'yes\r\n', ['yes']),
]
dump('anls', [{'reason': r, 'prediction': p, 'answers': a, 'expected': R.anls(p, a)} for r, p, a in ANLS])

# --------------------------------------------------------------------------------------------------- evalai norm
NORM = [
    ('lowercase', 'Hello'), ('comma removed by word_tokenize', '1,000'), ('question mark removed', 'what?'),
    ("'s split off", "John's"), ('newline and tab to space', 'a\nb\tc'), ('period at end removed', 'yes.'),
    ('decimal point kept', '3.14'), ('period before letter removed', 'a.b'), ('number words', 'two dogs'),
    ('none -> 0', 'none'), ('articles dropped', 'the a an cat'), ('article check after number map', 'an one'),
    ('contraction dont', 'dont'), ('contraction isnt', 'isnt'), ('capital key Im never matches', 'Im'),
    ('somebody\'d maps to somebodyd (reversed table entry)', "somebody'd"),
    ('punct with space around is deleted', 'a - b'), ('punct without space becomes space', 'a-b'),
    ('condition tested on input, not running text', 'x-y (z)'), ('slash', 'yes/no'),
    ('brackets', '[a]'), ('quote', '"hi"'), ('backslash', 'a\\b'), ('underscore', 'snake_case'),
    ('at sign', 'me@x'), ('exclamation', 'wow!'), ('many periods: only 32 removed (count=re.UNICODE)', '.' * 40 + 'a'),
    ('33 periods between words', 'a' + '.' * 33 + 'b'), ('period before arabic-indic digit kept (Unicode \\d)', '.\u0663'),
    ('multiple spaces collapse via split', 'a    b'), ('ten', 'ten'), ('unicode whitespace splits', 'a\u3000b'),
    ('empty', ''), ('only punctuation', '?!'), ('contraction after article drop', 'the thats'),
    ("'s then punctuation", "it's."), ('colon is not in the punctuation list', 'a:b'),
]
dump('evalai_normalize', [{'reason': r, 'input': s, 'expected': R.evalai(s)} for r, s in NORM])

VQA = [
    ('all ten agree', 'cat', ['cat'] * 10),
    ('one annotator: 3/10 of 1/3 each? leave-one-out', 'cat', TEN('cat')),
    ('two annotators', 'cat', TEN('cat', 'cat')),
    ('three annotators give 0.9, not 1', 'cat', TEN('cat', 'cat', 'cat')),
    ('four annotators give 1', 'cat', TEN('cat', 'cat', 'cat', 'cat')),
    ('no match', 'dog', TEN('cat', 'cat')),
    ('normalization: case and article', 'The Cat', TEN('cat', 'cat', 'cat')),
    ('number word', 'two', TEN('2', '2', '2', '2')),
    ('digits vs number word in GT', '2', TEN('two', 'two')),
    ('trailing period', 'yes.', TEN('yes', 'yes', 'yes')),
    ('comma in number', '1,000', TEN('1000', '1000')),
    ('contraction', 'dont', TEN("don't", "don't", "don't")),
    ('question mark', 'what?', TEN('what')),
    ('hyphen becomes space', 'coca-cola', TEN('coca cola', 'coca cola', 'coca cola')),
    ('hyphen with spaces deleted', 'a - b', TEN('a b', 'a b', 'a b')),
    ('raw prediction with extra words fails', 'the answer is cat', TEN('cat', 'cat', 'cat', 'cat')),
    ('GT normalized too', 'stop', TEN('STOP', 'Stop.', 'stop', 'stop!')),
    ('unicode whitespace', 'new\u00a0york', TEN('new york', 'new york', 'new york')),
    ('decimal kept', '3.5', TEN('3.5', '3.5', '3.5')),
    ('decimal vs integer', '3', TEN('3.0', '3.0', '3.0')),
    ("possessive 's", "john's", TEN("john 's", "john's")),
    ('empty prediction vs empty GT', '', TEN('', '', '', '')),
    ('mixed answers, pred matches the minority', 'red', ['red', 'red', 'blue', 'blue', 'blue', 'blue', 'blue', 'green', 'green', 'green']),
    ('five annotators', 'x', TEN('x', 'x', 'x', 'x', 'x')),
    ('nine annotators', 'x', ['x'] * 9 + ['y']),
    ('newline inside prediction', 'new\nyork', TEN('new york', 'new york')),
    ('tab inside prediction', 'new\tyork', TEN('new york')),
    ('brackets', '(cat)', TEN('cat', 'cat', 'cat')),
    ('slash', 'yes/no', TEN('yes no', 'yes no')),
    ('an article only', 'a', TEN('', '')),
    ('zero / none', 'none', TEN('0', '0', '0')),
    ('at sign in email', 'me@x.com', TEN('me x.com', 'me x.com', 'me x.com')),
]
dump('vqa_accuracy', [{'reason': r, 'prediction': p, 'answers': a, 'expected': R.vqa_accuracy(p, a)} for r, p, a in VQA])

# ------------------------------------------------------------------------------------------------ python float()
FLOATS = ['12', ' 12', '12 ', '\t12\n', '1e3', '1E3', '1e-3', '1_000', '1__000', '_1', '1_', '1_000.5', '1.5_0',
          '1e1_0', 'nan', 'NaN', '-nan', 'inf', '-inf', '+Inf', 'infinity', 'Infinity', '-INFINITY', 'infin',
          '1,000', '$5', '5%', '', ' ', '.', '.5', '5.', '-.5', '+5', '--5', '0x10', '1e', 'e3', '١٢', '١.٥',
          '１２', '\u00a012\u00a0', '\u200b12', '\ufeff12', '12\x1f', '1 2', '3.14.15', '1e400', '-0', '0.0',
          '1/2', '½', '²', 'one']


def py_float(s):
    try:
        return enc(float(s))
    except ValueError:
        return None


dump('py_float', [{'reason': 'Python float() of ' + repr(s), 'input': s, 'expected': py_float(s)} for s in FLOATS])

# ---------------------------------------------------------------------------------------------- relaxed accuracy
CHART = [
    ('exact number', '12', ['12']),
    ('within 5% of the MODEL number (swapped args): |100-105|/105 = 0.0476', '105', ['100']),
    ('swap matters: |100-95.5|/95.5 = 0.0471 ok relative to model', '95.5', ['100']),
    ('swap matters: 95.2 vs GT 100: 4.8/95.2 = 0.0504 > 0.05 -> wrong (would be right vs GT)', '95.2', ['100']),
    ('swap matters: 105.2 vs GT 100: 5.2/105.2 = 0.0494 -> right (would be wrong vs GT)', '105.2', ['100']),
    ('outside 5%', '110', ['100']),
    ('model answer 0 is falsy -> string compare, "0" == "0"', '0', ['0']),
    ('model 0 vs GT 0.0 -> string compare fails', '0', ['0.0']),
    ('model 0.0 vs GT 0 -> string compare fails', '0.0', ['0']),
    ('GT 0, model 0.01 -> numeric: |0-0.01|/0.01 = 1', '0.01', ['0']),
    ('percent on model side: 50% -> 0.5', '50%', ['0.5']),
    ('percent on GT side', '0.5', ['50%']),
    ('both percent', '50%', ['50%']),
    ('percent vs plain number 50 -> wrong', '50%', ['50']),
    ('double percent stripped by rstrip', '50%%', ['0.5']),
    ('lone % fails to parse -> string compare', '%', ['%']),
    ('scientific notation 1e3', '1e3', ['1000']),
    ('underscore digits 1_000', '1_000', ['1000']),
    ('comma thousands not parsed -> string compare fails', '1,000', ['1000']),
    ('comma thousands equal strings', '1,000', ['1,000']),
    ('dollar sign not parsed', '$5', ['5']),
    ('model answer stripped before parsing', '  12  ', ['12']),
    ('GT with leading space still parses (float strips)', '12', [' 12']),
    ('GT with trailing space: string compare not stripped', 'abc', ['abc ']),
    ('text answers compare case-insensitively', 'Yes', ['yes']),
    ('nan model answer is truthy: NaN comparison false', 'nan', ['nan']),
    ('inf vs inf: inf-inf is NaN -> false', 'inf', ['inf']),
    ('infinity model vs number', 'infinity', ['5']),
    ('unicode digits parse', '١٢', ['12']),
    ('fullwidth digits parse', '１２', ['12']),
    ('max over several GT answers', '7', ['3', '7']),
    ('negative numbers', '-10', ['-10.4']),
    ('negative outside', '-10', ['-11']),
    ('model number, GT text -> string compare', '12', ['twelve']),
    ('GT number, model text', 'twelve', ['12']),
    ('exactly 5%: |105-100|/100... model=100, GT=105 -> 0.05 <= 0.05', '100', ['105']),
    ('single GT string (wrapped into a list)', '3', '3'),
]
dump('relaxed_accuracy', [{'reason': r, 'prediction': p, 'answers': a if isinstance(a, list) else [a],
                           'expected': int(R.chartqa(p, a))} for r, p, a in CHART])

# -------------------------------------------------------------------------------------------------- exact match
EM = [
    ('same letter', 'A', ['A']), ('lowercase letter', 'a', ['A']), ('surrounding spaces', ' A \n', ['A']),
    ('letter with period is wrong', 'A.', ['A']), ('parenthesized letter is wrong', '(A)', ['A']),
    ('letter with text is wrong', 'A. cat', ['A']), ('different letter', 'B', ['A']),
    ('GT stripped too', 'A', [' A ']), ('GT list: any', 'b', ['A', 'B']), ('empty prediction', '', ['A']),
    ('empty both', '', ['']), ('NBSP is stripped (Python whitespace)', '\u00a0A', ['A']),
    ('ZWSP not stripped', '\u200bA', ['A']), ('full word', 'Cat', ['cat']), ('inner spaces kept', 'new  york', ['new york']),
    ('tab strip', '\tB\t', ['b']), ('unicode lower', 'ÉCOLE', ['école']), ('sharp s not folded', 'STRASSE', ['straße']),
    ('digits', '3', ['3']), ('number formatting differs', '3.0', ['3']), ('letter answer with option words', 'The answer is A', ['A']),
    ('vertical tab stripped', '\x0bA', ['a']), ('U+001E stripped', '\x1eA', ['A']), ('U+0085 stripped', '\x85A', ['A']),
    ('dotted capital I lowercases to i + dot', 'İ', ['i']), ('multiple GT wrong', 'C', ['A', 'B']), ('CRLF', 'A\r\n', ['A']),
    ('GT uppercase word', 'yes', ['YES']), ('prediction longer', 'AB', ['A']), ('emoji equal', '🙂', ['🙂']),
    ('ideographic space stripped', '\u3000A\u3000', ['A']),
]
dump('exact_match', [{'reason': r, 'prediction': p, 'answers': a, 'expected': R.exact_match(p, a)} for r, p, a in EM])

# ------------------------------------------------------------------------------------------------------ refcoco
W, H = 640, 480
GT = [64.0, 48.0, 320.0, 240.0]  # = [[100,100,500,500]] in 0-1000 space
RC = [
    ('exact box in 0-1000 space', '<ref>x</ref><box>[[100, 100, 500, 500]]</box>', GT, W, H),
    ('slightly off box still >= 0.5', '[[110, 110, 500, 500]]', GT, W, H),
    ('far box', '[[600, 600, 900, 900]]', GT, W, H),
    ('first match only: second box ignored', '[[600, 600, 900, 900]] [[100, 100, 500, 500]]', GT, W, H),
    ('no box -> zeros -> iou 0', 'I cannot find it', GT, W, H),
    ('nested list breaks float() -> zeros', '[[100, 100], [500, 500]]', GT, W, H),
    ('single brackets are enough', '[100, 100, 500, 500]', GT, W, H),
    ('spaces inside numbers ok for float()', '[[ 100 , 100 , 500 , 500 ]]', GT, W, H),
    ('0-1 floats with sum < 4 are taken as normalized', '[[0.1, 0.1, 0.5, 0.5]]', GT, W, H),
    ('0-1 floats with sum >= 4 impossible; tiny 0-1000 box (sum < 4) scaled as 0-1', '[[0.5, 0.5, 1.5, 1.5]]', [320, 240, 640, 480], W, H),
    ('sum exactly 4 divides by 1000', '[[1, 1, 1, 1]]', GT, W, H),
    ('x by width and y by height (non-square)', '[[100, 200, 500, 600]]', [64.0, 96.0, 320.0, 288.0], W, H),
    ('swapped w/h would fail', '[[100, 200, 500, 600]]', [48.0, 128.0, 240.0, 384.0], W, H),
    ('iou exactly 0.5 counts', '[[0, 0, 500, 1000]]', [0, 0, 1000, 480], 1000, 480),
    ('iou just below 0.5', '[[0, 0, 499, 1000]]', [0, 0, 1000, 480], 1000, 480),
    ('inverted predicted box: negative area, no clamp', '[[500, 500, 100, 100]]', GT, W, H),
    ('zero-area pred and zero-area GT -> 0/0 NaN -> wrong', '[[0, 0, 0, 0]]', [0, 0, 0, 0], W, H),
    ('nan coordinate -> sum NaN not >= 4 -> iou NaN', '[[nan, 100, 500, 500]]', GT, W, H),
    ('inf coordinate', '[[0, 0, inf, 500]]', GT, W, H),
    ('scientific notation parses', '[[1e2, 1e2, 5e2, 5e2]]', GT, W, H),
    ('underscore digits parse', '[[1_00, 100, 500, 500]]', GT, W, H),
    ('percent sign fails float()', '[[10%, 10%, 50%, 50%]]', GT, W, H),
    ('newline inside the match: . does not cross \\n -> no match', '[[100,\n100, 500, 500]]', GT, W, H),
    ('carriage return inside the match is fine for Python .', '[[100,\r100, 500, 500]]', GT, W, H),
    ('extra values: 5 numbers, 4th group takes "500, 9"', '[[100, 100, 500, 500, 9]]', GT, W, H),
    ('triple brackets', '[[[100, 100, 500, 500]]]', GT, W, H),
    ('float32 rounding of 1/3 coordinates', '[[333.333, 333.333, 666.667, 666.667]]', [213.33, 160.0, 426.67, 320.0], W, H),
    ('GT box touching prediction edge only', '[[500, 500, 900, 900]]', GT, W, H),
    ('prediction containing the GT (iou = area ratio)', '[[0, 0, 1000, 1000]]', GT, W, H),
    ('large image', '[[250, 250, 750, 750]]', [1000, 1000, 3000, 3000], 4000, 4000),
    ('odd size 333x777', '[[100, 100, 900, 900]]', [33.3, 77.7, 299.7, 699.3], 333, 777),
    ('negative numbers', '[[-100, -100, 500, 500]]', GT, W, H),
    ('unicode digits parse via float()', '[[١٠٠, 100, 500, 500]]', GT, W, H),
    ('an earlier "[" starts the first match, its groups fail float() -> zeros', 'see [note] [[100, 100, 500, 500]]', GT, W, H),
]
rows = []
for r, p, gt, w, h in RC:
    hit, iou = R.refcoco(p, gt, w, h)
    rows.append({'reason': r, 'prediction': p, 'bbox': gt, 'width': w, 'height': h, 'expected': int(hit), 'iou': enc(iou)})
dump('refcoco', rows)

# ------------------------------------------------------------------------------------------------------ mvbench
MV = [
    ('exact option with text', '(A) the cat', '(A) the cat.'), ('option only', '(A)', '(A) cat'),
    ('bare letter is a substring of (a)', 'A', '(A) cat'), ('wrong letter', '(B) dog', '(A) cat'),
    ('lowercase', '(a) cat', '(A) cat'), ("'Answer: ' removed", 'Answer: (A) cat', '(A) cat'),
    ('letter with period', 'A.', '(A) cat'), ('B. vs (A)', 'B.', '(A) cat'),
    ('empty prediction is always right (empty substring)', '', '(A) cat'),
    ('leading space: empty first token is always right', ' (B) dog', '(A) cat'),
    ('newline-joined: one token containing (a)', '(A)\nthe cat', '(A) cat'),
    ('prediction first token containing gt option', 'x(a)y', '(A) cat'),
    ('word starting with a letter: "apple" not in "(a)" and "(a)" not in "apple"', 'apple', '(A) cat'),
    ('single letter "a" of a word', 'a cat', '(A) cat'), ('letter c vs (c)', 'c', '(C) x'),
    ('"(" alone is substring', '(', '(A) cat'), ('")" alone is substring', ')', '(A) cat'),
    ('"(a" is substring', '(a', '(A) cat'), ('period stripped only from pred', '(a).', '(A) cat'),
    ('Answer: without space not removed', 'Answer:(A)', '(A) cat'), ('option E', '(E) five', '(E) five'),
    ('wrong with same text', '(B) cat', '(A) cat'), ('tab is not a separator', '(B)\t(A)', '(A) cat'),
    ('"Answer: " removed everywhere', 'Answer: Answer: (A)', '(A) cat'), ('full sentence', 'The answer is (A)', '(A) cat'),
    ('"b" vs (b)', 'b', '(B) x'), ('"d)" vs (d)', 'd)', '(D) x'), ('"(d))" contains (d)', '(d))', '(D) x'),
    ('"." becomes empty -> substring', '.', '(A) x'), ('"..a" becomes a', '..a', '(A) x'),
    ('uppercase with text', '(C) The answer', '(C) the answer'), ('non-option letter', 'z', '(A) x'),
]
dump('mvbench', [{'reason': r, 'prediction': p, 'answer': g, 'expected': int(R.check_ans(p, g))} for r, p, g in MV])

# ----------------------------------------------------------------------------------------------------- ocrbench
HME = 'Handwritten Mathematical Expression Recognition'
OC = [
    ('substring hit', 'The text says HELLO world', ['hello'], 'Regular Text Recognition'),
    ('case-insensitive outside HME', 'hello', ['HELLO'], 'Irregular Text Recognition'),
    ('miss', 'goodbye', ['hello'], 'Artistic Text Recognition'),
    ('any of several answers', 'b', ['a', 'b'], 'Scene Text-centric VQA'),
    ('answer stripped', 'xyz', ['  xyz  '], 'Doc-oriented VQA'),
    ('inner spaces kept outside HME', 'ab', ['a b'], 'Key Information Extraction'),
    ('newline in answer becomes space', 'a b', ['a\nb'], 'Doc-oriented VQA'),
    ('newline in prediction becomes space', 'a\nb', ['a b'], 'Doc-oriented VQA'),
    ('HME case-sensitive miss', 'X^2', ['x^2'], HME),
    ('HME spaces removed both sides', 'x ^ 2 + 1', ['x^2+1'], HME),
    ('HME answer spaces removed', 'x^2', ['x ^ 2'], HME),
    ('HME newline removed', 'x^\n2', ['x^2'], HME),
    ('HME tab is NOT removed', 'x^\t2', ['x^2'], HME),
    ('HME exact', '\\frac{1}{2}', ['\\frac{1}{2}'], HME),
    ('empty answer always hits', 'anything', [''], 'Regular Text Recognition'),
    ('whitespace-only answer strips to empty -> hit', 'zzz', ['   '], 'Regular Text Recognition'),
    ('digit string', 'the number is 12345', ['12345'], 'Digit String Recognition'),
    ('digit string partial miss', '1234', ['12345'], 'Digit String Recognition'),
    ('handwriting', 'Hello', ['hello'], 'Handwriting Recognition'),
    ('non-semantic', 'qwzx', ['QWZX'], 'Non-Semantic Text Recognition'),
    ('unicode lower', 'STRASSE', ['straße'], 'Regular Text Recognition'),
    ('prediction stripped (no effect on substring)', '  hello  ', ['hello'], 'Regular Text Recognition'),
    ('answer with trailing newline stripped before replace', 'ab', ['ab\n'], 'Regular Text Recognition'),
    ('KIE value', 'Total: $12.50', ['$12.50'], 'Key Information Extraction'),
    ('scene VQA miss', 'red', ['blue'], 'Scene Text-centric VQA'),
    ('HME with NBSP: strip removes outer NBSP only', '\u00a0x^2\u00a0', ['x^2'], HME),
    ('HME inner NBSP kept -> miss', 'x^\u00a02', ['x^2'], HME),
    ('CJK text', '你好世界', ['世界'], 'Regular Text Recognition'),
    ('apostrophes kept', "don't", ["don't"], 'Regular Text Recognition'),
    ('punctuation matters', 'hello', ['hello.'], 'Regular Text Recognition'),
    ('empty prediction miss', '', ['a'], 'Regular Text Recognition'),
    ('HME empty answer hit', 'x', [''], HME),
]
dump('ocrbench', [{'reason': r, 'prediction': p, 'answers': a, 'category': c, 'expected': int(R.ocrbench_hit(p, a, c))} for r, p, a, c in OC])

# ------------------------------------------------------------------------------------------------- mme (IVL)
MME = [
    ('yes', 'Yes', 'Yes'), ('no', 'No', 'No'), ('wrong', 'No', 'Yes'), ('lowercase gt', 'yes', 'yes'),
    ('yes with period', 'Yes.', 'Yes'), ('yes, because ...', 'Yes, there is a train.', 'Yes'),
    ('not sure -> no (prefix "not ")', 'Not sure', 'No'), ('none -> no', 'None', 'No'),
    ('nobody -> no', 'Nobody', 'No'), ('I think yes -> other', 'I think yes', 'Yes'),
    ('y es -> other', 'y es', 'Yes'), ('empty -> other', '', 'No'), ('space then yes: " yes" prefix has yes', ' yes', 'Yes'),
    ('two spaces then yes: "  ye" -> other', '  yes', 'Yes'), ('newline removed: "\\nyes" -> yes', '\nyes', 'Yes'),
    ('True -> yes', 'True', 'Yes'), ('false -> no', 'False', 'No'), ('untrue -> unyes -> "unye" other', 'untrue', 'No'),
    ('是 -> Yes', '是', 'Yes'), ('不是 -> No', '不是', 'No'), ('否 -> No', '否', 'No'), ('是的 -> Yes (的 deleted)', '是的', 'Yes'),
    ('Chinese deleted leaving nothing -> other', '可以', 'Yes'), ('Yes and no both in prefix: yes first', 'yesno', 'No'),
    ('"no," -> no', 'no, it is not', 'No'), ('"know" contains no in prefix', 'know', 'No'), ('"nope"', 'nope', 'No'),
    ('"eyes" contains yes', 'eyes', 'Yes'), ('"yes" at index 2', 'a yes', 'Yes'), ('"yes" at index 3 fails', 'ab yes', 'Yes'),
    ('YES uppercase', 'YES', 'Yes'), ('no gt lower', 'no', 'no'), ('tab in answer -> question skipped by calculation.py', 'yes\tno', 'Yes'),
]
rows = []
for r, p, g in MME:
    proc = R.mme_post_processing(p)
    skipped = '\t' in proc
    ext = 'skipped' if skipped else R.parse_pred_ans((proc + '\n').lower())
    rows.append({'reason': r, 'prediction': p, 'answer': g, 'extracted': ext, 'expected': int(not skipped and ext == g.lower())})
dump('mme', rows)

# MME aggregate through real results files (pairs; one tab-skipped question; other answers)
agg_rows = []
import itertools  # noqa: E402
preds_cycle = itertools.cycle(['Yes', 'No', 'yes.', 'Not sure', 'I think so', 'true', 'no', 'Yes\tNo', 'None', '是'])
for sub in ['existence', 'count', 'OCR', 'commonsense_reasoning', 'code_reasoning']:
    for k in range(6):
        for gt in ['Yes', 'No']:
            agg_rows.append((sub, f'{sub}_{k}.jpg', f'q{k}{gt}? Please answer yes or no.', gt, next(preds_cycle)))
with tempfile.TemporaryDirectory() as d:
    expected = R.mme_ivl_scores(agg_rows, d)
dump('mme_aggregate', {'rows': [{'id': str(i), 'category': s, 'image': im, 'answer': g, 'prediction': p}
                                for i, (s, im, q, g, p) in enumerate(agg_rows)], 'expected': expected})

# --------------------------------------------------------------------------------------------- yorn (VEK)
YN = [
    ('yes', 'Yes'), ('no', 'No'), ('yes with period', 'Yes.'), ('yes comma', 'Yes, it is.'), ('both -> Unknown', 'Yes and no'),
    ('neither', 'Maybe'), ('nope is not no', 'Nope'), ('not is not no', 'Not really'), ('yes/no: slash becomes space -> both', 'yes/no'),
    ('digit comma digit: punctuation deleted -> yesno', 'yes/no 1,000'), ("yes' with apostrophe not a word", "yes'"),
    ('(yes)', '(Yes)'), ('YES!', 'YES!'), ('no.', 'No.'), ('sentence with no', 'There is no dog.'), ('eyes', 'eyes'),
    ('yes-man: hyphen -> space', 'yes-man'), ('yes_no underscore', 'yes_no'), ('empty', ''), ('newline', 'Yes\n'),
    ('"yes." inside', 'I say yes. Sure.'), ('quotes', '"No"'), ('colon kept: "yes:" not a word', 'yes:'),
    ('semicolon', 'yes;'), ('unicode space', 'yes\u3000sir'), ('answer: yes', 'Answer: yes'), ('no, no, no', 'no, no, no'),
    ('number then yes', '3 yes'), ('Yes? question mark', 'Yes?'), ('period between', 'yes.no'), ('decimal kept', 'no 1.5'),
    ('comma digits with yes', '1,2 yes'),
]
dump('yorn', [{'reason': r, 'prediction': p, 'expected': R.yorn(p)} for r, p in YN])

rows = []
preds_cycle = itertools.cycle(['Yes', 'No', 'Yes, sure', 'maybe', 'no.', 'Yes and no', 'YES', 'nope'])
for sub in ['existence', 'color', 'OCR', 'numerical_calculation', 'text_translation']:
    for k in range(5):
        for gt in ['Yes', 'No']:
            rows.append({'id': f'{sub}{k}{gt}', 'category': sub, 'image': f'{sub}/{k}.jpg', 'answer': gt, 'prediction': next(preds_cycle)})
scored = [(r['category'], r['image'], int(R.yorn(r['prediction']) == r['answer'])) for r in rows]
dump('mme_vlmevalkit_aggregate', {'rows': rows, 'expected': R.mme_vek_rating(scored)})

# ------------------------------------------------------------------------------------------------- hallusion
rows = []
preds_cycle = itertools.cycle(['Yes', 'No', 'yes.', 'No, it is not', 'Unclear', 'Yes', 'no', 'Yes', 'maybe yes', 'No'])
n = 0
for l2 in ['VS', 'VD']:
    for set_id in range(3):
        for fig in range(2):
            for q in range(2):
                gt = 'Yes' if (set_id + fig + q) % 2 == 0 else 'No'
                rows.append({'id': f'{l2}_chart_{set_id}_{fig}_{q}', 'index': f'chart_{l2}_x_{set_id}_{fig}_{q}',
                             'l2-category': l2, 'category': l2, 'answer': gt, 'prediction': next(preds_cycle)})
                n += 1
scored = [(r['index'], r['l2-category'], int(R.yorn(r['prediction']) == r['answer'])) for r in rows]
dump('hallusionbench_aggregate', {'rows': rows, 'expected': R.hallusion_rating(scored)})

# ---------------------------------------------------------------------------------------------------- mcq (VEK)
C4 = {'A': 'cat', 'B': 'dog', 'C': 'bird', 'D': 'fish'}
MCQ = [
    ('bare letter', 'A', C4), ('letter with period', 'B.', C4), ('parenthesized', '(C)', C4), ('option text', 'a dog', C4),
    ('"A" as an article counts as option A', 'A dog is shown', C4), ('two letters -> text fallback', 'A or B', C4),
    ('lowercase letter never counts; text "cat"', 'a', C4), ('letter and colon', 'Answer: D', C4),
    ('letter in brackets', '[B]', C4), ('letter with asterisks', '**C**', C4), ('hyphenated A-B is one token', 'A-B', C4),
    ('Z token', 'Z', C4), ('reject string -> Z', 'Cannot determine the answer', C4),
    ('API failure -> option False -> text', 'Failed to obtain answer via API', C4), ('no letter, two texts', 'cat and dog', C4),
    ('substring texts: "cats" contains cat', 'cats', C4), ('fish text', 'It is a fish', C4),
    ('letter not among choices (E) -> text', 'E', C4), ('E among 5 choices', 'E', {**C4, 'E': 'cow'}),
    ('sentence with letter A and B as words', 'I think B is right, not A', C4), ('slash is not a separator', 'A/B', C4),
    ('hash separator', '#D#', C4), ('exclamation', 'C!', C4), ('semicolon', 'B;', C4), ('curly braces', '{A}', C4),
    ('newline separated', 'The answer is\nC', C4), ('empty prediction', '', C4), ('empty option text matches all', 'xyz', {'A': '', 'B': 'dog'}),
    ('case-insensitive text', 'BIRD', C4), ('letter plus Z', 'A Z', C4), ('only text of multi-word option', 'the red car', {'A': 'red car', 'B': 'blue car'}),
    ('option text contained in other option', 'red car', {'A': 'car', 'B': 'red car'}), ('letters with quote', "'A'", C4),
    ('I am sorry reject string partial (no match)', "I'm sorry, but", C4),
]
rows = []
for r, p, ch in MCQ:
    rows.append({'reason': r, 'prediction': p, 'choices': ch, 'can_infer': R.can_infer(p, dict(ch)), 'extracted': R.extract_exact(p, ch)})
dump('mcq', rows)

circ = []
def add(idx, gt, pred, ch):
    circ.append({'id': str(idx), 'index': idx, 'answer': gt, 'prediction': pred, 'choices': ch, 'category': 'c%d' % (idx % 3)})
CH = {'A': 'cat', 'B': 'dog', 'C': 'bird', 'D': 'fish'}
ROT = [{'A': 'dog', 'B': 'bird', 'C': 'fish', 'D': 'cat'}, {'A': 'bird', 'B': 'fish', 'C': 'cat', 'D': 'dog'}, {'A': 'fish', 'B': 'cat', 'C': 'dog', 'D': 'bird'}]
# q1: all rotations right; q2: one rotation wrong; q3: one rotation unparseable (Z); q4: no rotations, right;
# q5: all right via option text; q6: first rotation wrong (early exit).
add(1, 'A', 'A', CH); add(1000001, 'D', 'D', ROT[0]); add(2000001, 'C', '(C)', ROT[1]); add(3000001, 'B', 'B.', ROT[2])
add(2, 'B', 'B', CH); add(1000002, 'A', 'A', ROT[0]); add(2000002, 'D', 'C', ROT[1]); add(3000002, 'C', 'C', ROT[2])
add(3, 'C', 'C', CH); add(1000003, 'B', 'I am not sure', ROT[0]); add(2000003, 'A', 'A', ROT[1]); add(3000003, 'D', 'D', ROT[2])
add(4, 'D', 'D', CH)
add(5, 'A', 'cat', CH); add(1000005, 'D', 'a cat', ROT[0]); add(2000005, 'C', 'cat!', ROT[1]); add(3000005, 'B', 'the cat', ROT[2])
add(6, 'A', 'B', CH); add(1000006, 'D', 'D', ROT[0])
add(7, 'B', 'A dog', CH)
hits = R.circular_hits([(r['index'], r['answer'], r['prediction'], r['choices']) for r in circ])
dump('mcq_circular', {'rows': circ, 'expected': {str(k): v for k, v in hits.items()}})

# ------------------------------------------------------------------------------------------------------- seed
SEED = [
    ('single letter', 'A', 'A'), ('wrong letter', 'B', 'A'), ('letter with period', 'B.', 'B'), ('word starting with B', 'Because', 'B'),
    ('leading space: first char is space', ' B', 'B'), ('lowercase', 'b', 'B'), ('parenthesized', '(C)', 'C'),
    ('long answer with letter later', 'The answer is D', 'D'), ('T from "The"', 'The answer', 'T'), ('newline first', '\nA', 'A'),
    ('single non-letter', '?', 'A'), ('emoji first (code point)', '😀A', 'A'), ('two letters', 'AB', 'A'), ('D)', 'D)', 'D'),
    ('C.', 'C.', 'C'), ('A with explanation', 'A. cat', 'A'), ('B with explanation', 'B: dog', 'B'), ('lowercase c.', 'c.', 'C'),
    ('space only', ' ', 'A'), ('tab then letter', '\tA', 'A'), ('digit', '1', 'A'), ('E', 'E', 'E'), ('option D word', 'Dog', 'D'),
    ('quote', '"A"', 'A'), ('bracket', '[B]', 'B'), ('ideographic', 'Ａ', 'A'), ('answer: A', 'Answer: A', 'A'), ('A\n', 'A\n', 'A'),
    ('B then space', 'B ', 'B'), ('C C', 'C C', 'C'), ('wrong D', 'D', 'C'),
]
dump('seed', [{'reason': r, 'prediction': p, 'answer': g, 'extracted': R.seed_correct(p, g)[1], 'expected': int(R.seed_correct(p, g)[0])} for r, p, g in SEED])

# --------------------------------------------------------------------------------------------------- videomme
VM = [
    ('bare letter', 'A'), ('with period', 'B.'), ('The answer is C', 'The answer is C'), ('The best answer is D', 'The best answer is D.'),
    ('capital in word first: Definitely B -> D', 'Definitely B'), ('lowercase only -> no match', 'b'),
    ('no letter -> empty', 'none of these'), ('long text no letter -> empty', 'this is a long answer with many words but no option letter at all'),
    ('long text with letter', 'this is a long answer with many words and then option C at the end'),
    ('"The best option is" alone NOT removed (missing comma): B from "best"? no: "The" -> no ABCD? "best" lowercase', 'The best option is A'),
    ('"Best answer:" alone not removed: B of Best', 'Best answer: C'), ('Answer: removed', 'Answer: D'), ('Option: removed', 'Option: C'),
    ('concatenated prefix removed', 'The best option isThe correct option is B'), ('Best answer:Best option: removed', 'Best answer:Best option: A'),
    ('The answer removed then letter', 'The answer: (C)'), ('case-sensitive prefix: the answer is B -> B', 'the answer is B'),
    ('empty', ''), ('whitespace', '   '), ('(A)', '(A)'), ('E is not ABCD', 'E'), ('option text with capital C in word', 'Cat'),
    ('A/B', 'A/B'), ('newline then letter', '\nD'), ('Chinese then letter', '答案是C'), ('I think B', 'I think B'),
    ('The correct answer is A', 'The correct answer is A'), ('exactly ten words no letter', 'one two three four five six seven eight nine ten'),
    ('eleven words no letter', 'one two three four five six seven eight nine ten eleven'), ('Both A and B', 'Both A and B'),
    ('Dog', 'Dog'), ('The answer is The answer', 'The answer is The answer B'),
]
dump('videomme', [{'reason': r, 'prediction': p, 'expected': R.extract_characters_regex(p)} for r, p in VM])

# ---------------------------------------------------------------------------------------------- mmbench_internvl
MB = [
    ('single letter', 'A', C4), ('single non-option char returned as is', 'Z', C4), ('letter with period', 'B.', C4),
    ('word starting with an option letter', 'Apple', C4), ('text match', 'the dog', C4), ('no match returns stripped pred', 'xyz', C4),
    ('stripped first', '  C  ', C4), ('lowercase letter single', 'a', C4), ('lowercase word: text match', 'cat', C4),
    ('first text in option order wins', 'cat and dog', C4), ('(A) starts with ( -> text?', '(A) cat', C4),
    ('empty prediction', '', C4), ('option D word', 'Dog', C4), ('E not an option', 'Eel', C4), ('case-sensitive text', 'CAT', C4),
    ('empty option text matches anything', 'zzz', {'A': 'x', 'B': ''}), ('CJK', '猫', {'A': '狗', 'B': '猫'}),
    ('single digit', '1', C4), ('letter newline', 'A\n', C4), ('Bird', 'Bird', C4), ('answer is C', 'answer is C', C4),
    ('fish text', 'a fish', C4), ('2 chars not option', 'zz', C4), ('option key first char', 'D)', C4),
    ('trailing text', 'C is correct', C4), ('three options only', 'D', {'A': 'x', 'B': 'y', 'C': 'z'}),
    ('three options, D word', 'Dz', {'A': 'x', 'B': 'y', 'C': 'z'}), ('number options', '42', {'A': '41', 'B': '42'}),
    ('partial number', '142', {'A': '41', 'B': '42'}), ('space only', '   ', C4), ('tab letter', '\tB', C4),
]


def mb(p, ch):
    try:
        return R.mmbench_post_process(p, ch), False
    except IndexError:  # `pred[0]` on an empty stripped prediction: the reference crashes; we return ''
        return '', True


dump('mmbench_internvl', [{'reason': r, 'prediction': p, 'choices': ch, 'expected': mb(p, ch)[0],
                           'referenceCrashes': mb(p, ch)[1]} for r, p, ch in MB])
