/**
 * `gate BASELINE CANDIDATE`: load two run folders, check they can be paired (same samples, prompts and ground
 * truth; same settings apart from the ones being compared), and give each task a paired non-inferiority verdict
 * (gate.ts) on the difference of its task score (paired-stats.ts `pairedScoreDifference`, over the scorer's own
 * resampling units). Anything that makes a verdict meaningless is a GateInputError (exit status 2).
 */
import type { SampleScore } from '../metrics/scorer.ts';
import { getScorer } from '../metrics/registry.ts';
import type { PredictionRecord } from '../runner/prediction-record.ts';
import { scoreInputOf } from '../runner/request.ts';
import { manifestDiff, pairRecords, PairingError } from './compare.ts';
import {
  DEFAULT_ALPHA,
  DEFAULT_MIN_SAMPLES,
  DEFAULT_VARY,
  GateInputError,
  PAIRED_OUTCOME,
  gateExitCode,
  gateHeadline,
  pairedVerdict,
  settingsMismatchMessage,
  splitSettingsDiff,
  type PairedGateResult,
  type PairedTaskResult,
} from './gate.ts';
import {
  thresholdFor,
  unknownThresholdTasks,
  type TaskThreshold,
  type Thresholds,
} from './gate-thresholds.ts';
import { isBinary, pairedScoreDifference } from './paired-stats.ts';
import { loadPredictions, loadRun, type RunData, type TaskScore } from './run-data.ts';

export interface PairedGateOptions {
  /** Tasks to gate (each must be in both runs); default every task, and both runs must hold the same tasks. */
  tasks?: string[];
  /** One-sided level: the interval is the (1 − 2α) two-sided one (default 0.05 → 90%). */
  alpha?: number;
  /** Settings allowed to differ (config keys or flag names; default variant, model). */
  vary?: string[];
  thresholds?: Thresholds | null;
  /** Command-line settings (undefined: not given): maxDrop, minSamples. */
  flags?: TaskThreshold;
  iterations?: number;
  seed?: number;
}

async function load(dir: string, role: string): Promise<RunData> {
  let run: RunData;
  try {
    run = await loadRun(dir);
  } catch (e) {
    throw new GateInputError(`${role} ${(e as Error).message}`);
  }
  // A run still going or killed holds fewer samples; say so rather than "different samples".
  const status = (run.manifest as { status?: unknown }).status;
  if (status !== undefined && status !== 'complete')
    throw new GateInputError(
      `${role} ${dir} is ${String(status)}, not complete; finish it (run ... --resume --out ${dir}) before gating`,
    );
  return run;
}

interface ManifestTasks {
  config?: { tasks?: Record<string, { scorer?: { name: string; options?: Record<string, unknown> } }> };
}

const isScored = (r: PredictionRecord) => r.error === undefined && typeof r.score === 'number';
const sampleScore = (r: PredictionRecord): SampleScore =>
  r.extracted === undefined
    ? { score: r.score as number }
    : { score: r.score as number, extracted: r.extracted };

/** One task's verdict from its two prediction logs. */
export function gateTask(
  meta: { task: string; title: string; metric: string; unit: string },
  scorerSpec: { name: string; options?: Record<string, unknown> },
  a: readonly PredictionRecord[],
  b: readonly PredictionRecord[],
  rule: { maxDrop: number; minSamples: number },
  stats: { alpha: number; iterations?: number; seed?: number },
): PairedTaskResult {
  let pairs: [PredictionRecord, PredictionRecord][];
  try {
    pairs = pairRecords(meta.task, [...a], [...b]);
  } catch (e) {
    if (e instanceof PairingError) throw new GateInputError(e.message);
    throw e;
  }
  const scored = pairs.filter(([ra, rb]) => isScored(ra) && isScored(rb));
  const newErrors = pairs.filter(([ra, rb]) => isScored(ra) && rb.error !== undefined).length;
  const inputs = scored.map(([ra]) => scoreInputOf(ra));
  const sa = scored.map(([ra]) => sampleScore(ra));
  const sb = scored.map(([, rb]) => sampleScore(rb));
  let resampling;
  try {
    resampling = getScorer(scorerSpec.name).resampling(inputs, scorerSpec.options);
  } catch (e) {
    throw new GateInputError(`${meta.task}: cannot resample its scores (${(e as Error).message})`);
  }
  const d = pairedScoreDifference(resampling, sa, sb, {
    level: 1 - 2 * stats.alpha,
    iterations: stats.iterations,
    seed: stats.seed,
  });
  const binary = isBinary(sa.map((s) => s.score)) && isBinary(sb.map((s) => s.score));
  const step = binary ? 1 : 0.5;
  const r2w = scored.filter((_, i) => sa[i].score - sb[i].score >= step).map(([ra]) => ra.id);
  const w2r = scored.filter((_, i) => sb[i].score - sa[i].score >= step).map(([ra]) => ra.id);
  const v = pairedVerdict({ n: scored.length, delta: d.delta, ci: d.ci, newErrors }, rule);
  return {
    ...meta,
    verdict: v.verdict,
    outcome: PAIRED_OUTCOME[v.verdict],
    reason: v.reason,
    maxDrop: rule.maxDrop,
    minSamples: rule.minSamples,
    n: scored.length,
    units: d.units,
    excluded: pairs.length - scored.length,
    newErrors,
    baseline: d.scoreA,
    candidate: d.scoreB,
    delta: d.delta,
    ci: d.ci,
    level: d.level,
    rightToWrong: r2w.length,
    wrongToRight: w2r.length,
    flipIds: { rightToWrong: r2w.slice(0, 10), wrongToRight: w2r.slice(0, 10) },
  };
}

