import { defineConfig } from 'vitest/config';

/**
 * The test files StrykerJS runs against each mutant (stryker.config.json): the fast unit tests of the
 * core. The slow end-to-end files (training runs, ffmpeg, worker threads, the CLI) stay out of the
 * mutation run; they still run in `npm test`. A mutant they would kill counts as survived here, so
 * the score is a lower bound.
 */
export default defineConfig({
  test: {
    include: [
      'test/core-ops.test.ts',
      'test/ops.test.ts',
      'test/units.test.ts',
      'test/metrics.test.ts',
      'test/checkpoint.test.ts',
      'test/prior.test.ts',
      'test/mel.test.ts',
      'test/resample.test.ts',
      'test/mel-flow.test.ts',
      'test/judge.test.ts',
      'test/g1-units.test.ts',
    ],
    setupFiles: ['test/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
