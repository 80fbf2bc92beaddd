/**
 * Train the log-mel flow-matching generator (src/models/mel-flow.ts) on event patches of a data
 * set's training recordings: the library function behind `npm run train:generator`.
 *
 * Each step: B patches of 128 frames (the loudest of 3 random windows of a recording, random gain
 * −6…0 dB), noise x0 ~ N(0, I), t ~ U(0, 1), the class replaced by the null class with probability
 * `nullRate` (for classifier-free guidance); loss = MSE of the predicted velocity. All randomness
 * comes from the loop's Rng, so a resumed run continues exactly.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { assertCanTrain } from '../backend/capabilities';
import { currentBackend } from '../backend/index';
import { frameEnergy, type Spectrogram } from '../audio/mel';
import { lengthQuantiles } from '../audio/compose';
import { SAMPLE_RATE } from '../audio/constants';
import { loadExamples, splitDataset, type AudioItem } from '../data/dataset';
import { eventPatch, gainPatch, recordingLogMel } from '../data/events';
import { openDataset } from '../data/open';
import { MelFlow, melFlowPreset, silenceValue, type MelFlowConfig } from '../models/mel-flow';
import { Rng } from '../util/rng';
import { restoreParams } from '../checkpoint/checkpoint';
import { DatasetError } from './errors';
import { refuseForeignMetrics, resumeOrRefuse, runSplit, settingsLoopOptions, splitRecord } from './run-folder';
import { runLoopOptions, trainLoop, type LoopResult, type RunOptions, type TrainTask } from './loop';
import { shareSizes } from './parallel';
import { melFlowStep } from './replica';
import { EpochOrder } from './epoch-order';

export interface TrainMelFlowOptions extends RunOptions {
  preset: string;
  /** 'embedded' or a dataset folder. */
  data: string;
  out: string;
  steps?: number;
  batchSize?: number;
  learningRate?: number;
  seed?: number;
  resume?: boolean;
}

export interface TrainMelFlowResult extends LoopResult {
  config: MelFlowConfig;
  parameters: number;
  out: string;
}

interface Prepared {
  spec: Spectrogram;
  energy: Float32Array;
  label: number;
  /** Length of the recording in seconds. */
  seconds: number;
}

/** Model-space log-mel of every recording (computed once; patches are cut from these). */
export async function prepareRecordings(items: readonly AudioItem[], cfg: MelFlowConfig): Promise<Prepared[]> {
  const ex = await loadExamples(items);
  return ex.map((e) => {
    const spec = recordingLogMel(e.audio);
    const energy = frameEnergy(spec);
    const data = spec.data.map((v) => (v - cfg.offset) / cfg.scale);
    return { spec: { ...spec, data }, energy, label: e.label, seconds: e.audio.length / SAMPLE_RATE };
  });
}

/** The batch tensors of one step: [x1, noise, t, label] — also what a gradient worker receives. */
export function melFlowBatch(recs: readonly Prepared[], pick: () => number, rng: Rng, cfg: MelFlowConfig, batch: number): tf.Tensor[] {
  const silence = silenceValue(cfg);
  const n = cfg.frames * cfg.nMels;
  const x1 = new Float32Array(batch * n);
  const noise = new Float32Array(batch * n);
  const t = new Float32Array(batch);
  const label = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    const r = recs[pick()] as Prepared;
    const patch = eventPatch(r.spec, r.energy, rng, { frames: cfg.frames, silence, candidates: cfg.train.candidates });
    x1.set(gainPatch(patch, -cfg.train.gainDb * rng.uniform(), silence, cfg.scale), b * n);
    for (let i = 0; i < n; i++) noise[b * n + i] = rng.normal();
    const time = cfg.train.time;
    const s = time ? 1 / (1 + Math.exp(-(time.mean + time.std * rng.normal()))) : rng.uniform();
    const [lo, hi] = cfg.train.timeRange ?? [0, 1];
    t[b] = lo + (hi - lo) * s;
    label[b] = rng.uniform() < cfg.train.nullRate ? cfg.classes : r.label;
  }
  return [tf.tensor3d(x1, [batch, cfg.frames, cfg.nMels]), tf.tensor3d(noise, [batch, cfg.frames, cfg.nMels]), tf.tensor1d(t), tf.tensor1d(label, 'int32')];
}

/** The clip-length model of one class: quantiles of its training recordings' lengths. */
export function clipLengthsOf(recs: readonly Pick<Prepared, 'label' | 'seconds'>[], label: number): number[] {
  return lengthQuantiles(recs.filter((r) => r.label === label).map((r) => Number(r.seconds.toFixed(3))));
}

