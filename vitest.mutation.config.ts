import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The test files StrykerJS runs against each mutant (stryker.config.json): the fast unit tests of the
 * core. The slow end-to-end files (training runs, ffmpeg, worker threads, the CLI) stay out of the
 * mutation run; they still run in `npm test`. A mutant they would kill counts as survived here, so
 * the score is a lower bound.
 *
 * MUTATION_TESTS=test/a.test.ts,test/b.test.ts narrows the list for one run (a file group whose
 * covering tests are known, on a loaded machine); fewer test files can only lower the score.
 */
const ALL = [
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
  'test/t1-units.test.ts',
  // the WebGPU kernels (src/ops/*-webgpu.ts, webgpu-*.ts): on a WebGPU adapter (a GPU, or Mesa llvmpipe);
  // elsewhere they skip in their beforeAll and cover nothing (docs/mutation.md, branch t1e)
  'test/gpu-parity.test.ts',
  'test/gpu-kernels.test.ts',
];
// Stryker's vitest runner runs the tests in a worker thread (it sets pool 'threads'), where a write to
// process.env does not reach the process environment that Mesa's EGL reads: src/backend/webgpu.ts's own
// EGL_PLATFORM=surfaceless then has no effect, Dawn finds no OpenGL ES adapter on a machine without a GPU
// (llvmpipe), and every WebGPU test skips — their mutants would all survive. Set here, in the main thread.
process.env.EGL_PLATFORM ??= 'surfaceless';

const only = process.env.MUTATION_TESTS?.split(',').filter((f) => f.length > 0);

const include = only && only.length > 0 ? only : ALL;

/**
 * Test files run in the order listed (vitest's default puts the files that failed last first, then the
 * slower ones): with Stryker's bail (the first failing test ends a mutant's run) a mutant's `killedBy`
 * then names a test of the first listed file that kills it — e.g. MUTATION_TESTS=old.test.ts,new.test.ts
 * tells the mutants the old tests kill from those only the new ones do.
 */
class ListedOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = include.findIndex((p) => f.moduleId.endsWith(p.replace(/^\.\//, '')));
      return i < 0 ? include.length : i;
    };
    return [...files].sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include,
    sequence: { sequencer: ListedOrder },
    setupFiles: ['test/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
    // one worker whose module cache (tfjs, the wasm backend, the sources) outlives each mutant's run:
    // Stryker switches mutants at run time, so re-importing per mutant only costs time
    isolate: false,
  },
});
