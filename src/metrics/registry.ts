/**
 * Every scorer by name. `requires` entries are input field names; `'a|b'` means "a or b" (e.g. `answers|answer`).
 */
import type { Scorer } from './scorer.ts';
import { anlsScorer } from './anls.ts';
import { vqaAccuracyScorer } from './vqa-accuracy.ts';
import { relaxedAccuracyScorer } from './relaxed-accuracy.ts';
import { exactMatchScorer } from './exact-match.ts';
import { refcocoScorer } from './refcoco.ts';
import { mvbenchScorer } from './mvbench.ts';
import { ocrbenchScorer } from './ocrbench.ts';
import { mmeScorer } from './mme.ts';
import { mmeVlmevalkitScorer } from './mme-vlmevalkit.ts';
import { mcqScorer } from './mcq.ts';
import { seedScorer } from './seed.ts';
import { hallusionbenchScorer } from './hallusionbench.ts';
import { videommeScorer } from './videomme.ts';
import { mmbenchInternvlScorer } from './mmbench-internvl.ts';

const SCORERS: readonly Scorer<any>[] = [
  anlsScorer,
  vqaAccuracyScorer,
  relaxedAccuracyScorer,
  exactMatchScorer,
  refcocoScorer,
  mvbenchScorer,
  ocrbenchScorer,
  mmeScorer,
  mmeVlmevalkitScorer,
  mcqScorer,
  seedScorer,
  hallusionbenchScorer,
  videommeScorer,
  mmbenchInternvlScorer,
];

export const scorerNames: readonly string[] = SCORERS.map((s) => s.name);

export function getScorer(name: string): Scorer<any> {
  const scorer = SCORERS.find((s) => s.name === name);
  if (!scorer) throw new Error(`unknown metric "${name}"; valid metrics: ${scorerNames.join(', ')}`);
  return scorer;
}

/** The first required field the input lacks (`'a|b'`: neither present), or null. */
export function missingField(scorer: Scorer<any>, input: Readonly<Record<string, unknown>>): string | null {
  for (const req of scorer.requires) {
    const alternatives = req.split('|');
    if (!alternatives.some((f) => input[f] !== undefined && input[f] !== null)) return alternatives[0];
  }
  return null;
}
