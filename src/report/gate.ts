/**
 * The regression gate's verdicts (pure): a paired non-inferiority decision per task, which manifest settings may
 * differ between the two runs, and the command's exit status. Loading runs is gate-runs.ts; the card check is
 * card-check.ts; JUnit / Markdown / JSON writers are gate-report.ts.
 *
 * Non-inferiority (the usual clinical-trial form): with Δ = candidate − baseline and [lo, hi] its (1 − 2α)
 * paired bootstrap interval, the candidate passes when lo ≥ −maxDrop, i.e. a drop larger than maxDrop is ruled out
 * at one-sided level α. Not passing is only called a regression when the data could have shown a pass; when the
 * interval is too wide for that (fewer than minSamples samples, or a half-width above maxDrop) the verdict is
 * "inconclusive", which fails the gate too: a gate never passes for lack of data.
 */

export type PairedVerdict = 'pass' | 'regressed' | 'inconclusive';
export type CardVerdict = 'reproduced' | 'not reproduced' | 'inconclusive' | 'no card value';
/** How a verdict counts: pass, fail, inconclusive (fails the gate, said apart), skipped (nothing to check). */
export type Outcome = 'pass' | 'fail' | 'inconclusive' | 'skipped';

/** Input unusable for a verdict (exit status 2): runs of different samples, a missing task, mismatched settings. */
export class GateInputError extends Error {
  readonly exitCode = 2;
}

export const DEFAULT_MIN_SAMPLES = 30;
export const DEFAULT_ALPHA = 0.05;

export interface PairedRule {
  maxDrop: number;
  minSamples: number;
}

export interface PairedEvidence {
  /** Paired samples scored in both runs. */
  n: number;
  delta: number;
  ci: [number, number];
  /** Samples the baseline scored that failed (error) in the candidate. */
  newErrors: number;
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : String(x));

/** The paired verdict for one task, with a one-line reason that names the numbers it rests on. */
export function pairedVerdict(
  e: PairedEvidence,
  rule: PairedRule,
): { verdict: PairedVerdict; reason: string } {
  const [lo, hi] = e.ci;
  if (e.newErrors > 0)
    return {
      verdict: 'regressed',
      reason: `${e.newErrors} sample(s) failed in the candidate that the baseline scored`,
    };
  if (e.n < rule.minSamples)
    return {
      verdict: 'inconclusive',
      reason: `only ${e.n} paired samples (fewer than min-samples ${rule.minSamples})`,
    };
  if (!Number.isFinite(lo) || !Number.isFinite(hi))
    return { verdict: 'inconclusive', reason: 'no interval could be computed (no scored draws)' };
  if (lo >= -rule.maxDrop)
    return { verdict: 'pass', reason: `lower bound ${f2(lo)} >= -${f2(rule.maxDrop)}` };
  if (hi < -rule.maxDrop)
    return {
      verdict: 'regressed',
      reason: `the whole interval [${f2(lo)}, ${f2(hi)}] is below -${f2(rule.maxDrop)}`,
    };
  const half = (hi - lo) / 2;
  if (half > rule.maxDrop)
    return {
      verdict: 'inconclusive',
      reason: `interval half-width ${f2(half)} exceeds max-drop ${f2(rule.maxDrop)}: too few samples to tell; run more or allow a larger drop`,
    };
  return {
    verdict: 'regressed',
    reason: `lower bound ${f2(lo)} < -${f2(rule.maxDrop)}`,
  };
}

export const PAIRED_OUTCOME: Record<PairedVerdict, Outcome> = {
  pass: 'pass',
  regressed: 'fail',
  inconclusive: 'inconclusive',
};

export const CARD_OUTCOME: Record<CardVerdict, Outcome> = {
  reproduced: 'pass',
  'not reproduced': 'fail',
  inconclusive: 'inconclusive',
  'no card value': 'skipped',
};

/** Settings the gate compares by default: the model and its numeric variant. */
export const DEFAULT_VARY: readonly string[] = ['variant', 'model'];

