import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // 2-core CI machine: two forks keep ORT sessions from fighting over cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
