/** npm run train:generator -- [--preset quick|quick-data|quick-early|quick-late|tiny] [--data embedded|DIR] [--steps N] [--out DIR] [--resume] [--workers 2] */
import { formatBackend, initBackend } from '../backend/index';
import { MEL_FLOW_PRESETS } from '../models/mel-flow';
import { formatDuration } from '../train/progress';
import { trainMelFlow } from '../train/mel-flow';
import { definedOptions, parseCli, runCli, TRAIN_RUN_FLAGS, trainRunOptions, UsageError } from '../util/cli';
import { flag } from '../util/flags';
import { checkOutput } from '../util/output';
import { cleanUpFailedStart } from '../train/run-folder';

const USAGE = `npm run train:generator -- [--preset quick|quick-data|quick-early|quick-late|tiny] [--data embedded|DIR] [--steps N] [--out checkpoints/NAME]
                           [--batch N] [--lr X] [--seed N] [--checkpoint-every N] [--validate-every N]
                           [--resume] [--backend NAME] [--workers 2]
Trains the class-conditional log-mel flow-matching generator (the default generator of sample and generate)
on event patches of the training recordings of --data. Checkpoints go to --out; --resume continues exactly.`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      preset: { type: 'string', default: 'quick' },
      data: { type: 'string', default: 'embedded' },
      steps: { type: 'string' },
      out: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      ...TRAIN_RUN_FLAGS,
    },
    USAGE,
  );
  const preset = String(values.preset);
  if (!(preset in MEL_FLOW_PRESETS)) throw new UsageError(`unknown --preset '${preset}' (choose ${Object.keys(MEL_FLOW_PRESETS).join(', ')})`);
  const lr = flag('lr', values.lr);
  const backend = await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  process.stderr.write(`backend ${formatBackend(backend)}\n`);
  const opts = {
    preset,
    data: String(values.data),
    out: values.out ?? `checkpoints/generator-${preset}`,
    steps: flag('steps', values.steps),
    batchSize: flag('batch', values.batch),
    learningRate: lr,
    seed: flag('seed', values.seed),
    ...trainRunOptions(values),
  };
  await checkOutput(opts.out, { kind: 'dir' });
  const r = await cleanUpFailedStart(opts.out, () => trainMelFlow(definedOptions(opts) as Parameters<typeof trainMelFlow>[0]));
  process.stdout.write(
    `${JSON.stringify({ model: 'mel-flow', preset: r.config.preset, parameters: r.parameters, steps: r.step, backend: backend.name, trainTime: formatDuration(r.trainSeconds), checkpoint: r.checkpoint, ...r.metrics, ...r.validation })}\n`,
  );
}

runCli(main);
