/**
 * Train a Top or Bottom prior on extracted codes (rosinality's train_pixelsnail.py stage): the
 * library function behind `npm run train:prior` and the priors notebook.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { assertCanTrain } from '../backend/capabilities';
import { activeBackend } from '../backend/index';
import { readCodes, type CodeSet } from '../codes/store';
import { Prior, type PriorConfig } from '../models/prior';
import { priorPreset, PRESETS, type PresetName, type PriorLevel } from '../models/presets';
import { teacherForcedLoss } from '../metrics/perplexity';
import { InputError } from '../util/errors';
import { restoreParams } from '../checkpoint/checkpoint';
import { refuseForeignMetrics, refuseResumeConflicts } from './run-folder';
import { shareSizes } from './parallel';
import { priorStep } from './replica';
import { runLoopOptions, trainLoop, type LoopResult, type RunOptions, type TrainTask } from './loop';
import { assertPriorGradients } from './parity';
import { resumeOrRefuse, settingsLoopOptions, trainSettings } from './run-folder';
import { EpochOrder } from './epoch-order';

export interface TrainPriorOptions extends RunOptions {
  level: PriorLevel;
  /** Default 'quick' (on --resume: the run's). */
  preset?: PresetName;
  /** Folder written by `npm run codes`. */
  codes: string;
  out: string;
  steps?: number;
  batchSize?: number;
  learningRate?: number;
  labelSmoothing?: number;
  labelDropout?: number;
  seed?: number;
  resume?: boolean;
  /** Skip the gradient-parity check (tests on cpu). */
  skipParityCheck?: boolean;
}

export interface TrainPriorResult extends LoopResult {
  config: PriorConfig;
  parameters: number;
  backend: string;
  out: string;
}

interface Rows {
  sources: Int32Array[];
  targets: Int32Array[];
  labels: number[];
}

/** Source/target rows of a level from a code set, for one split. */
export function priorRows(set: CodeSet, level: PriorLevel, split: 'train' | 'val', vocab: { classToken(c: number): number }): Rows {
  if (!set.top)
    throw new InputError(
      set.meta.codec.checkpoint,
      'bad-argument',
      'these codes come from a single-level codec; the Top/Bottom priors need top and bottom codes',
    );
  const rows: Rows = { sources: [], targets: [], labels: [] };
  set.meta.clips.forEach((c, i) => {
    if (c.split !== split) return;
    const top = Int32Array.from(set.top![i] as Uint16Array);
    const bottom = Int32Array.from(set.bottom[i] as Uint16Array);
    rows.sources.push(level === 'top' ? Int32Array.of(vocab.classToken(c.label)) : top);
    rows.targets.push(level === 'top' ? top : bottom);
    rows.labels.push(c.label);
  });
  return rows;
}

