/** npm run eval:prior -- --prior DIR --codes DIR [--samples 4] [--top-k 6] [--json] — held-out and own-sample perplexity. */
import { initBackend } from '../backend/index';
import { readCodes } from '../codes/store';
import { perplexityReport } from '../metrics/perplexity';
import { loadPrior } from '../checkpoint/models';
import { priorRows } from '../train/prior';
import { parseCli, runCli, UsageError } from '../util/cli';
import { flag, seedFlag } from '../util/flags';

const USAGE = `npm run eval:prior -- --prior DIR --codes DIR [--split val|train] [--samples 4] [--top-k 6] [--seed 0] [--json] [--backend NAME]`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      prior: { type: 'string' },
      codes: { type: 'string' },
      split: { type: 'string', default: 'val' },
      samples: { type: 'string', default: '4' },
      'top-k': { type: 'string', default: '6' },
      seed: { type: 'string', default: '0' },
      json: { type: 'boolean' },
      backend: { type: 'string' },
    },
    USAGE,
  );
  if (!values.prior || !values.codes) throw new UsageError(`--prior and --codes are required\n\n${USAGE}`);
  if (values.split !== 'val' && values.split !== 'train') throw new UsageError('--split is val or train');
  const samples = flag('samples', values.samples) as number;
  const topK = flag('top-k', values['top-k']) as number;
  const seed = seedFlag(values.seed) as string;
  await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  const { prior, dir, step, config } = await loadPrior(values.prior);
  try {
    const set = await readCodes(values.codes);
    const rows = priorRows(set, config.level, values.split, prior.vocab);
    if (rows.sources.length === 0) throw new UsageError(`${values.codes} has no ${values.split} clips`);
    const r = perplexityReport(prior, rows, { samples, sampling: { topK, seed } });
    const out = { prior: dir, level: config.level, preset: config.preset, step, codes: values.codes, split: values.split, ...r };
    if (values.json) process.stdout.write(`${JSON.stringify(out)}\n`);
    else {
      process.stdout.write(
        `${config.level} prior (${config.preset}) at step ${step} — ${dir}\n` +
          `held-out (${values.split}, ${r.heldOut} clips): teacher-forced perplexity ${r.teacherForced.toFixed(2)} (${r.heldOutLoss.toFixed(3)} nats/code)\n` +
          `own samples (${r.samples}, top-k ${r.sampling.topK}): perplexity ${r.ownSamples.toFixed(2)} (the thesis' measure)\n`,
      );
    }
  } finally {
    prior.dispose();
  }
}

runCli(main);
