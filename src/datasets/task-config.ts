/**
 * Task and preset configs: zod schemas for `configs/tasks/*.yaml` and `configs/presets/*.yaml`, and their loaders.
 * The schema's output is the `TaskConfig` contract of `task.ts` (plus `samples` and `file`, for `datasets list`).
 * A bad file fails with `FILE: key "a.b": reason` (YAML syntax errors with `FILE:LINE:COL`).
 */
import { scorerNames } from '../metrics/registry.ts';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import type { PromptRecipe } from './prompt-recipe.ts';
import { globToRegExp } from './glob.ts';
import type { DatasetFormat, JudgeKind, TaskConfig } from './task.ts';

/** `configs/` of this checkout (src/datasets -> ../../configs). */
export const CONFIGS_DIR = fileURLToPath(new URL('../../configs/', import.meta.url));
export const TASKS_DIR = path.join(CONFIGS_DIR, 'tasks');
export const PRESETS_DIR = path.join(CONFIGS_DIR, 'presets');

export const DATASET_FORMATS = [
  'internvl-jsonl',
  'vlmevalkit-tsv',
  'lmms-parquet',
  'mme-txt',
  'mvbench-json',
  'refcoco-jsonl',
  'ocrbench-json',
] as const satisfies readonly DatasetFormat[];

export const JUDGE_KINDS = ['mmvet', 'mathvista'] as const satisfies readonly JudgeKind[];

/** Scorer names a task may name: the metrics registry's, plus `external` (no local score: judge/server). */
export const SCORER_NAMES: readonly string[] = [...scorerNames, 'external'];

const nonEmpty = z.string().min(1);

export const promptRecipeSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('suffix'),
    suffix: z.string(),
    joiner: z.string(),
    trailingJoiner: z.boolean().optional(),
  }),
  z.strictObject({
    kind: z.literal('mcq'),
    style: z.enum(['internvl', 'vlmevalkit']),
    lang: z.enum(['en', 'cn', 'auto']),
    instruction: z.strictObject({ en: z.string(), cn: z.string() }).optional(),
  }),
  z.strictObject({ kind: z.literal('mvbench'), frames: z.number().int().positive() }),
  z.strictObject({
    kind: z.literal('videomme'),
    frames: z.number().int().positive(),
    subtitles: z.boolean(),
  }),
  z.strictObject({ kind: z.literal('grounding'), template: z.string().includes('{}') }),
]) satisfies z.ZodType<PromptRecipe>;

const hubFileSchema = nonEmpty.refine((f) => !f.startsWith('/') && !f.split('/').includes('..'), {
  message: 'must be a path inside the repo (no leading "/", no "..")',
});

const relativeDirSchema = nonEmpty.refine(
  (f) => !f.startsWith('/') && !f.includes('\\') && !f.split('/').includes('..'),
  { message: 'must be a folder inside the dataset root (no leading "/", no "..")' },
);

/** Caps against zip bombs (archive.ts `ExtractLimits`); unset ones take archive.ts `DEFAULT_EXTRACT_LIMITS`. */
export const extractLimitsSchema = z.strictObject({
  maxTotalBytes: z.number().int().positive().optional(),
  maxEntryRatio: z.number().positive().optional(),
  maxEntries: z.number().int().positive().optional(),
  ratioFloorBytes: z.number().int().min(0).optional(),
});

/**
 * `source.hub.extract[]`: after download, unpack the zip `file` (a repo path or glob over `files`) into `to` under
 * the dataset root (`{stem}` = the archive's name without `.zip`; default `.`).
 */
export const hubArchiveSchema = z.strictObject({
  file: hubFileSchema,
  to: relativeDirSchema.optional(),
  limits: extractLimitsSchema.optional(),
});

/** `source.hub.place[]`: also lay repo file `file` (one of `files`) out at `to` under the dataset root. */
export const hubPlacementSchema = z.strictObject({ file: hubFileSchema, to: relativeDirSchema });

