/**
 * Python `str` whitespace semantics now live in src/common/python-strings.ts (one copy for metrics and model).
 * This re-export keeps src/model/engine/reply-text.ts compiling until its import is moved.
 */
export { pyLstrip, pyRstrip, pyStrip } from '../../common/python-strings.ts';