/** Tasks both runs hold with a local score; refuses a task missing from one run. */
function gatedTasks(
  a: RunData,
  b: RunData,
  requested: string[] | undefined,
  notes: string[],
): { task: string; sa: TaskScore; sb: TaskScore }[] {
  const has = (run: RunData, t: string) => run.scores.find((s) => s.task === t);
  const names = requested?.length ? requested : [...new Set([...a.scores, ...b.scores].map((s) => s.task))];
  const missing = names.flatMap((t) => {
    const where = [!has(a, t) && `baseline ${a.name}`, !has(b, t) && `candidate ${b.name}`].filter(Boolean);
    return where.length ? [`${t} (not in ${where.join(' nor ')})`] : [];
  });
  if (missing.length)
    throw new GateInputError(
      `a task is missing from a run: ${missing.join(', ')}` +
        (requested?.length ? '' : '; run both on the same tasks, or name the shared ones with --tasks'),
    );
  const out: { task: string; sa: TaskScore; sb: TaskScore }[] = [];
  for (const t of names) {
    const sa = has(a, t)!;
    const sb = has(b, t)!;
    if (!sa.aggregate || !sb.aggregate || sa.external || sb.external) {
      const why = `${t} is scored outside this harness (${sa.external?.reason ?? sb.external?.reason ?? 'no local score'})`;
      if (requested?.length) throw new GateInputError(`${why}: it cannot be gated`);
      notes.push(`${why}: not gated`);
      continue;
    }
    out.push({ task: t, sa, sb });
  }
  if (!out.length) throw new GateInputError('no task with a local score to gate');
  return out;
}

export async function gateRuns(
  baselineDir: string,
  candidateDir: string,
  options: PairedGateOptions = {},
): Promise<PairedGateResult> {
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  if (!(alpha > 0 && alpha < 0.5)) throw new GateInputError(`--alpha ${alpha}: give a level in (0, 0.5)`);
  const vary = options.vary?.length ? options.vary : [...DEFAULT_VARY];
  const [a, b] = [await load(baselineDir, 'baseline'), await load(candidateDir, 'candidate')];
  const notes: string[] = [];
  const tasks = gatedTasks(a, b, options.tasks, notes);
  const { varied, blocking } = splitSettingsDiff(
    manifestDiff(a.manifest, b.manifest),
    vary,
    tasks.map((t) => t.task),
  );
  if (blocking.length) throw new GateInputError(settingsMismatchMessage(blocking));
  const results: PairedTaskResult[] = [];
  for (const { task, sa, sb } of tasks) {
    const th = thresholdFor(options.thresholds ?? null, task, options.flags ?? {});
    if (th.maxDrop === undefined)
      throw new GateInputError(
        `${task}: no allowed drop; pass --max-drop or give "${task}:" or "default:" in a --thresholds file`,
      );
    const spec = (a.manifest as ManifestTasks).config?.tasks?.[task]?.scorer ?? { name: sa.metric };
    results.push(
      gateTask(
        { task, title: sa.title, metric: sa.metric, unit: sa.aggregate!.unit },
        spec,
        await loadPredictions(a.dir, task),
        await loadPredictions(b.dir, sb.task),
        { maxDrop: th.maxDrop, minSamples: th.minSamples ?? DEFAULT_MIN_SAMPLES },
        { alpha, iterations: options.iterations, seed: options.seed },
      ),
    );
  }
  const unknown = unknownThresholdTasks(
    options.thresholds,
    a.scores.map((s) => s.task),
  );
  if (unknown.length) notes.push(`thresholds name tasks the runs do not have: ${unknown.join(', ')}`);
  return {
    mode: 'paired',
    baseline: a.name,
    candidate: b.name,
    alpha,
    vary,
    settingsDiff: varied,
    tasks: results,
    headline: gateHeadline(results),
    exitCode: gateExitCode(results),
    thresholds: options.thresholds?.file ?? null,
    notes,
  };
}