export const taskSourceSchema = z.strictObject({
  format: z.enum(DATASET_FORMATS),
  path: nonEmpty.optional(),
  hub: z
    .strictObject({
      repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'must be "owner/name"'),
      type: z.enum(['dataset', 'model']),
      revision: nonEmpty.optional(),
      files: z.array(hubFileSchema).min(1),
      extract: z.array(hubArchiveSchema).optional(),
      place: z.array(hubPlacementSchema).optional(),
    })
    .superRefine((h, ctx) => {
      // A literal name must be one of `files` (or match one of its globs); a glob is checked at fetch time.
      const listed = (f: string) =>
        h.files.some((g) => g === f || (/[*?]/.test(g) && globToRegExp(g).test(f)));
      h.extract?.forEach((a, k) => {
        const covered = /[*?]/.test(a.file) || listed(a.file);
        if (!covered) {
          ctx.addIssue({
            code: 'custom',
            path: ['extract', k, 'file'],
            message: `"${a.file}" is not among \`files\``,
          });
        }
        if (!/\.zip$/i.test(a.file)) {
          ctx.addIssue({
            code: 'custom',
            path: ['extract', k, 'file'],
            message: 'only .zip archives are supported',
          });
        }
      });
      h.place?.forEach((p, k) => {
        if (/[*?]/.test(p.file) || !listed(p.file)) {
          ctx.addIssue({
            code: 'custom',
            path: ['place', k, 'file'],
            message: `"${p.file}" must be one file named in \`files\``,
          });
        }
      });
    })
    .optional(),
  options: z.record(z.string(), z.unknown()).optional(),
});

export const taskConfigSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9_]+$/, 'must be snake_case [a-z0-9_]'),
    title: nonEmpty,
    group: z.enum(['image', 'video', 'grounding']),
    /** Number of samples in the full split (as counted by the reference), for `datasets list`. */
    samples: z.number().int().positive().optional(),
    source: taskSourceSchema,
    fields: z.record(z.string(), z.string()).optional(),
    prompt: promptRecipeSchema,
    maxTiles: z.number().int().min(1).max(40),
    useThumbnail: z.boolean(),
    maxNewTokens: z.number().int().positive(),
    minNewTokens: z.number().int().min(0),
    frames: z.number().int().positive().optional(),
    scorer: z.strictObject({
      name: z.string().refine((n) => SCORER_NAMES.includes(n), {
        message: `unknown scorer; valid: ${SCORER_NAMES.join(', ')}`,
      }),
      options: z.record(z.string(), z.unknown()).optional(),
    }),
    report: z.strictObject({
      card: z.number().optional(),
      combine: z
        .strictObject({
          row: nonEmpty,
          tasks: z.array(nonEmpty).min(2),
          how: z.enum(['mean', 'sum']),
        })
        .optional(),
    }),
    external: z
      .strictObject({
        reason: nonEmpty,
        submissionFormat: nonEmpty,
        /** The grader of the optional local GPT judge (`run --judge-endpoint`); absent = not judge-scored. */
        judge: z.enum(JUDGE_KINDS).optional(),
      })
      .optional(),
  })
  .superRefine((t, ctx) => {
    if (t.scorer.name === 'external' && !t.external) {
      ctx.addIssue({
        code: 'custom',
        path: ['scorer', 'name'],
        message: '"external" needs an `external:` block',
      });
    }
    if (!t.source.path && !t.source.hub) {
      ctx.addIssue({ code: 'custom', path: ['source'], message: 'needs `path` or `hub` (or both)' });
    }
    if (t.report.combine && !t.report.combine.tasks.includes(t.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['report', 'combine', 'tasks'],
        message: `must include "${t.name}"`,
      });
    }
    if (t.group === 'video' && !t.frames) {
      ctx.addIssue({ code: 'custom', path: ['frames'], message: 'video tasks need `frames`' });
    }
    if (t.minNewTokens > t.maxNewTokens) {
      ctx.addIssue({ code: 'custom', path: ['minNewTokens'], message: 'exceeds maxNewTokens' });
    }
  });

/** What the loader returns: the `TaskConfig` contract plus list/diagnostic extras. */
export type TaskDefinition = TaskConfig & { samples?: number; file: string };

// Compile-time check that the schema's output fits the shared contract.
type SchemaOut = z.output<typeof taskConfigSchema>;
const _contractCheck = (t: SchemaOut): TaskConfig => t;
void _contractCheck;

