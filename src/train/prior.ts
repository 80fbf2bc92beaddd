/**
 * Train a Top or Bottom prior on extracted codes (rosinality's train_pixelsnail.py stage): the
 * library function behind `npm run train:prior` and the priors notebook.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { assertCanTrain } from '../backend/capabilities';
import { initBackend, type BackendName } from '../backend/index';
import { readCodes, type CodeSet } from '../codes/store';
import { Prior, type PriorConfig } from '../models/prior';
import { priorPreset, PRESETS, type PresetName, type PriorLevel } from '../models/presets';
import { teacherForcedLoss } from '../metrics/perplexity';
import { InputError } from '../util/errors';
import { findCheckpoint, loadCheckpoint, restoreParams, type LoadedCheckpoint } from './checkpoint';
import { RunFolderError } from './errors';
import { refuseForeignMetrics, refuseResumeConflicts } from './run-folder';
import { shareSizes } from './parallel';
import { priorStep } from './replica';
import { runLoopOptions, trainLoop, type LoopResult, type RunOptions, type TrainTask } from './loop';
import { assertPriorGradients } from './parity';
import { EpochSampler } from './sampler';

export interface TrainPriorOptions extends RunOptions {
  level: PriorLevel;
  preset: PresetName;
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
  backend?: BackendName | 'auto';
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
  if (!set.top) throw new InputError(set.meta.codec.checkpoint, 'bad-argument', 'these codes come from a single-level codec; the Top/Bottom priors need top and bottom codes');
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

export async function trainPrior(o: TrainPriorOptions): Promise<TrainPriorResult> {
  const backend = await initBackend(o.backend ? { backend: o.backend } : {});
  assertCanTrain(['matmul', 'embedding', 'softmax', 'layer-norm', 'elementwise', 'adam'], `The ${o.level} prior`);
  if (!o.skipParityCheck && backend.name !== 'cpu') await assertPriorGradients();
  if (o.preset !== undefined && !PRESETS.includes(o.preset)) throw new InputError(o.out, 'bad-argument', `unknown preset ${o.preset}`);
  const out = path.resolve(o.out);
  const existing = await findCheckpoint(out);
  let resume: LoadedCheckpoint<PriorConfig> | null = null;
  if (o.resume) {
    if (!existing) throw new RunFolderError(out, 'nothing to resume: no checkpoint in this folder');
    resume = await loadCheckpoint<PriorConfig>(out, 'prior');
    const was = resume.meta.train as Partial<Record<'batchSize' | 'learningRate' | 'seed' | 'labelSmoothing' | 'labelDropout', unknown>>;
    refuseResumeConflicts(out, [
      ['--level', o.level, resume.meta.model.level],
      ['--preset', o.preset, resume.meta.model.preset],
      ['--codes', o.codes || undefined, resume.meta.data?.spec],
      ['--batch', o.batchSize, was.batchSize],
      ['--lr', o.learningRate, was.learningRate],
      ['--label-smoothing', o.labelSmoothing, was.labelSmoothing],
      ['--label-dropout', o.labelDropout, was.labelDropout],
      ['--seed', o.seed, was.seed],
    ]);
  } else if (existing) {
    throw new RunFolderError(out, 'already holds a training run; pass --resume to continue it or choose another --out (nothing was overwritten)');
  } else await refuseForeignMetrics(out);
  const set = await readCodes(resume ? String((resume.meta.data as { spec: string }).spec) : o.codes);
  const preset = priorPreset(o.level, (o.preset ?? resume?.meta.model.preset ?? 'quick') as PresetName, {
    codes: set.meta.codec.codebookSize,
    topLength: set.meta.lengths.top ?? 0,
    bottomLength: set.meta.lengths.bottom,
    classes: set.meta.dataset.classes.length,
  }, o.seed ?? 0);
  const config = resume ? resume.meta.model : preset.model;
  const t = resume
    ? (resume.meta.train as unknown as typeof preset.train & { steps: number; seed: number })
    : {
        ...preset.train,
        steps: o.steps ?? preset.train.steps,
        batchSize: o.batchSize ?? preset.train.batchSize,
        learningRate: o.learningRate ?? preset.train.learningRate,
        labelSmoothing: o.labelSmoothing ?? preset.train.labelSmoothing,
        labelDropout: o.level === 'top' ? (o.labelDropout ?? preset.train.labelDropout) : 0,
        seed: o.seed ?? 0,
      };
  const steps = o.steps ?? t.steps;
  const prior = new Prior(config);
  if (resume) restoreParams(prior.params, resume.weights, resume.dir);
  const train = priorRows(set, config.level, 'train', prior.vocab);
  const val = priorRows(set, config.level, 'val', prior.vocab);
  if (train.sources.length < t.batchSize) {
    prior.dispose();
    throw new InputError(path.resolve(o.codes), 'bad-dataset', `has ${train.sources.length} training clip(s), fewer than the batch size ${t.batchSize}`);
  }
  const sampler = new EpochSampler(train.sources.length);
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
      const idx = Array.from({ length: t.batchSize }, () => sampler.next(rng));
      const src = new Int32Array(t.batchSize * S);
      const tgt = new Int32Array(t.batchSize * T);
      idx.forEach((k, i) => {
        let s = train.sources[k] as Int32Array;
        // classifier-free guidance: sometimes train the Top prior without its class
        if (config.level === 'top' && t.labelDropout > 0 && rng.uniform() < t.labelDropout) s = Int32Array.of(prior.vocab.none);
        src.set(s, i * S);
        tgt.set(train.targets[k] as Int32Array, i * T);
      });
      return { src: tf.tensor2d(src, [t.batchSize, S], 'int32'), tgt: tf.tensor2d(tgt, [t.batchSize, T], 'int32'), dropoutSeed: rng.int(2 ** 31 - 1) };
    },
    forward: (b) => priorStep(prior, b.src, b.tgt, t.labelSmoothing, b.dropoutSeed),
    disposeBatch: (b) => tf.dispose([b.src, b.tgt]),
    afterStep: () => ({ epoch: sampler.epoch }),
    validate: (): Record<string, number> => {
      if (val.sources.length === 0) return {};
      const loss = teacherForcedLoss(prior, val.sources, val.targets, t.batchSize);
      return { loss, perplexity: Math.exp(loss) };
    },
    samplerState: () => sampler.get(),
    restoreSampler: (s) => sampler.set(s),
    parallel: {
      replica: { kind: 'prior', config, labelSmoothing: t.labelSmoothing },
      // Each share draws its own dropout masks (seed + share index).
      split: (b, parts) => {
        const sizes = shareSizes(b.src.shape[0], parts);
        const src = tf.split(b.src, sizes, 0) as tf.Tensor2D[];
        const tgt = tf.split(b.tgt, sizes, 0) as tf.Tensor2D[];
        return {
          local: { src: src[0] as tf.Tensor2D, tgt: tgt[0] as tf.Tensor2D, dropoutSeed: b.dropoutSeed },
          localSize: sizes[0] as number,
          remote: sizes.slice(1).map((size, i) => ({ tensors: [src[i + 1] as tf.Tensor2D, tgt[i + 1] as tf.Tensor2D], size, seed: b.dropoutSeed + i + 1 })),
        };
      },
    },
  };
  try {
    const result = await trainLoop(task, {
      out,
      steps,
      schedule: { kind: 'cosine', peak: t.learningRate, warmupSteps: t.warmupSteps, totalSteps: t.steps, floor: 0.1 },
      clipNorm: t.clipNorm,
      seed: t.seed,
      ...runLoopOptions(o, steps),
      label: `prior-${config.level}/${config.preset}`,
      resume,
      meta: {
        kind: 'prior',
        model: config,
        train: { ...t, steps: t.steps },
        data: { spec: resume ? String((resume.meta.data as { spec: string }).spec) : path.resolve(o.codes), layout: 'codes', train: [], val: [] },
      },
    });
    return { ...result, config, parameters: prior.params.count(), backend: backend.name, out };
  } finally {
    prior.dispose();
  }
}
