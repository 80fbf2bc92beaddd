/**
 * npm run train:generator -- [--preset quick|quick-data|quick-early|quick-late|tiny] [--data embedded|DIR] [--steps N] [--out DIR] [--resume] [--workers 2]
 * npm run train:generator -- --pair [--data embedded|DIR] [--out DIR] [--workers 2]   (the default generator's two experts, resumable)
 */
import * as path from 'node:path';
import { formatBackend, initBackend } from '../backend/index';
import { MEL_FLOW_PRESETS } from '../models/mel-flow';
import { formatDuration } from '../train/progress';
import { trainMelFlow } from '../train/mel-flow';
import { DEFAULT_PAIR_RECIPE, trainGeneratorPair } from '../train/generator-pair';
import { definedOptions, parseCli, runCli, TRAIN_RUN_FLAGS, trainRunOptions, UsageError } from '../util/cli';
import { flag } from '../util/flags';
import { checkOutput } from '../util/output';
import { cleanUpFailedStart } from '../train/run-folder';

const { early, late } = DEFAULT_PAIR_RECIPE;
const USAGE = `npm run train:generator -- [--preset quick|quick-data|quick-early|quick-late|tiny] [--data embedded|DIR] [--steps N] [--out checkpoints/NAME]
                           [--batch N] [--lr X] [--seed N] [--checkpoint-every N] [--validate-every N]
                           [--resume] [--backend NAME] [--workers 2]
       npm run train:generator -- --pair [--data embedded|DIR] [--out checkpoints/generator-pair] [--seed N] [--backend NAME] [--workers 2]
Trains the class-conditional log-mel flow-matching generator (the default generator of sample and generate)
on event patches of the training recordings of --data. Checkpoints go to --out; --resume continues exactly.
--pair trains both experts of the default generator as shipped: OUT/early (${early.preset}, ${early.scheduleSteps} steps on its schedule,
then to ${early.steps}) and OUT/late (${late.preset}, ${late.steps} steps); run the same command again to continue after an interruption.`;

/** The flags that choose one run's settings: --pair has its recipe instead. */
const SINGLE_RUN_ONLY = ['preset', 'steps', 'batch', 'lr', 'resume'] as const;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      preset: { type: 'string' },
      pair: { type: 'boolean' },
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
  if (values.pair) {
    for (const k of SINGLE_RUN_ONLY)
      if (values[k] !== undefined)
        throw new UsageError(`--${k} does not go with --pair (the pair's recipe sets its presets and steps; rerunning continues it)`);
    await trainPair(values);
    return;
  }
  const preset = values.preset ?? 'quick';
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

async function trainPair(values: { data?: string; out?: string; seed?: string; backend?: string } & Parameters<typeof trainRunOptions>[0]): Promise<void> {
  const seed = flag('seed', values.seed);
  const backend = await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  process.stderr.write(`backend ${formatBackend(backend)}\n`);
  const out = values.out ?? 'checkpoints/generator-pair';
  await checkOutput(out, { kind: 'dir' });
  const { resume: _refusedAbove, ...run } = trainRunOptions(values);
  const stages = await trainGeneratorPair(definedOptions({ data: String(values.data), out, seed, ...run }) as Parameters<typeof trainGeneratorPair>[0]);
  for (const s of stages)
    process.stdout.write(
      `${JSON.stringify({ model: 'mel-flow', expert: s.stage, dir: s.dir, steps: s.step, ...(s.run ? { preset: s.run.config.preset, trainTime: formatDuration(s.run.trainSeconds), ...s.run.metrics, ...s.run.validation } : { trained: 'nothing (done)' }) })}\n`,
    );
  const done = stages.length === 2 && stages.every((s) => s.step >= DEFAULT_PAIR_RECIPE[s.stage].steps);
  process.stderr.write(
    done
      ? `the pair is trained; use it with: npm run generate -- --model ${path.join(out, 'early')} --late-model ${path.join(out, 'late')} --class cat --out cat.wav\n`
      : 'stopped before the end of the recipe; run the same command again to continue\n',
  );
}

runCli(main);
