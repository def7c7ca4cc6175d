/**
 * Reproduction check (`gate RUN --against-card`, and the report's "card check" column): does each task's score
 * agree with the model card's value from its task YAML?
 *
 * A card value is reproduced when it lies inside the score's own 95% CI widened by `tolerance` on each side. The
 * check only claims "reproduced" when the run could have noticed a miss: fewer than `minSamples` scored samples, or
 * a CI half-width above `precision` (default 2% of the score's range), make it "inconclusive" (a 50-sample run
 * agrees with almost any card value).
 */
import { loadRun } from './run-data.ts';
import {
  CARD_OUTCOME,
  DEFAULT_MIN_SAMPLES,
  GateInputError,
  gateExitCode,
  gateHeadline,
  type CardGateResult,
  type CardTaskResult,
  type CardVerdict,
} from './gate.ts';
import {
  thresholdFor,
  unknownThresholdTasks,
  type TaskThreshold,
  type Thresholds,
} from './gate-thresholds.ts';
import { buildSummary, UNIT_MAX, type SummaryRow } from './summary.ts';

export interface CardRule {
  tolerance: number;
  precision: number;
  minSamples: number;
}

/** Defaults for a ×100 score: the bare 95% CI, a CI no wider than ±2 points, at least 30 samples. */
export const DEFAULT_CARD_RULE: CardRule = { tolerance: 0, precision: 2, minSamples: DEFAULT_MIN_SAMPLES };

/**
 * The default precision is 2% of the score's range: 2 points for ×100 scores, 20 for OCRBench (/1000), 56 for
 * the MME sum (/2800), so that one rule means the same thing in every unit.
 */
export function defaultPrecision(unit: string): number {
  return 0.02 * (UNIT_MAX[unit] ?? 100);
}

export interface CardEvidence {
  score: number | null;
  ci95: [number, number] | null;
  card: number | null;
  /** Scored samples. */
  n: number;
  /** Why there is no comparable score or card value, when the row says so (external task, judged, split row). */
  noCardReason?: string;
}

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(2));

export function cardVerdict(
  e: CardEvidence,
  rule: CardRule,
): { verdict: CardVerdict; reason: string; window: [number, number] | null } {
  if (e.noCardReason) return { verdict: 'no card value', reason: e.noCardReason, window: null };
  if (e.card === null)
    return { verdict: 'no card value', reason: 'the task YAML has no report.card', window: null };
  if (e.score === null)
    return { verdict: 'no card value', reason: 'no local score to compare', window: null };
  if (e.n < rule.minSamples)
    return {
      verdict: 'inconclusive',
      reason: `only ${e.n} scored samples (fewer than min-samples ${rule.minSamples})`,
      window: null,
    };
  if (e.ci95 === null)
    return { verdict: 'inconclusive', reason: 'the score has no confidence interval', window: null };
  const window: [number, number] = [e.ci95[0] - rule.tolerance, e.ci95[1] + rule.tolerance];
  const where = `card ${fmt(e.card)}, ours ${fmt(e.score)} [${fmt(e.ci95[0])}, ${fmt(e.ci95[1])}]`;
  if (e.card < window[0] || e.card > window[1])
    return {
      verdict: 'not reproduced',
      reason: `${where}: outside the 95% CI${rule.tolerance ? ` ± tolerance ${fmt(rule.tolerance)}` : ''}`,
      window,
    };
  const half = (e.ci95[1] - e.ci95[0]) / 2;
  if (half > rule.precision)
    return {
      verdict: 'inconclusive',
      reason: `${where}: inside, but the CI half-width ${fmt(half)} exceeds precision ${fmt(rule.precision)}; run more samples`,
      window,
    };
  return { verdict: 'reproduced', reason: `${where}: inside`, window };
}

/** The evidence a summary row gives (the report's table and the gate share it). */
export function cardEvidenceOf(row: SummaryRow, splitOf?: string): CardEvidence {
  const base = { score: row.score, ci95: row.ci95, card: row.card, n: row.n - row.errors };
  if (row.external && !row.judge)
    return { ...base, noCardReason: `scored outside this harness (${row.external})` };
  if (row.judge)
    return {
      ...base,
      noCardReason: `scored by a local judge (${row.judge.model}), not the card's protocol`,
    };
  if (splitOf) return { ...base, noCardReason: `the card's value belongs to the combined row ${splitOf}` };
  return base;
}

/** A task's rule: its thresholds where given, else the defaults for its unit. */
export function cardRuleOf(t: TaskThreshold, unit: string): CardRule {
  return {
    tolerance: t.tolerance ?? DEFAULT_CARD_RULE.tolerance,
    precision: t.precision ?? defaultPrecision(unit),
    minSamples: t.minSamples ?? DEFAULT_CARD_RULE.minSamples,
  };
}

export interface CardCheckOptions {
  /** Tasks (or combined row names) to check; default every row of the run. */
  tasks?: string[];
  thresholds?: Thresholds | null;
  /** Command-line settings (undefined: not given). */
  flags?: TaskThreshold;
}

/** `gate RUN --against-card`: one verdict per summary row; exit status 2 (GateInputError) when nothing can be checked. */
export async function checkAgainstCard(dir: string, options: CardCheckOptions = {}): Promise<CardGateResult> {
  const run = await loadRun(dir);
  if (!run.scores.length) throw new GateInputError(`${dir}: the run has no scored tasks (scores/*.json)`);
  const summary = await buildSummary(run);
  const splitRow = (task: string) => {
    const s = run.scores.find((x) => x.task === task);
    const row = summary.rows.find((r) => r.combinedFrom?.includes(task));
    return s?.combine && s.card !== undefined && !row ? s.combine.row : undefined;
  };
  let rows = summary.rows;
  if (options.tasks?.length) {
    const missing = options.tasks.filter((t) => !rows.some((r) => r.task === t));
    if (missing.length)
      throw new GateInputError(
        `${run.name}: no task or card row named ${missing.join(', ')} (it has ${rows.map((r) => r.task).join(', ')})`,
      );
    rows = rows.filter((r) => options.tasks!.includes(r.task));
  }
  const tasks: CardTaskResult[] = rows.map((row) => {
    const rule = cardRuleOf(
      thresholdFor(options.thresholds ?? null, row.task, options.flags ?? {}),
      row.unit,
    );
    const v = cardVerdict(cardEvidenceOf(row, splitRow(row.task)), rule);
    return {
      task: row.task,
      title: row.title,
      metric: row.metric,
      unit: row.unit,
      verdict: v.verdict,
      outcome: CARD_OUTCOME[v.verdict],
      reason: v.reason,
      score: row.score,
      ci95: row.ci95,
      card: row.card,
      window: v.window,
      ...rule,
      n: row.n - row.errors,
    };
  });
  if (tasks.every((t) => t.outcome === 'skipped'))
    throw new GateInputError(
      `${run.name}: no checked task has a card value to compare with (${tasks.map((t) => `${t.task}: ${t.reason}`).join('; ')})`,
    );
  const notes: string[] = [];
  const unknown = unknownThresholdTasks(
    options.thresholds,
    summary.rows.map((r) => r.task),
  );
  if (unknown.length) notes.push(`thresholds name tasks this run does not have: ${unknown.join(', ')}`);
  return {
    mode: 'card',
    run: run.name,
    tasks,
    headline: gateHeadline(tasks, 'not reproduced'),
    exitCode: gateExitCode(tasks),
    thresholds: options.thresholds?.file ?? null,
    notes,
  };
}
