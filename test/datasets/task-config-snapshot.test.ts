import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_TASKS_DIR } from '../../src/datasets/synthetic/suite.ts';
import { CONFIGS_DIR, listTasks, TASKS_DIR } from '../../src/datasets/task-config.ts';

// Every task config as the loader resolves it, key order included (prompt hashes and run manifests serialise
// these objects). Refactors of the YAMLs (shared family bases, new defaults) must leave this file unchanged;
// a deliberate config change updates it with `npx vitest run -u` and shows up in review.
describe.each([
  { folder: 'configs/tasks', dir: TASKS_DIR, snapshot: 'task-configs.snap' },
  { folder: 'configs/demo/tasks', dir: DEMO_TASKS_DIR, snapshot: 'demo-task-configs.snap' },
])('resolved task configs in $folder', ({ dir, snapshot }) => {
  it('match the committed snapshot', async () => {
    const tasks = (await listTasks({ configDir: dir })).map((t) => ({
      ...t,
      file: path.relative(CONFIGS_DIR, t.file),
    }));
    await expect(JSON.stringify(tasks, null, 2) + '\n').toMatchFileSnapshot(
      path.join('__snapshots__', snapshot),
    );
  });
});
