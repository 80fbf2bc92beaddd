/**
 * npm run study [-- --only 03] [--data embedded|DIR] [--images DIR] [--preset quick|thesis] [--small] [--out figures]
 *
 * The main job: runs the study notebooks (notebooks/NN-*.ipynb) headless on the tslab kernel, in
 * order, streaming their output; writes the executed notebooks to <out>/notebooks/, the figures to
 * <out>/ and the regenerated thesis tables to <out>/tables.md. A failing cell stops the run with its
 * error text (the executed notebook is still written).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { parseCli, runCli, UsageError } from '../util/cli';
import { projectRoot } from '../util/project';
import { formatDuration } from '../train/progress';
import { NotebookError, runNotebook } from '../study/runner';

const USAGE = `npm run study -- [--only NN[,NN]] [--data embedded|DIR] [--images DIR] [--preset quick|thesis] [--small] [--out DIR]`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      only: { type: 'string' },
      data: { type: 'string' },
      images: { type: 'string' },
      preset: { type: 'string' },
      small: { type: 'boolean' },
      out: { type: 'string' },
    },
    USAGE,
  );
  if (values.preset && values.preset !== 'quick' && values.preset !== 'thesis') throw new UsageError(`--preset is quick or thesis\n\n${USAGE}`);
  const root = projectRoot();
  const out = path.resolve(values.out ?? path.join(root, 'figures'));
  // settings reach the notebooks' kernels through the environment (see src/study/config.ts)
  if (values.data) process.env.SOUNDTRACK_STUDY_DATA = values.data === 'embedded' ? 'embedded' : path.resolve(values.data);
  if (values.images) process.env.SOUNDTRACK_STUDY_IMAGES = path.resolve(values.images);
  if (values.preset) process.env.SOUNDTRACK_STUDY_PRESET = values.preset;
  if (values.small) process.env.SOUNDTRACK_STUDY_SMALL = '1';
  process.env.SOUNDTRACK_STUDY_OUT = out;
  const all = (await fsp.readdir(path.join(root, 'notebooks'))).filter((n) => /^\d\d-.*\.ipynb$/.test(n)).sort();
  const only = values.only ? values.only.split(',').map((s) => s.trim().padStart(2, '0')) : null;
  const chosen = only ? all.filter((n) => only.includes(n.slice(0, 2))) : all;
  if (chosen.length === 0) throw new UsageError(`no notebook matches --only ${values.only} (have ${all.join(', ')})`);
  const t0 = performance.now();
  for (const name of chosen) {
    process.stderr.write(`\n=== ${name} ===\n`);
    try {
      const r = await runNotebook(path.join(root, 'notebooks', name), { out: path.join(out, 'notebooks', name), log: (s) => process.stderr.write(s) });
      process.stderr.write(`=== ${name}: ${r.cells} cells in ${formatDuration(r.seconds)} → ${path.relative(process.cwd(), r.out)}\n`);
    } catch (e) {
      if (e instanceof NotebookError) {
        process.stderr.write(
          `error: ${e.message}\n(executed notebook with the outputs so far: ${path.relative(process.cwd(), path.join(out, 'notebooks', name))})\n`,
        );
        process.exit(1);
      }
      throw e;
    }
  }
  process.stdout.write(
    `study: ${chosen.length} notebook(s) in ${formatDuration((performance.now() - t0) / 1000)}; figures and tables in ${path.relative(process.cwd(), out) || '.'}/ (tables.md)\n`,
  );
}

runCli(main);
