/**
 * The gate's per-task thresholds file (`gate --thresholds FILE.yaml`): a task name (or `default`) maps to a number
 * (the allowed drop for `gate`, the tolerance for `gate --against-card`) or to an object naming each setting:
 *
 *   default: 1.0
 *   docvqa_val: 0.5
 *   mme: { max-drop: 30, tolerance: 20, precision: 60, min-samples: 100 }
 *
 * All values are in the task's card units (points for ×100 scores, the MME sum, OCRBench's count out of 1000).
 * Per-task entries win over command-line flags, which win over `default`.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';

const nonNegative = z.number().finite().nonnegative();

const entrySchema = z.union([
  nonNegative,
  z
    .object({
      'max-drop': nonNegative.optional(),
      tolerance: nonNegative.optional(),
      precision: z.number().finite().positive().optional(),
      'min-samples': z.number().int().nonnegative().optional(),
    })
    .strict(),
]);

const fileSchema = z.record(z.string(), entrySchema);

export interface TaskThreshold {
  /** Allowed drop of the task score (gate). */
  maxDrop?: number;
  /** How far outside the score's 95% CI the card value may lie (card check). */
  tolerance?: number;
  /** Card check: the widest CI half-width at which "reproduced" is claimed. */
  precision?: number;
  /** Fewer paired (or scored) samples than this is inconclusive. */
  minSamples?: number;
}

export interface Thresholds {
  /** The file they came from (for messages), or null for flags only. */
  file: string | null;
  default: TaskThreshold;
  tasks: Record<string, TaskThreshold>;
}

function toThreshold(entry: z.infer<typeof entrySchema>): TaskThreshold {
  if (typeof entry === 'number') return { maxDrop: entry, tolerance: entry };
  const out: TaskThreshold = {};
  if (entry['max-drop'] !== undefined) out.maxDrop = entry['max-drop'];
  if (entry.tolerance !== undefined) out.tolerance = entry.tolerance;
  if (entry.precision !== undefined) out.precision = entry.precision;
  if (entry['min-samples'] !== undefined) out.minSamples = entry['min-samples'];
  return out;
}

/** Parses a thresholds file's text; errors name the file and the offending key. */
export function parseThresholds(text: string, file: string): Thresholds {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid YAML (${(e as Error).message})`);
  }
  if (raw === null || raw === undefined) raw = {};
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? issue.path.join('.') : '(top level)';
    throw new Error(
      `${file}: ${where}: ${issue.message} (give "task: POINTS" or "task: {max-drop, tolerance, precision, min-samples}")`,
    );
  }
  const tasks: Record<string, TaskThreshold> = {};
  let def: TaskThreshold = {};
  for (const [name, entry] of Object.entries(parsed.data)) {
    if (name === 'default') def = toThreshold(entry);
    else tasks[name] = toThreshold(entry);
  }
  return { file, default: def, tasks };
}

export async function loadThresholds(file: string): Promise<Thresholds> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`--thresholds ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  return parseThresholds(text, file);
}

/**
 * One task's settings: its own entry, then the flags, then the file's `default`. `flags` hold what the command
 * line gave (undefined when not given).
 */
export function thresholdFor(
  thresholds: Thresholds | null,
  task: string,
  flags: TaskThreshold,
): TaskThreshold {
  const own = thresholds?.tasks[task] ?? {};
  const def = thresholds?.default ?? {};
  const pick = <K extends keyof TaskThreshold>(k: K) => own[k] ?? flags[k] ?? def[k];
  return {
    maxDrop: pick('maxDrop'),
    tolerance: pick('tolerance'),
    precision: pick('precision'),
    minSamples: pick('minSamples'),
  };
}

/** Tasks a thresholds file names that are not among `known` (gate and card check note them, in file order). */
export function unknownThresholdTasks(
  thresholds: Thresholds | null | undefined,
  known: readonly string[],
): string[] {
  return Object.keys(thresholds?.tasks ?? {}).filter((t) => !known.includes(t));
}
