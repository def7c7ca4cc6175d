/**
 * The EvalAI / MMF answer normalizer used by TextVQA scoring: InternVL `internvl_chat/eval/vqa/textvqa_eval.py`,
 * class `EvalAIAnswerProcessor` (copied from LLaVA `m4c_evaluator.py` ← MMF `pythia/tasks/processors.py`).
 * The same punctuation routine, with a different comma regex, is VLMEvalKit `vlmeval/smp/misc.py`
 * `process_punctuation` (used by the Yes/No extraction); both live here.
 */
import { pyLower, pySplit, pyStrip } from '../common/python-strings.ts';

/** `PUNCTUATIONS`, in the reference's order (the order matters: conditions test the input, edits accumulate). */
export const PUNCTUATIONS: readonly string[] = [
  ';',
  '/',
  '[',
  ']',
  '"',
  '{',
  '}',
  '(',
  ')',
  '=',
  '+',
  '\\',
  '_',
  '-',
  '>',
  '<',
  '@',
  '`',
  ',',
  '?',
  '!',
];

/** EvalAI `COMMA_STRIP = re.compile(r'(?<=\d)(\,)+(?=\d)')`; Python's `\d` on str is Unicode Nd. */
export const EVALAI_COMMA_STRIP = /(?<=\p{Nd}),+(?=\p{Nd})/u;
/** VLMEvalKit `commaStrip = re.compile('(\d)(,)(\d)')`. */
export const VEK_COMMA_STRIP = /\p{Nd},\p{Nd}/u;

/** At most this many periods are removed: `PERIOD_STRIP.sub('', out, re.UNICODE)` passes re.UNICODE (=32) as count. */
export const PERIOD_STRIP_COUNT = 32;

/**
 * `process_punctuation`. Quirks reproduced:
 *  - each punctuation mark is deleted if `p + ' '` or `' ' + p` occurs in the ORIGINAL input, or if the comma
 *    regex matches anywhere in it (then every mark is deleted); otherwise it becomes a space;
 *  - `PERIOD_STRIP = re.compile(r'(?!<=\d)(\.)(?!\d)')`: the intended look-behind is written as a negative
 *    look-ahead for the text `<=\d`, which never matches at a `.`, so every `.` not followed by a (Unicode) digit
 *    is removed — `'3.14'` keeps its dot, `'1.'` and `'.5.'` lose theirs;
 *  - `.sub('', out, re.UNICODE)` passes 32 as the `count` argument, so only the first 32 such periods go.
 */
export function processPunctuation(inText: string, commaStrip: RegExp = EVALAI_COMMA_STRIP): string {
  let out = inText;
  const commaHit = commaStrip.test(inText);
  for (const p of PUNCTUATIONS) {
    if (inText.includes(p + ' ') || inText.includes(' ' + p) || commaHit) out = out.replaceAll(p, '');
    else out = out.replaceAll(p, ' ');
  }
  let removed = 0;
  return out.replace(/\.(?!\p{Nd})/gu, (m) => (removed++ < PERIOD_STRIP_COUNT ? '' : m));
}

const NUMBER_MAP: Readonly<Record<string, string>> = {
  none: '0',
  zero: '0',
  one: '1',
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
  ten: '10',
};

const ARTICLES = new Set(['a', 'an', 'the']);

/**
 * `CONTRACTIONS`, verbatim (data table). Quirks kept: keys with capitals (`Im`, `Ive`, `Id've`, `I'dve`) can never
 * match because the text is lowercased first; `"somebody'd"` maps to `'somebodyd'` (reversed in the source).
 */
