/** npm run train:prior -- --level top|bottom --codes DIR [--preset quick|thesis] [--steps N] [--out DIR] [--resume] */
import { formatBackend, initBackend } from '../backend/index';
import { PRESETS, type PresetName } from '../models/presets';
import { trainPrior } from '../train/prior';
import { cleanUpFailedStart } from '../train/run-folder';
import { checkOutput } from '../util/output';
import { formatDuration } from '../train/progress';
import { definedOptions, parseCli, runCli, TRAIN_RUN_FLAGS, trainRunOptions, UsageError } from '../util/cli';
import { explicitFlags, flag } from '../util/flags';

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
  if (values.level !== 'top' && values.level !== 'bottom') throw new UsageError(`--level is top or bottom\n\n${USAGE}`);
  if (!values.codes && !values.resume) throw new UsageError(`--codes is required\n\n${USAGE}`);
  if (!PRESETS.includes(values.preset as PresetName)) throw new UsageError(`--preset is one of ${PRESETS.join(', ')}`);
  const backend = await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  process.stderr.write(`backend ${formatBackend(backend)}\n`);
  // with --resume, only flags given explicitly are compared with the run's own settings (never defaults)
  const given = (name: string) => !values.resume || explicitFlags(process.argv.slice(2)).has(name);
  const opts = {
    level: values.level,
    preset: given('preset') ? (values.preset as PresetName) : undefined,
    codes: values.codes ?? '',
    out: values.out ?? `checkpoints/prior-${values.level}-${values.preset}`,
    steps: flag('steps', values.steps),
    batchSize: flag('batch', values.batch),
    learningRate: flag('lr', values.lr),
    labelSmoothing: flag('label-smoothing', values['label-smoothing']),
    labelDropout: flag('label-dropout', values['label-dropout']),
    seed: flag('seed', values.seed),
    ...trainRunOptions(values),
  };
  await checkOutput(opts.out, { kind: 'dir' });
  const r = await cleanUpFailedStart(opts.out, () => trainPrior(definedOptions(opts) as Parameters<typeof trainPrior>[0]));
  process.stdout.write(
    `${JSON.stringify({ level: r.config.level, preset: r.config.preset, parameters: r.parameters, steps: r.step, backend: r.backend, trainTime: formatDuration(r.trainSeconds), checkpoint: r.checkpoint, ...r.metrics, ...r.validation })}\n`,
  );
}

runCli(main);
