/** Synthetic datasets in every real format (tests and `npm run demo`): see suite.ts for the layout. */
export {
  DEMO_TASKS_DIR,
  SUITE_COUNTS,
  SUITE_MARKER,
  SYNTHETIC_TASKS,
  SYNTHETIC_TASK_ORIGINS,
  makeSyntheticSuite,
  type SyntheticSize,
  type SyntheticSuite,
  type SyntheticSuiteOptions,
} from './suite.ts';
export type { ExpectedSample, ExpectedTasks } from './expected.ts';