export async function trainPrior(options: TrainPriorOptions): Promise<TrainPriorResult> {
  const backend = activeBackend();
  assertCanTrain(['matmul', 'embedding', 'softmax', 'layer-norm', 'elementwise', 'adam'], `The ${options.level} prior`);
  if (!options.skipParityCheck && backend.name !== 'cpu') await assertPriorGradients();
  if (options.preset !== undefined && !PRESETS.includes(options.preset)) throw new InputError(options.out, 'bad-argument', `unknown preset ${options.preset}`);
  const out = path.resolve(options.out);
  const resume = await resumeOrRefuse<PriorConfig>(out, 'prior', options.resume);
  if (resume) {
    const was = resume.meta.train as Partial<Record<'batchSize' | 'learningRate' | 'seed' | 'labelSmoothing' | 'labelDropout', unknown>>;
    refuseResumeConflicts(out, [
      ['--level', options.level, resume.meta.model.level],
      ['--preset', options.preset, resume.meta.model.preset],
      ['--codes', options.codes || undefined, resume.meta.data?.spec],
      ['--batch', options.batchSize, was.batchSize],
      ['--lr', options.learningRate, was.learningRate],
      ['--label-smoothing', options.labelSmoothing, was.labelSmoothing],
      ['--label-dropout', options.labelDropout, was.labelDropout],
      ['--seed', options.seed, was.seed],
    ]);
  } else await refuseForeignMetrics(out);
  const codesSpec = resume ? String(resume.meta.data?.spec) : options.codes;
  const set = await readCodes(codesSpec);
  const shape = {
    codes: set.meta.codec.codebookSize,
    topLength: set.meta.lengths.top ?? 0,
    bottomLength: set.meta.lengths.bottom,
    classes: set.meta.dataset.classes.length,
  };
  const preset = priorPreset(options.level, (options.preset ?? resume?.meta.model.preset ?? 'quick') as PresetName, shape, options.seed ?? 0);
  const config = resume ? resume.meta.model : preset.model;
  const settings = trainSettings(
    resume,
    { ...preset.train, seed: 0 },
    {
      steps: options.steps,
      batchSize: options.batchSize,
      learningRate: options.learningRate,
      labelSmoothing: options.labelSmoothing,
      labelDropout: options.level === 'top' ? options.labelDropout : 0,
      seed: options.seed,
    },
  );
  const runSteps = options.steps ?? settings.steps;
  const prior = new Prior(config);
  if (resume) restoreParams(prior.params, resume.weights, resume.dir);
  const train = priorRows(set, config.level, 'train', prior.vocab);
  const val = priorRows(set, config.level, 'val', prior.vocab);
  if (train.sources.length < settings.batchSize) {
    prior.dispose();
    throw new InputError(
      path.resolve(options.codes),
      'bad-dataset',
      `has ${train.sources.length} training clip(s), fewer than the batch size ${settings.batchSize}`,
    );
  }
  const order = new EpochOrder(train.sources.length);
  const S = config.sourceLength;
  const T = config.targetLength;
  interface Batch {
    src: tf.Tensor2D;
    tgt: tf.Tensor2D;
    dropoutSeed: number;
  }
  const task: TrainTask<Batch> = {
    params: prior.params,
    nextBatch: (rng) => {
      const idx = Array.from({ length: settings.batchSize }, () => order.next(rng));
      const src = new Int32Array(settings.batchSize * S);
      const tgt = new Int32Array(settings.batchSize * T);
      idx.forEach((k, i) => {
        let s = train.sources[k] as Int32Array;
        // classifier-free guidance: sometimes train the Top prior without its class
        if (config.level === 'top' && settings.labelDropout > 0 && rng.uniform() < settings.labelDropout) s = Int32Array.of(prior.vocab.none);
        src.set(s, i * S);
        tgt.set(train.targets[k] as Int32Array, i * T);
      });
      return {
        src: tf.tensor2d(src, [settings.batchSize, S], 'int32'),
        tgt: tf.tensor2d(tgt, [settings.batchSize, T], 'int32'),
        dropoutSeed: rng.int(2 ** 31 - 1),
      };
    },
    forward: (b) => priorStep(prior, b.src, b.tgt, settings.labelSmoothing, b.dropoutSeed),
    disposeBatch: (b) => tf.dispose([b.src, b.tgt]),
    afterStep: () => ({ epoch: order.epoch }),
    validate: (): Record<string, number> => {
      if (val.sources.length === 0) return {};
      const loss = teacherForcedLoss(prior, val.sources, val.targets, settings.batchSize);
      return { loss, perplexity: Math.exp(loss) };
    },
    samplerState: () => order.get(),
    restoreSampler: (s) => order.set(s),
    parallel: {
      replica: { kind: 'prior', config, labelSmoothing: settings.labelSmoothing },
      // Each share draws its own dropout masks (seed + share index).
      split: (b, parts) => {
        const sizes = shareSizes(b.src.shape[0], parts);
        const src = tf.split(b.src, sizes, 0) as tf.Tensor2D[];
        const tgt = tf.split(b.tgt, sizes, 0) as tf.Tensor2D[];
        return {
          local: { src: src[0] as tf.Tensor2D, tgt: tgt[0] as tf.Tensor2D, dropoutSeed: b.dropoutSeed },
          localSize: sizes[0],
          remote: sizes.slice(1).map((size, i) => ({ tensors: [src[i + 1] as tf.Tensor2D, tgt[i + 1] as tf.Tensor2D], size, seed: b.dropoutSeed + i + 1 })),
        };
      },
    },
  };
  try {
    const result = await trainLoop(task, {
      out,
      steps: runSteps,
      ...settingsLoopOptions(settings),
      ...runLoopOptions(options, runSteps),
      label: `prior-${config.level}/${config.preset}`,
      resume,
      meta: {
        kind: 'prior',
        model: config,
        train: settings,
        data: { spec: resume ? codesSpec : path.resolve(options.codes), layout: 'codes', train: [], val: [] },
      },
    });
    return { ...result, config, parameters: prior.params.count(), backend: backend.name, out };
  } finally {
    prior.dispose();
  }
}
