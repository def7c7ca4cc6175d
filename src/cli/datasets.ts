/**
 * `internvl-eval datasets list [--json]` · `datasets fetch TASK.. [--root DIR] [--max-unzipped-gib N] [--max-ratio N]
 * [--max-entries N]` · `datasets verify TASK.. [--root DIR] [--scan]`: task configs, their data on the Hugging Face
 * hub (HF cache layout, resumable, checksummed, zip archives unpacked safely) or, for VLMEvalKit TSV tasks, at
 * their `source.options.url` (into `$LMUData`, default `~/LMUData`, md5-checked), and checks (extraction included).
 */
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import type { ExtractLimits } from '../datasets/archive.ts';
import { hubEnv } from '../common/hf-cache.ts';
import { fetchTask, resolveTaskRoot, verifyTask } from '../datasets/task-fetch.ts';
import { openTask } from '../datasets/open-task.ts';
import { isSampleError } from '../datasets/sample.ts';
import { listTasks, loadTask } from '../datasets/task-config.ts';
import { formatTaskTable, taskRow } from '../datasets/task-table.ts';

interface Common {
  configDir?: string;
}

const configDirOption = <T>(y: Argv<T>) =>
  y.option('config-dir', { type: 'string', describe: 'Folder of task YAMLs (default configs/tasks)' });

const listCommand: CommandModule<Common, Common & { json: boolean }> = {
  command: 'list',
  describe: 'List the task configs: source, size, card value',
  builder: (y) =>
    configDirOption(y).option('json', { type: 'boolean', default: false, describe: 'Print JSON' }),
  handler: async (argv) => {
    const rows = (await listTasks({ configDir: argv.configDir })).map(taskRow);
    process.stdout.write((argv.json ? JSON.stringify(rows, null, 2) : formatTaskTable(rows)) + '\n');
  },
};

interface FetchArgs extends Common {
  tasks: string[];
  root?: string;
  maxUnzippedGib?: number;
  maxRatio?: number;
  maxEntries?: number;
}

