/**
 * `internvl-eval datasets list [--json]` · `datasets fetch TASK.. [--root DIR]` · `datasets verify TASK.. [--root DIR]
 * [--scan]`: task configs, their data on the Hugging Face hub (HF cache layout, resumable, checksummed), and checks.
 */
import { link, mkdir, rm, copyFile } from 'node:fs/promises';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { fetchTask, hubEnv, resolveTaskRoot, verifyTask } from '../datasets/hub.ts';
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

const fetchCommand: CommandModule<Common, Common & { tasks: string[]; root?: string }> = {
  command: 'fetch <tasks..>',
  describe: 'Download the hub files of tasks into the HF cache (resumable, size/sha256-checked)',
  builder: (y) =>
    configDirOption(y)
      .positional('tasks', { type: 'string', array: true, demandOption: true })
      .option('root', { type: 'string', describe: 'Also place the files under DIR (hard links or copies)' }),
  handler: async (argv) => {
    const env = hubEnv();
    for (const name of argv.tasks) {
      const task = await loadTask(name, { configDir: argv.configDir });
      let last = 0;
      const fetched = await fetchTask(task, {
        env,
        onProgress: (p) => {
          const now = Date.now();
          if (now - last < 500 || !process.stderr.isTTY) return;
          last = now;
          const pct = p.total ? ` ${((100 * p.received) / p.total).toFixed(1)}%` : '';
          process.stderr.write(`\r${p.file}: ${(p.received / 2 ** 20).toFixed(1)} MiB${pct}   `);
        },
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      for (const f of fetched.files) {
        process.stdout.write(
          `${name}: ${path.relative(fetched.root, f.path)} ${f.size} bytes${f.sha256 ? ' sha256 ok' : ''}\n`,
        );
        if (argv.root) {
          const dest = path.join(argv.root, path.relative(fetched.root, f.path));
          await mkdir(path.dirname(dest), { recursive: true });
          await rm(dest, { force: true });
          await link(f.path, dest).catch(() => copyFile(f.path, dest));
        }
      }
      process.stdout.write(
        `${name}: root ${argv.root ? path.resolve(argv.root) : fetched.root} (commit ${fetched.commit})\n`,
      );
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
      .option('root', { type: 'string', describe: "Dataset root (default: the task's HF cache snapshot)" })
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