/** `max-tiles` → `maxTiles`: --vary accepts the flag spelling of a config key. */
export function configKeyOf(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export interface SettingDiff {
  key: string;
  a: unknown;
  b: unknown;
}

/**
 * Splits the manifests' config differences into those the comparison is about (`vary`: a key, and the same key
 * inside any task, e.g. `maxTiles` also covers `tasks.docvqa_val.maxTiles`) and those that make the runs
 * incomparable. Differences that cannot change a gated task's score are dropped: tasks not gated, and each task's
 * `report` block (the card value, the combined row).
 */
export function splitSettingsDiff(
  diff: readonly SettingDiff[],
  vary: readonly string[],
  gatedTasks: readonly string[],
): { varied: SettingDiff[]; blocking: SettingDiff[] } {
  const keys = vary.map(configKeyOf);
  const under = (key: string, v: string) => key === v || key.startsWith(`${v}.`);
  const varied: SettingDiff[] = [];
  const blocking: SettingDiff[] = [];
  for (const d of diff) {
    const task = /^tasks\.([^.]+)(?:\.(.*))?$/.exec(d.key);
    if (task) {
      if (!gatedTasks.includes(task[1])) continue;
      const rest = task[2] ?? '';
      if (under(rest, 'report')) continue;
      if (keys.some((v) => under(rest, v) || under(d.key, v))) varied.push(d);
      else blocking.push(d);
      continue;
    }
    if (keys.some((v) => under(d.key, v))) varied.push(d);
    else blocking.push(d);
  }
  return { varied, blocking };
}

/** The refusal for settings that differ although not compared, naming each and how to allow it. */
export function settingsMismatchMessage(blocking: readonly SettingDiff[]): string {
  const shown = blocking
    .slice(0, 8)
    .map((d) => `${d.key} (${JSON.stringify(d.a)} → ${JSON.stringify(d.b)})`)
    .join('; ');
  const more = blocking.length > 8 ? `; and ${blocking.length - 8} more` : '';
  const tops = [...new Set(blocking.map((d) => d.key.replace(/^tasks\.[^.]+\./, '').split('.')[0]))];
  return (
    `the runs differ in settings other than the ones being compared: ${shown}${more}. ` +
    `Make both runs with the same settings, or name what may differ with --vary ${tops.join(',')}`
  );
}

export interface GateCaseLike {
  task: string;
  outcome: Outcome;
}

/** Exit status of a verdict: 0 when every checked task passes (skipped ones aside), else 1. */
export function gateExitCode(cases: readonly GateCaseLike[]): 0 | 1 {
  return cases.every((c) => c.outcome === 'pass' || c.outcome === 'skipped') ? 0 : 1;
}

/** "PASS" or "FAIL — regressed: a, b; inconclusive: c" (the line CI logs show). */
export function gateHeadline(
  cases: readonly (GateCaseLike & { verdict: string })[],
  failWord = 'regressed',
): string {
  const failed = cases.filter((c) => c.outcome === 'fail').map((c) => c.task);
  const unsure = cases.filter((c) => c.outcome === 'inconclusive').map((c) => c.task);
  if (!failed.length && !unsure.length) return 'PASS';
  const parts: string[] = [];
  if (failed.length) parts.push(`${failWord}: ${failed.join(', ')}`);
  if (unsure.length) parts.push(`inconclusive: ${unsure.join(', ')}`);
  return `FAIL — ${parts.join('; ')}`;
}

export interface PairedTaskResult {
  task: string;
  title: string;
  metric: string;
  unit: string;
  verdict: PairedVerdict;
  outcome: Outcome;
  reason: string;
  maxDrop: number;
  minSamples: number;
  /** Samples scored in both runs (what Δ is computed over). */
  n: number;
  /** Resampling units (samples, or groups: MME images, MMBench circular groups, HallusionBench sets). */
  units: number;
  /** Paired samples left out because one run has no score for them (errors, external scoring). */
  excluded: number;
  newErrors: number;
  /** Task scores over the paired samples, in card units, and their difference with its interval. */
  baseline: number;
  candidate: number;
  delta: number;
  ci: [number, number];
  level: number;
  /** Per-sample flips: 0/1 metrics right↔wrong; graded metrics a change of at least 0.5. */
  rightToWrong: number;
  wrongToRight: number;
  /** The first flipped sample ids of each kind (up to 10), to look at with `compare`. */
  flipIds: { rightToWrong: string[]; wrongToRight: string[] };
}

export interface CardTaskResult {
  task: string;
  title: string;
  metric: string;
  unit: string;
  verdict: CardVerdict;
  outcome: Outcome;
  reason: string;
  score: number | null;
  ci95: [number, number] | null;
  card: number | null;
  /** Where the card value must lie: the 95% CI widened by the tolerance on each side. */
  window: [number, number] | null;
  tolerance: number;
  precision: number;
  minSamples: number;
  /** Samples scored. */
  n: number;
}

interface GateResultBase {
  /** The gate's one-line verdict (see gateHeadline). */
  headline: string;
  exitCode: 0 | 1;
  /** The thresholds file used, if any. */
  thresholds: string | null;
  /** Remarks that did not change the verdict (tasks not gated, unknown threshold names, ...). */
  notes: string[];
}

export interface PairedGateResult extends GateResultBase {
  mode: 'paired';
  baseline: string;
  candidate: string;
  alpha: number;
  /** Settings allowed to differ, and the differences found among them. */
  vary: string[];
  settingsDiff: SettingDiff[];
  tasks: PairedTaskResult[];
}

export interface CardGateResult extends GateResultBase {
  mode: 'card';
  run: string;
  tasks: CardTaskResult[];
}

export type GateResult = PairedGateResult | CardGateResult;