const fetchCommand: CommandModule<Common, FetchArgs> = {
  command: 'fetch <tasks..>',
  describe:
    'Download the hub files of tasks into the HF cache (resumable, size/sha256-checked) and unpack their zip ' +
    'archives; VLMEvalKit TSV tasks download their URL into $LMUData (default ~/LMUData, md5-checked)',
  builder: (y) =>
    configDirOption(y)
      .positional('tasks', { type: 'string', array: true, demandOption: true })
      .option('root', {
        type: 'string',
        describe:
          'Lay the files out under DIR (hard links or copies) and unpack archives there, not in the cache; ' +
          'URL tasks: download into DIR instead of $LMUData',
      })
      .option('max-unzipped-gib', {
        type: 'number',
        describe: 'Zip-bomb cap: uncompressed bytes of one archive, in GiB (default 256)',
      })
      .option('max-ratio', {
        type: 'number',
        describe: 'Zip-bomb cap: compression ratio of one entry (default 200)',
      })
      .option('max-entries', {
        type: 'number',
        describe: 'Zip-bomb cap: entries of one archive (default 1e6)',
      }),
  handler: async (argv) => {
    const env = hubEnv();
    const extractLimits: Partial<ExtractLimits> = {
      ...(argv.maxUnzippedGib !== undefined
        ? { maxTotalBytes: Math.round(argv.maxUnzippedGib * 2 ** 30) }
        : {}),
      ...(argv.maxRatio !== undefined ? { maxEntryRatio: argv.maxRatio } : {}),
      ...(argv.maxEntries !== undefined ? { maxEntries: argv.maxEntries } : {}),
    };
    for (const name of argv.tasks) {
      const task = await loadTask(name, { configDir: argv.configDir });
      let last = 0;
      const throttled = (line: () => string) => {
        const now = Date.now();
        if (now - last < 500 || !process.stderr.isTTY) return;
        last = now;
        process.stderr.write(`\r${line()}   `);
      };
      const fetched = await fetchTask(task, {
        env,
        root: argv.root,
        extractLimits,
        onProgress: (p) =>
          throttled(() => {
            const pct = p.total ? ` ${((100 * p.received) / p.total).toFixed(1)}%` : '';
            return `${p.file}: ${(p.received / 2 ** 20).toFixed(1)} MiB${pct}`;
          }),
        onExtract: (p) =>
          throttled(
            () => `unpacking ${p.archive}: ${p.entries} entries, ${(p.bytes / 2 ** 20).toFixed(1)} MiB`,
          ),
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      if (fetched.url) {
        const u = fetched.url;
        const how = !u.downloaded
          ? 'already present'
          : u.resumedFrom
            ? `downloaded (resumed at byte ${u.resumedFrom})`
            : 'downloaded';
        process.stdout.write(
          `${name}: ${path.relative(u.dir, u.path)} ${u.size} bytes${u.md5 ? ' md5 ok' : ''} (${how} from ${u.url})\n`,
        );
        process.stdout.write(`${name}: root ${u.dir}\n`);
        continue;
      }
      for (const f of fetched.files) {
        const rel = path.relative(fetched.snapshot, f.path);
        process.stdout.write(`${name}: ${rel} ${f.size} bytes${f.sha256 ? ' sha256 ok' : ''}\n`);
      }
      for (const x of fetched.extracted) {
        process.stdout.write(
          `${name}: ${x.archive} -> ${path.relative(fetched.root, x.dest) || '.'}: ` +
            `${x.skipped ? 'already extracted' : 'extracted'} (${x.entries} entries, ${x.bytes} bytes)\n`,
        );
      }
      process.stdout.write(`${name}: root ${fetched.root} (commit ${fetched.commit})\n`);
    }
  },
};

const verifyCommand: CommandModule<Common, Common & { tasks: string[]; root?: string; scan: boolean }> = {
  command: 'verify <tasks..>',
  describe:
    "Check a task's data offline: checksums (hub sha256, VLMEvalKit md5), presence, and (--scan) every row",
  builder: (y) =>
    configDirOption(y)
      .positional('tasks', { type: 'string', array: true, demandOption: true })
      .option('root', {
        type: 'string',
        describe: "Dataset root (default: the task's HF cache snapshot; URL tasks: $LMUData or ~/LMUData)",
      })
      .option('scan', {
        type: 'boolean',
        default: false,
        describe: 'Also read every row and count sample errors',
      }),
  handler: async (argv) => {
    let bad = 0;
    for (const name of argv.tasks) {
      const task = await loadTask(name, { configDir: argv.configDir });
      for (const l of await verifyTask(task, { root: argv.root })) {
        if (!l.ok) bad++;
        process.stdout.write(`${name}: ${l.ok ? 'ok  ' : 'FAIL'} ${l.file}: ${l.detail}\n`);
      }
      if (argv.scan) {
        const root = await resolveTaskRoot(task, { root: argv.root });
        let samples = 0;
        let errors = 0;
        for await (const s of openTask(task, { root })) {
          if (isSampleError(s)) {
            errors++;
            if (errors <= 20) process.stdout.write(`${name}: sample error: ${s.error}\n`);
          } else samples++;
        }
        const expect = task.samples !== undefined ? ` (config says ${task.samples})` : '';
        process.stdout.write(`${name}: ${samples} samples, ${errors} sample errors${expect}\n`);
        if (errors) bad++;
      }
    }
    if (bad) {
      process.stderr.write(`internvl-eval: datasets verify: ${bad} problem(s)\n`);
      process.exitCode = 1;
    }
  },
};

export const datasetsCommand: CommandModule = {
  command: 'datasets',
  describe: 'Task configs and their data: list, fetch from the Hugging Face hub, verify',
  builder: (y) =>
    y
      .command(listCommand as never)
      .command(fetchCommand as never)
      .command(verifyCommand as never)
      .demandCommand(1, 'Name a datasets sub-command: list, fetch, verify'),
  handler: () => {},
};