export const presetSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9_.-]+$/),
  description: nonEmpty,
  /** Model the settings were published for (HF repo id). */
  model: nonEmpty.optional(),
  generation: z.strictObject({
    doSample: z.boolean(),
    temperature: z.number().min(0),
    topP: z.number().gt(0).max(1).optional(),
    numBeams: z.number().int().min(1),
  }),
  /** InternVL `--dynamic`: tile the image (true for every published InternVL2 number). */
  dynamic: z.boolean(),
  useThumbnail: z.boolean(),
  /** Tasks the preset runs, in order. */
  tasks: z.array(nonEmpty).min(1),
  /** Tile cap per task (InternVL `--max-num`); tasks not listed use `defaultMaxTiles`. */
  defaultMaxTiles: z.number().int().min(1).max(40),
  maxTiles: z.record(z.string(), z.number().int().min(1).max(40)).optional(),
});
export type Preset = z.output<typeof presetSchema> & { file: string };

export interface ConfigDirOptions {
  /** Folder of task YAMLs (default `configs/tasks` of this checkout). */
  configDir?: string;
}

/** Turns zod issues into `FILE: key "a.b": message` lines. */
export function formatIssues(file: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      const key = i.path.length ? i.path.join('.') : '(top level)';
      const extra = i.code === 'unrecognized_keys' ? ` (${i.keys.join(', ')})` : '';
      return `${file}: key "${key}": ${i.message}${extra}`;
    })
    .join('\n');
}

async function readYaml(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    throw new Error(`${where}: YAML syntax error: ${e.message.split('\n')[0]}`);
  }
  return doc.toJS();
}

/**
 * A family base (`configs/tasks/families/*.yaml`): the settings its tasks share, plus `childKeys`, the only keys
 * (dotted paths) a task that `extends:` it may set. A base is not a task: it has no `name` and is not listed.
 */
export const familyBaseSchema = z.looseObject({
  childKeys: z.array(nonEmpty).min(1),
  name: z.never({ error: 'a family base is not a task: the tasks that extend it set `name`' }).optional(),
  extends: z.never({ error: 'a family base cannot extend another file' }).optional(),
});

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The values a YAML mapping sets, by dotted path (lists and empty mappings are values). */
function leafPaths(v: Record<string, unknown>, prefix = ''): { path: string; emptyMapping: boolean }[] {
  return Object.entries(v).flatMap(([k, x]) =>
    isPlainObject(x) && Object.keys(x).length > 0
      ? leafPaths(x, `${prefix}${k}.`)
      : [{ path: `${prefix}${k}`, emptyMapping: isPlainObject(x) }],
  );
}

/** Mappings merge key by key (base order first, child wins); lists and scalars of the child replace the base's. */
function mergeConfig(base: unknown, child: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(child)) return child;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(child)) out[k] = k in base ? mergeConfig(base[k], v) : v;
  return out;
}

/**
 * A task YAML with `extends: families/NAME.yaml` (relative to the task's folder) is that base merged with the
 * task's own keys, each of which must be allowed by the base's `childKeys`.
 */
async function resolveExtends(file: string, raw: unknown): Promise<unknown> {
  if (!isPlainObject(raw) || raw.extends === undefined) return raw;
  const { extends: ref, ...own } = raw;
  if (typeof ref !== 'string' || !ref) throw new Error(`${file}: key "extends": must be a file path`);
  const baseFile = path.resolve(path.dirname(file), ref);
  const baseRaw = await readYaml(baseFile).catch((e: Error) => {
    throw new Error(`${file}: key "extends": ${e.message}`);
  });
  const parsed = familyBaseSchema.safeParse(baseRaw);
  if (!parsed.success) throw new Error(formatIssues(baseFile, parsed.error.issues));
  const { childKeys, ...shared } = parsed.data;
  // `report: {}` is allowed where `report.card` is: it sets nothing below the allowed key.
  const allowed = ({ path: p, emptyMapping }: { path: string; emptyMapping: boolean }) =>
    childKeys.some((k) => p === k || p.startsWith(`${k}.`) || (emptyMapping && k.startsWith(`${p}.`)));
  for (const leaf of leafPaths(own)) {
    const p = leaf.path;
    if (!allowed(leaf)) {
      throw new Error(
        `${file}: key "${p}": not settable by a task extending ${ref} (its childKeys: ${childKeys.join(', ')})`,
      );
    }
  }
  return mergeConfig(shared, own);
}

