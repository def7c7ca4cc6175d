/**
 * VLMEvalKit's Yes/No extraction: VLMEvalKit @5e4df734 `vlmeval/dataset/utils/yorn.py`, `YOrN_Extraction`, with
 * `vlmeval/smp/misc.py` `process_punctuation`. Exact-matching mode (no judge): `Unknown` stays `Unknown` (wrong).
 */
import { processPunctuation, VEK_COMMA_STRIP } from './evalai-normalize.ts';
import { pyLower, pySplit } from '../common/python-strings.ts';

export type YesNo = 'Yes' | 'No' | 'Unknown';

/**
 * `s = output.lower(); words = process_punctuation(s).split()`; Yes iff `'yes'` is a word and `'no'` is not; No
 * iff the reverse; else Unknown. Quirks: whole words only (`'yes.'` works because periods are stripped,
 * `'yes,'` because `,` is punctuation, but `"yes'"`/`'nope'`/`'not'` do not count); a digit-comma-digit anywhere
 * (`'1,000'`) makes all punctuation vanish instead of becoming spaces (`'yes/no'` → `'yesno'`).
 */
export function yornExtraction(output: string): YesNo {
  const words = pySplit(processPunctuation(pyLower(output), VEK_COMMA_STRIP));
  const yes = words.includes('yes');
  const no = words.includes('no');
  if (yes && !no) return 'Yes';
  if (!yes && no) return 'No';
  return 'Unknown';
}
