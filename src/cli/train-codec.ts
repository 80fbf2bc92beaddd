/** npm run train:codec -- --model raw-vqvae2|spec-vqvae|spec-vqvae2 --preset thesis|quick --data embedded|DIR --steps N --out checkpoints/NAME */
import { formatBackend, initBackend } from '../backend/index';
import { CODEC_KINDS, PRESETS, type CodecKind, type PresetName } from '../models/presets';
import { trainCodec } from '../train/codec';
import { cleanUpFailedStart } from '../train/run-folder';
import { checkOutput } from '../util/output';
import { formatDuration } from '../train/progress';
import { definedOptions, parseCli, runCli, TRAIN_RUN_FLAGS, trainRunOptions, UsageError } from '../util/cli';
import { explicitFlags, flag } from '../util/flags';

const USAGE = `npm run train:codec -- --model raw-vqvae2|spec-vqvae|spec-vqvae2 [--preset quick|thesis] [--data embedded|DIR]
                       [--steps N] [--out checkpoints/NAME] [--batch N] [--lr X] [--seed N] [--no-augment]
                       [--checkpoint-every N] [--validate-every N] [--resume] [--backend NAME] [--workers 2]
Trains a codec; checkpoints (weights, optimizer, step, RNG, config, data split) go to --out,
metrics per step to --out/metrics.jsonl. --resume continues the run in --out exactly where it stopped.`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      model: { type: 'string', default: 'raw-vqvae2' },
      preset: { type: 'string', default: 'quick' },
      data: { type: 'string', default: 'embedded' },
      steps: { type: 'string' },
      out: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      'no-augment': { type: 'boolean' },
      ...TRAIN_RUN_FLAGS,
    },
    USAGE,
  );
  const kind = values.model as CodecKind;
  const preset = values.preset as PresetName;
  if (!CODEC_KINDS.includes(kind)) throw new UsageError(`unknown --model '${values.model}' (choose ${CODEC_KINDS.join(', ')})\n\n${USAGE}`);
  if (!PRESETS.includes(preset)) throw new UsageError(`unknown --preset '${values.preset}' (choose ${PRESETS.join(', ')})`);
  const lr = flag('lr', values.lr);
  const backend = await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  process.stderr.write(`backend ${formatBackend(backend)}\n`);
  // with --resume, only flags given explicitly are compared with the run's own settings (never defaults)
  const given = (name: string) => !values.resume || explicitFlags(process.argv.slice(2)).has(name);
  const opts = {
    kind: given('model') ? kind : undefined,
    preset: given('preset') ? preset : undefined,
    data: given('data') ? (values.data as string) : undefined,
    out: values.out ?? `checkpoints/${kind}-${preset}`,
    steps: flag('steps', values.steps),
    batchSize: flag('batch', values.batch),
    learningRate: lr,
    seed: flag('seed', values.seed),
    ...trainRunOptions(values),
    augment: values['no-augment'] ? false : undefined,
  };
  await checkOutput(opts.out, { kind: 'dir' });
  const r = await cleanUpFailedStart(opts.out, () => trainCodec(definedOptions(opts) as Parameters<typeof trainCodec>[0]));
  process.stdout.write(
    `${JSON.stringify({ model: r.config.kind, preset: r.config.preset, parameters: r.parameters, steps: r.step, backend: r.backend, trainTime: formatDuration(r.trainSeconds), checkpoint: r.checkpoint, ...r.metrics, ...r.validation })}\n`,
  );
}

runCli(main);