const CONTRACTIONS: Readonly<Record<string, string>> = {
  aint: "ain't",
  arent: "aren't",
  cant: "can't",
  couldve: "could've",
  couldnt: "couldn't",
  "couldn'tve": "couldn't've",
  "couldnt've": "couldn't've",
  didnt: "didn't",
  doesnt: "doesn't",
  dont: "don't",
  hadnt: "hadn't",
  "hadnt've": "hadn't've",
  "hadn'tve": "hadn't've",
  hasnt: "hasn't",
  havent: "haven't",
  hed: "he'd",
  "hed've": "he'd've",
  "he'dve": "he'd've",
  hes: "he's",
  howd: "how'd",
  howll: "how'll",
  hows: "how's",
  "Id've": "I'd've",
  "I'dve": "I'd've",
  Im: "I'm",
  Ive: "I've",
  isnt: "isn't",
  itd: "it'd",
  "itd've": "it'd've",
  "it'dve": "it'd've",
  itll: "it'll",
  "let's": "let's",
  maam: "ma'am",
  mightnt: "mightn't",
  "mightnt've": "mightn't've",
  "mightn'tve": "mightn't've",
  mightve: "might've",
  mustnt: "mustn't",
  mustve: "must've",
  neednt: "needn't",
  notve: "not've",
  oclock: "o'clock",
  oughtnt: "oughtn't",
  "ow's'at": "'ow's'at",
  "'ows'at": "'ow's'at",
  "'ow'sat": "'ow's'at",
  shant: "shan't",
  "shed've": "she'd've",
  "she'dve": "she'd've",
  "she's": "she's",
  shouldve: "should've",
  shouldnt: "shouldn't",
  "shouldnt've": "shouldn't've",
  "shouldn'tve": "shouldn't've",
  "somebody'd": 'somebodyd',
  "somebodyd've": "somebody'd've",
  "somebody'dve": "somebody'd've",
  somebodyll: "somebody'll",
  somebodys: "somebody's",
  someoned: "someone'd",
  "someoned've": "someone'd've",
  "someone'dve": "someone'd've",
  someonell: "someone'll",
  someones: "someone's",
  somethingd: "something'd",
  "somethingd've": "something'd've",
  "something'dve": "something'd've",
  somethingll: "something'll",
  thats: "that's",
  thered: "there'd",
  "thered've": "there'd've",
  "there'dve": "there'd've",
  therere: "there're",
  theres: "there's",
  theyd: "they'd",
  "theyd've": "they'd've",
  "they'dve": "they'd've",
  theyll: "they'll",
  theyre: "they're",
  theyve: "they've",
  twas: "'twas",
  wasnt: "wasn't",
  "wed've": "we'd've",
  "we'dve": "we'd've",
  weve: "we've",
  werent: "weren't",
  whatll: "what'll",
  whatre: "what're",
  whats: "what's",
  whatve: "what've",
  whens: "when's",
  whered: "where'd",
  wheres: "where's",
  whereve: "where've",
  whod: "who'd",
  "whod've": "who'd've",
  "who'dve": "who'd've",
  wholl: "who'll",
  whos: "who's",
  whove: "who've",
  whyll: "why'll",
  whyre: "why're",
  whys: "why's",
  wont: "won't",
  wouldve: "would've",
  wouldnt: "wouldn't",
  "wouldnt've": "wouldn't've",
  "wouldn'tve": "wouldn't've",
  yall: "y'all",
  "yall'll": "y'all'll",
  "y'allll": "y'all'll",
  "yall'd've": "y'all'd've",
  "y'alld've": "y'all'd've",
  "y'all'dve": "y'all'd've",
  youd: "you'd",
  "youd've": "you'd've",
  "you'dve": "you'd've",
  youll: "you'll",
  youre: "you're",
  youve: "you've",
};

function own(table: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

/** `process_digit_article`: number words → digits, drop articles, then contractions (after the article drop). */
export function processDigitArticle(inText: string): string {
  const words: string[] = [];
  for (const raw of pySplit(pyLower(inText))) {
    const word = own(NUMBER_MAP, raw) ?? raw;
    if (!ARTICLES.has(word)) words.push(word);
  }
  return words.map((w) => own(CONTRACTIONS, w) ?? w).join(' ');
}

/**
 * `EvalAIAnswerProcessor.__call__`: `word_tokenize` (lower; drop `,` and `?`; `'s` → ` 's`; strip), newline/tab →
 * space + strip, `process_punctuation`, `process_digit_article`.
 * Quirk: `word_tokenize` already removes every comma, so the COMMA_STRIP branch of `process_punctuation` can never
 * fire here (`'1,000'` becomes `'1000'` before it runs).
 */
export function evalAiNormalize(answer: string): string {
  let item = pyStrip(pyLower(answer).replaceAll(',', '').replaceAll('?', '').replaceAll("'s", " 's"));
  item = pyStrip(item.replaceAll('\n', ' ').replaceAll('\t', ' '));
  item = processPunctuation(item, EVALAI_COMMA_STRIP);
  return processDigitArticle(item);
}
