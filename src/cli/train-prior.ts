/** npm run train:prior -- --level top|bottom --codes DIR [--preset quick|thesis] [--steps N] [--out DIR] [--resume] */
import { formatBackend, initBackend } from '../backend/index';
import { PRESETS, type PresetName } from '../models/presets';
import { type TrainPriorOptions, trainPrior } from '../train/prior';
import { formatDuration } from '../train/progress';
import { nonNegative, parseCli, runCli, UsageError, TRAIN_RUN_FLAGS } from '../util/cli';

const USAGE = `npm run train:prior -- --level top|bottom --codes DIR [--preset quick|thesis] [--steps N] [--out DIR]
                       [--batch N] [--lr X] [--label-smoothing X] [--label-dropout P] [--seed N]
                       [--checkpoint-every N] [--validate-every N] [--resume] [--backend NAME] [--workers 2]
Trains the Top prior (class → top codes) or the Bottom prior (top → bottom codes) on codes from npm run codes.`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      level: { type: 'string' },
      codes: { type: 'string' },
      preset: { type: 'string', default: 'quick' },
      steps: { type: 'string' },
      out: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      'label-smoothing': { type: 'string' },
      'label-dropout': { type: 'string' },
      seed: { type: 'string' },
      ...TRAIN_RUN_FLAGS,
    },
    USAGE,
  );
  const level = values.level;
  if (level !== 'top' && level !== 'bottom') throw new UsageError(`--level is top or bottom\n\n${USAGE}`);
  if (!values.codes && !values.resume) throw new UsageError(`--codes is required\n\n${USAGE}`);
  if (!PRESETS.includes(values.preset as PresetName)) throw new UsageError(`--preset is one of ${PRESETS.join(', ')}`);
  const backend = await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  process.stderr.write(`backend ${formatBackend(backend)}\n`);
  const opts: TrainPriorOptions = {
    level,
    preset: values.preset as PresetName,
    codes: values.codes ?? '',
    out: values.out ?? `checkpoints/prior-${values.level}-${values.preset}`,
    steps: nonNegative('steps', values.steps),
    batchSize: nonNegative('batch', values.batch),
    learningRate: nonNegative('lr', values.lr, false),
    labelSmoothing: nonNegative('label-smoothing', values['label-smoothing'], false),
    labelDropout: nonNegative('label-dropout', values['label-dropout'], false),
    seed: nonNegative('seed', values.seed),
    checkpointEvery: nonNegative('checkpoint-every', values['checkpoint-every']),
    validateEvery: nonNegative('validate-every', values['validate-every']),
    resume: values.resume ?? false,
    workers: nonNegative('workers', values.workers),
  };
  const r = await trainPrior(opts);
  process.stdout.write(
    `${JSON.stringify({
      level: r.config.level,
      preset: r.config.preset,
      parameters: r.parameters,
      steps: r.step,
      backend: r.backend,
      trainTime: formatDuration(r.trainSeconds),
      checkpoint: r.checkpoint,
      ...r.metrics,
      ...r.validation,
    })}\n`,
  );
}

runCli(main);