/** Parses and validates one task YAML file (merged with its family base when it has `extends:`). */
export async function loadTaskFile(file: string): Promise<TaskDefinition> {
  const raw = await resolveExtends(file, await readYaml(file));
  const parsed = taskConfigSchema.safeParse(raw);
  if (!parsed.success) throw new Error(formatIssues(file, parsed.error.issues));
  const expected = path.basename(file).replace(/\.ya?ml$/, '');
  if (parsed.data.name !== expected) {
    throw new Error(`${file}: key "name": "${parsed.data.name}" differs from the file name "${expected}"`);
  }
  return { ...parsed.data, file };
}

/** Loads `configs/tasks/NAME.yaml` (or `.yml`); an unknown name lists the known ones. */
export async function loadTask(name: string, opts: ConfigDirOptions = {}): Promise<TaskDefinition> {
  const dir = opts.configDir ?? TASKS_DIR;
  const files = await taskFiles(dir);
  const file = files.get(name);
  if (!file) {
    throw new Error(
      `unknown task "${name}" (no ${path.join(dir, name + '.yaml')}); known: ${[...files.keys()].join(', ')}`,
    );
  }
  return loadTaskFile(file);
}

/** Task name -> YAML file, sorted by name. */
async function taskFiles(dir: string): Promise<Map<string, string>> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    throw new Error(`task config folder not found: ${dir}`);
  }
  const yamls = entries.filter((f) => /\.ya?ml$/.test(f)).sort();
  return new Map(yamls.map((f) => [f.replace(/\.ya?ml$/, ''), path.join(dir, f)]));
}

/** Every task config, validated (the first bad file throws), sorted by name; combine rows are cross-checked. */
export async function listTasks(opts: ConfigDirOptions = {}): Promise<TaskDefinition[]> {
  const tasks: TaskDefinition[] = [];
  for (const file of (await taskFiles(opts.configDir ?? TASKS_DIR)).values())
    tasks.push(await loadTaskFile(file));
  checkCombines(tasks);
  return tasks;
}

/** Every task of a `combine` row must exist and name the same row. */
export function checkCombines(tasks: readonly TaskDefinition[]): void {
  const byName = new Map(tasks.map((t) => [t.name, t]));
  for (const t of tasks) {
    const c = t.report.combine;
    if (!c) continue;
    for (const other of c.tasks) {
      const o = byName.get(other);
      if (!o) throw new Error(`${t.file}: key "report.combine.tasks": unknown task "${other}"`);
      if (o.report.combine?.row !== c.row) {
        throw new Error(`${o.file}: key "report.combine.row": must be "${c.row}" as in ${t.file}`);
      }
    }
  }
}

/** Loads and validates `configs/presets/NAME.yaml`; every task it names must have a config. */
export async function loadPreset(
  name: string,
  opts: { presetDir?: string; configDir?: string } = {},
): Promise<Preset> {
  const file = path.join(opts.presetDir ?? PRESETS_DIR, `${name}.yaml`);
  const raw = await readYaml(file);
  const parsed = presetSchema.safeParse(raw);
  if (!parsed.success) throw new Error(formatIssues(file, parsed.error.issues));
  const known = new Set((await taskFiles(opts.configDir ?? TASKS_DIR)).keys());
  for (const [key, list] of [
    ['tasks', parsed.data.tasks],
    ['maxTiles', Object.keys(parsed.data.maxTiles ?? {})],
  ] as const) {
    for (const t of list) {
      if (!known.has(t)) throw new Error(`${file}: key "${key}": unknown task "${t}"`);
    }
  }
  return { ...parsed.data, file };
}

/** The tile cap a preset gives a task. */
export function presetMaxTiles(preset: Preset, task: string): number {
  return preset.maxTiles?.[task] ?? preset.defaultMaxTiles;
}
