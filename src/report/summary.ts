/**
 * The run summary: one row per task (and one per combined card row, e.g. ChartQA = mean of its two splits),
 * laid out like the model card's tables. `summary.json` is this object; results.md / results.csv render it.
 */
import { bootstrapCi, mean } from '../metrics/bootstrap.ts';
import { loadPredictions, type RunData, type TaskScore } from './run-data.ts';

export interface SummaryRow {
  /** Task name, or the combined row's name. */
  task: string;
  title: string;
  group: 'image' | 'video' | 'grounding';
  metric: string;
  unit: string;
  score: number | null;
  ci95: [number, number] | null;
  card: number | null;
  delta: number | null;
  n: number;
  errors: number;
  tilesPerSample: number | null;
  imageTokensPerSample: number | null;
  latencyMsMean: number | null;
  samplesPerSec: number | null;
  /** Set when the official score is external (server or GPT judge): predictions written, score not computed. */
  external: string | null;
  /**
   * Set when an external task was scored by the optional local judge (`run --judge-endpoint`): `score` / `ci95`
   * are that judge's, never the official number, and the tables label them with the judge model.
   */
  judge?: { model: string; endpoint: string } | null;
  /** For combined rows: the member tasks. */
  combinedFrom?: string[];
  breakdown: Record<string, number>;
}

export interface RunSummary {
  run: string;
  model: string;
  variant: string | null;
  createdAt: string;
  rows: SummaryRow[];
}

export const GROUP_TITLES: Record<SummaryRow['group'], string> = {
  image: 'Image benchmarks',
  video: 'Video benchmarks',
  grounding: 'Grounding benchmarks',
};

/** Full range of a card score by its unit: ×100 scores, MME's perception (2000) + cognition (800), OCRBench's 1000. */
export const UNIT_MAX: Readonly<Record<string, number>> = { x100: 100, sum: 2800, '/1000': 1000 };

/** Multiplier from per-sample scores (0..1) to card units, by the aggregate's unit label. */
export function unitScale(unit: string): number {
  return unit === 'x100' ? 100 : unit === '/1000' ? 1000 : 1;
}

function rowFromTask(s: TaskScore): SummaryRow {
  // A split of a combined card row (one ChartQA split run alone) has no card value of its own.
  const cardValue = s.combine && s.combine.row !== s.task ? undefined : s.card;
  const external = s.external ? s.external.reason : null;
  // An external task keeps its aggregate only when the local judge produced it (labelled as such).
  const judge = s.external && s.judge && s.aggregate ? s.judge : null;
  const local = !external || judge !== null;
  const score = !local || !s.aggregate ? null : s.aggregate.score;
  const ok = (v: number) => (Number.isFinite(v) ? v : null);
  return {
    task: s.task,
    title: s.title,
    group: s.group,
    metric: s.metric,
    unit: s.aggregate?.unit ?? '',
    score: score !== null && Number.isFinite(score) ? score : null,
    ci95: !local || !s.aggregate || !s.aggregate.ci95.every(Number.isFinite) ? null : s.aggregate.ci95,
    card: cardValue ?? null,
    delta: score !== null && cardValue !== undefined && Number.isFinite(score) ? score - cardValue : null,
    n: s.n,
    errors: s.errors,
    tilesPerSample: ok(s.tilesPerSample),
    imageTokensPerSample: ok(s.imageTokensPerSample),
    latencyMsMean: ok(s.latencyMsMean),
    samplesPerSec: ok(s.samplesPerSec),
    external,
    judge,
    breakdown: { ...(s.aggregate?.breakdown ?? {}) },
  };
}

/**
 * A card row made of several tasks (ChartQA = mean of human and augmented accuracy, as the InternVL docs report
 * it). The CI is a stratified bootstrap: each split's samples are resampled within the split.
 */
async function combinedRow(
  run: RunData,
  members: TaskScore[],
  how: 'mean' | 'sum',
  row: string,
): Promise<SummaryRow> {
  const first = members[0];
  const scale = unitScale(first.aggregate?.unit ?? '');
  const units: { split: number; score: number }[] = [];
  const strata: string[] = [];
  for (const [k, m] of members.entries()) {
    for (const r of await loadPredictions(run.dir, m.task)) {
      if (r.score === null || r.score === undefined) continue;
      units.push({ split: k, score: r.score });
      strata.push(m.task);
    }
  }
  const combine = (vals: number[]) => (how === 'mean' ? mean(vals) : vals.reduce((a, b) => a + b, 0));
  const score = combine(members.map((m) => m.aggregate?.score ?? NaN));
  const stat = (rs: readonly { split: number; score: number }[]) =>
    combine(members.map((_, k) => scale * mean(rs.filter((u) => u.split === k).map((u) => u.score))));
  const ci = units.length ? bootstrapCi(units, stat, { strata }) : null;
  const card = first.combine?.row === row ? (members.find((m) => m.card !== undefined)?.card ?? null) : null;
  const n = members.reduce((a, m) => a + m.n, 0);
  const weighted = (f: (m: TaskScore) => number) =>
    n ? members.reduce((a, m) => a + f(m) * m.n, 0) / n : null;
  return {
    task: row,
    title: row,
    group: first.group,
    metric: first.metric,
    unit: first.aggregate?.unit ?? '',
    score,
    ci95: ci && ci.every(Number.isFinite) ? ci : null,
    card,
    delta: card !== null ? score - card : null,
    n,
    errors: members.reduce((a, m) => a + m.errors, 0),
    tilesPerSample: weighted((m) => m.tilesPerSample),
    imageTokensPerSample: weighted((m) => m.imageTokensPerSample),
    latencyMsMean: weighted((m) => m.latencyMsMean),
    samplesPerSec: members.reduce((a, m) => a + m.wallSeconds, 0)
      ? n / members.reduce((a, m) => a + m.wallSeconds, 0)
      : null,
    external: null,
    judge: null,
    combinedFrom: members.map((m) => m.task),
    breakdown: Object.fromEntries(members.map((m) => [m.task, m.aggregate?.score ?? NaN])),
  };
}

export async function buildSummary(run: RunData): Promise<RunSummary> {
  const rows: SummaryRow[] = [];
  const combinedDone = new Set<string>();
  for (const s of run.scores) {
    const combine = s.combine;
    if (combine && !combinedDone.has(combine.row)) {
      const members = combine.tasks
        .map((t) => run.scores.find((x) => x.task === t))
        .filter((x): x is TaskScore => x !== undefined);
      // The combined card row only exists when every member split was run.
      if (members.length === combine.tasks.length && members.every((m) => !m.external && m.aggregate)) {
        combinedDone.add(combine.row);
        const row = await combinedRow(run, members, combine.how, combine.row);
        // Members keep their own rows (without the card value, which belongs to the combined row).
        for (const m of members) rows.push({ ...rowFromTask(m), card: null, delta: null });
        rows.push(row);
        continue;
      }
    }
    if (combine && combinedDone.has(combine.row)) continue;
    rows.push(rowFromTask(s));
  }
  const manifest = run.manifest as {
    model?: { ref?: unknown; variant?: unknown } | string;
    startedAt?: unknown;
    config?: { model?: unknown; variant?: unknown };
  };
  const m = manifest.model;
  const model = String((typeof m === 'object' ? m.ref : m) ?? manifest.config?.model ?? 'unknown');
  const variant = (typeof m === 'object' ? m.variant : undefined) ?? manifest.config?.variant;
  return {
    run: run.name,
    model,
    variant: variant === undefined || variant === null ? null : String(variant),
    createdAt: String(manifest.startedAt ?? ''),
    rows,
  };
}
