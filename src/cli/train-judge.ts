/** npm run train:judge -- [--data embedded|DIR] [--steps N] [--out DIR] [--resume] */
import { formatBackend, initBackend } from '../backend/index';
import { formatDuration } from '../train/progress';
import { trainSoundClassifier } from '../train/sound-classifier';
import { definedOptions, parseCli, runCli, TRAIN_RUN_FLAGS, trainRunOptions, UsageError } from '../util/cli';
import { flag } from '../util/flags';
import { checkOutput } from '../util/output';
import { cleanUpFailedStart } from '../train/run-folder';

const USAGE = `npm run train:judge -- [--data embedded|DIR] [--steps N] [--out checkpoints/NAME] [--seed N]
                       [--checkpoint-every N] [--validate-every N] [--resume] [--backend NAME]
Trains the 3-way sound classifier (cat / dog / neither) that eval:codec and eval:generation use, on the
training split of --data only, with synthetic and recording-shaped "neither" sounds.`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      data: { type: 'string', default: 'embedded' },
      steps: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      ...TRAIN_RUN_FLAGS,
    },
    USAGE,
  );
  const run = trainRunOptions(values);
  if ((run.workers ?? 1) > 1) throw new UsageError('--workers: the judge trains on one thread (it has no data-parallel training)');
  const backend = await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  process.stderr.write(`backend ${formatBackend(backend)}\n`);
  const opts = {
    data: String(values.data),
    out: values.out ?? 'checkpoints/judge',
    steps: flag('steps', values.steps),
    seed: flag('seed', values.seed),
    ...run,
  };
  await checkOutput(opts.out, { kind: 'dir' });
  const r = await cleanUpFailedStart(opts.out, () => trainSoundClassifier(definedOptions(opts) as Parameters<typeof trainSoundClassifier>[0]));
  process.stdout.write(
    `${JSON.stringify({ model: 'sound-classifier', steps: r.step, backend: backend.name, trainTime: formatDuration(r.trainSeconds), checkpoint: r.checkpoint, ...r.metrics, ...r.validation })}\n`,
  );
}

runCli(main);