export async function trainMelFlow(o: TrainMelFlowOptions): Promise<TrainMelFlowResult> {
  if (!currentBackend()) throw new Error('trainMelFlow: call initBackend() first (the caller chooses the backend)');
  assertCanTrain(['matmul', 'conv1d', 'pad-slice', 'elementwise', 'adam'], 'The mel-flow generator');
  const out = path.resolve(o.out);
  const resume = await resumeOrRefuse<MelFlowConfig>(out, 'mel-flow', o.resume);
  if (!resume) await refuseForeignMetrics(out);
  const base = resume ? resume.meta.model : melFlowPreset(o.preset, o.seed ?? 0);
  const settings: MelFlowConfig = resume
    ? base
    : {
        ...base,
        train: {
          ...base.train,
          ...(o.steps !== undefined ? { steps: o.steps } : {}),
          ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
          ...(o.learningRate !== undefined ? { learningRate: o.learningRate } : {}),
        },
      };
  const tr = settings.train;
  const steps = o.steps ?? tr.steps;

  const ds = await openDataset(resume?.meta.data?.spec ?? o.data);
  if (ds.classes.length < 2)
    throw new DatasetError(ds.root, 'bad-dataset', `needs at least two classes (cat and dog), found ${ds.classes.join(', ') || 'none'}`);
  const { train: trainItems, val: valItems } = runSplit(ds, resume, () => {
    const split = splitDataset(ds, { seed: settings.seed });
    return { train: split.train.filter((i) => i.label < settings.classes), val: split.val.filter((i) => i.label < settings.classes) };
  });
  if (trainItems.length === 0) throw new DatasetError(ds.root, 'bad-dataset', 'has no training recordings');
  const recs = await prepareRecordings(trainItems, settings);
  const valRecs = await prepareRecordings(valItems, settings);
  // the clip-length model comes from the training recordings (a run from before it existed gets it on resume)
  const config: MelFlowConfig = settings.clipLengths
    ? settings
    : { ...settings, clipLengths: Array.from({ length: settings.classes }, (_, c) => clipLengthsOf(recs, c)) };

  const model = new MelFlow(config);
  if (resume) restoreParams(model.params, resume.weights, resume.dir);
  const sampler = new EpochOrder(recs.length);
  // fixed validation batches: the same patches, noise and times every time
  const valBatches: tf.Tensor[][] = [];
  if (valRecs.length > 0) {
    const vr = new Rng(`mel-flow/val/${config.seed}`);
    let k = 0;
    for (let i = 0; i < 4; i++)
      valBatches.push(melFlowBatch(valRecs, () => k++ % valRecs.length, vr, { ...config, train: { ...tr, nullRate: 0 } }, tr.batchSize));
  }

  const task: TrainTask<tf.Tensor[]> = {
    params: model.params,
    nextBatch: (rng) => melFlowBatch(recs, () => sampler.next(rng), rng, config, tr.batchSize),
    forward: (b) => melFlowStep(model, b),
    disposeBatch: (b) => tf.dispose(b),
    validate: (): Record<string, number> => {
      if (valBatches.length === 0) return {};
      let s = 0;
      for (const b of valBatches) s += tf.tidy(() => melFlowStep(model, b).loss.dataSync()[0] as number);
      return { loss: s / valBatches.length };
    },
    samplerState: () => sampler.get(),
    restoreSampler: (s) => sampler.set(s),
    parallel: {
      replica: { kind: 'mel-flow', config },
      split: (b, parts) => {
        const sizes = shareSizes((b[0] as tf.Tensor).shape[0] as number, parts);
        const pieces = b.map((x) => tf.split(x, sizes, 0));
        const share = (j: number) => pieces.map((p) => p[j] as tf.Tensor);
        return { local: share(0), localSize: sizes[0] as number, remote: sizes.slice(1).map((size, j) => ({ tensors: share(j + 1), size, seed: null })) };
      },
    },
  };

  await fsp.mkdir(out, { recursive: true });
  try {
    const result = await trainLoop(task, {
      out,
      steps,
      ...settingsLoopOptions({ ...tr, seed: config.seed }),
      adam: { weightDecay: tr.weightDecay },
      ...runLoopOptions(o, steps),
      label: `mel-flow/${config.preset}`,
      resume,
      meta: {
        kind: 'mel-flow',
        model: config,
        train: { ...tr },
        data: splitRecord(resume?.meta.data?.spec ?? o.data, ds, { train: trainItems, val: valItems }),
      },
    });
    return { ...result, config, parameters: model.params.count(), out };
  } finally {
    tf.dispose(valBatches.flat());
    model.dispose();
  }
}
