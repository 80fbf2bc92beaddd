/**
 * Train a codec (raw-audio VQ-VAE-2, spectrogram VQ-VAE or VQ-VAE-2) on a dataset: the library
 * function behind `npm run train:codec` and the codec notebook.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { assertCanTrain } from '../backend/capabilities';
import { initBackend, type BackendName } from '../backend/index';
import { DEFAULT_AUGMENT } from '../data/augment';
import { evaluationClips, trainingClip } from '../data/batches';
import { loadExamples, splitDataset, type AudioItem } from '../data/dataset';
import { openDataset } from '../data/open';
import { Codec } from '../models/codec';
import { codeStats } from '../models/codebook';
import { codecPreset, type CodecConfig, type CodecKind, type PresetName } from '../models/presets';
import { DatasetError, RunFolderError } from './errors';
import { refuseForeignMetrics, refuseResumeConflicts } from './run-folder';
import { findCheckpoint, loadCheckpoint, restoreParams, type LoadedCheckpoint } from './checkpoint';
import { runLoopOptions, trainLoop, type LoopResult, type RunOptions, type TrainTask } from './loop';
import { shareSizes } from './parallel';
import { codecStep } from './replica';
import { EpochSampler } from './sampler';

export interface TrainCodecOptions extends RunOptions {
  kind: CodecKind;
  preset: PresetName;
  /** 'embedded' or a dataset folder. */
  data: string;
  out: string;
  steps?: number;
  batchSize?: number;
  learningRate?: number;
  seed?: number;
  /** Continue the run in `out`. */
  resume?: boolean;
  augment?: boolean;
  valFraction?: number;
  backend?: BackendName | 'auto';
}

export interface TrainCodecResult extends LoopResult {
  config: CodecConfig;
  parameters: number;
  backend: string;
  out: string;
}

export async function trainCodec(o: TrainCodecOptions): Promise<TrainCodecResult> {
  const backend = await initBackend(o.backend ? { backend: o.backend } : {});
  assertCanTrain(['matmul', 'conv1d', 'conv1d-transpose', 'pad-slice', 'elementwise', 'adam', 'codebook-search', 'segment-sum'], `The ${o.kind} codec`);
  const out = path.resolve(o.out);
  let resume: LoadedCheckpoint<CodecConfig> | null = null;
  const existing = await findCheckpoint(out);
  if (o.resume) {
    if (!existing) throw new RunFolderError(out, 'nothing to resume: no checkpoint in this folder');
    resume = await loadCheckpoint<CodecConfig>(out, 'codec');
    const was = resume.meta.train as Partial<Record<'batchSize' | 'learningRate' | 'seed' | 'augment', unknown>>;
    refuseResumeConflicts(out, [
      ['--model', o.kind, resume.meta.model.kind],
      ['--preset', o.preset, resume.meta.model.preset],
      ['--data', o.data, resume.meta.data?.spec],
      ['--batch', o.batchSize, was.batchSize],
      ['--lr', o.learningRate, was.learningRate],
      ['--seed', o.seed, was.seed],
      ['--no-augment', o.augment === false ? false : undefined, was.augment],
    ]);
  } else if (existing) {
    throw new RunFolderError(out, 'already holds a training run; pass --resume to continue it or choose another --out (nothing was overwritten)');
  } else await refuseForeignMetrics(out);
  const config = resume ? resume.meta.model : codecPreset(o.kind, o.preset, o.seed ?? 0);
  const trainOpts = resume
    ? (resume.meta.train as Required<Pick<TrainCodecOptions, 'batchSize' | 'learningRate' | 'seed' | 'augment' | 'valFraction'>> & { steps: number; warmupSteps: number; clipNorm: number })
    : {
        steps: o.steps ?? config.train.steps,
        batchSize: o.batchSize ?? config.train.batchSize,
        learningRate: o.learningRate ?? config.train.learningRate,
        warmupSteps: config.train.warmupSteps,
        clipNorm: config.train.clipNorm,
        seed: o.seed ?? 0,
        augment: o.augment ?? config.preset === 'quick',
        valFraction: o.valFraction ?? 0.2,
      };
  const steps = o.steps ?? trainOpts.steps;

  // Data: the same split on resume (by id), checked against the dataset.
  const ds = await openDataset(resume?.meta.data?.spec ?? o.data);
  let trainItems: AudioItem[];
  let valItems: AudioItem[];
  if (resume?.meta.data) {
    const byId = new Map(ds.items.map((i) => [i.id, i]));
    const pick = (ids: string[]) =>
      ids.map((id) => {
        const it = byId.get(id);
        if (!it) throw new DatasetError(ds.root, 'bad-dataset', `the checkpoint's data split lists '${id}', which this dataset does not have`);
        return it;
      });
    trainItems = pick(resume.meta.data.train);
    valItems = pick(resume.meta.data.val);
  } else {
    const split = splitDataset(ds, { seed: trainOpts.seed, valFraction: trainOpts.valFraction });
    trainItems = split.train;
    valItems = split.val;
  }
  if (trainItems.length < trainOpts.batchSize) {
    throw new DatasetError(ds.root, 'bad-dataset', `has ${trainItems.length} training recording(s), fewer than the batch size ${trainOpts.batchSize}; lower --batch or add data`);
  }
  const trainAudio = (await loadExamples(trainItems)).map((e) => e.audio);
  const valAudio = (await loadExamples(valItems)).map((e) => e.audio);
  const negatives = (await loadExamples(ds.negatives)).map((e) => e.audio);
  const valClips = valAudio.flatMap((a) => evaluationClips(a, { length: config.clipSamples }));

  const codec = new Codec(config);
  if (resume) restoreParams(codec.params, resume.weights, resume.dir);
  const sampler = new EpochSampler(trainAudio.length);
  const augment = trainOpts.augment ? DEFAULT_AUGMENT : null;
  const levels = codec.model.codebooks();

  const task: TrainTask<tf.Tensor3D> = {
    params: codec.params,
    nextBatch: (rng) => {
      const clips = Array.from({ length: trainOpts.batchSize }, () =>
        trainingClip(trainAudio[sampler.next(rng)] as Float32Array, rng, { length: config.clipSamples, augment, negatives }),
      );
      return codec.toInput(clips);
    },
    forward: (x) => codecStep(codec, x),
    disposeBatch: (x) => x.dispose(),
    afterStep: async (kept, rng) => {
      const m: Record<string, number> = {};
      for (let i = 0; i < levels.length; i++) {
        const cb = levels[i]!;
        const codes = kept[2 * i] as tf.Tensor2D;
        const flat = kept[2 * i + 1] as tf.Tensor2D;
        const level = cb === codec.model.top ? 'top' : 'bottom';
        const st = codeStats((await codes.data()) as Int32Array, cb.cfg.size);
        m[`perplexity_${level}`] = st.perplexity;
        m[`usage_${level}`] = st.usage;
        const { restarted } = await cb.update(flat, codes, rng);
        if (cb.cfg.restart) m[`restarted_${level}`] = restarted;
      }
      return m;
    },
    validate: (): Record<string, number> => {
      if (valClips.length === 0) return {};
      let recon = 0;
      let loss = 0;
      for (let i = 0; i < valClips.length; i += trainOpts.batchSize) {
        const part = valClips.slice(i, i + trainOpts.batchSize);
        const [l, r] = tf.tidy(() => {
          const out = codec.model.forward(codec.toInput(part));
          return [out.loss.dataSync()[0] as number, out.recon.dataSync()[0] as number];
        });
        loss += (l as number) * part.length;
        recon += (r as number) * part.length;
      }
      return { loss: loss / valClips.length, recon: recon / valClips.length };
    },
    samplerState: () => sampler.get(),
    restoreSampler: (s) => sampler.set(s),
    parallel: {
      replica: { kind: 'codec', config },
      split: (x, parts) => {
        const sizes = shareSizes(x.shape[0], parts);
        const pieces = tf.split(x, sizes, 0) as tf.Tensor3D[];
        return { local: pieces[0] as tf.Tensor3D, localSize: sizes[0] as number, remote: pieces.slice(1).map((t, i) => ({ tensors: [t], size: sizes[i + 1] as number, seed: null })) };
      },
    },
  };

  await fsp.mkdir(out, { recursive: true });
  try {
    const result = await trainLoop(task, {
      out,
      steps,
      schedule: { kind: 'cosine', peak: trainOpts.learningRate, warmupSteps: trainOpts.warmupSteps, totalSteps: trainOpts.steps, floor: 0.1 },
      clipNorm: trainOpts.clipNorm,
      seed: trainOpts.seed,
      ...runLoopOptions(o, steps),
      label: `${config.kind}/${config.preset}`,
      resume,
      meta: {
        kind: 'codec',
        model: config,
        train: { ...trainOpts, steps: trainOpts.steps },
        data: { spec: resume?.meta.data?.spec ?? o.data, layout: ds.layout, train: trainItems.map((i) => i.id), val: valItems.map((i) => i.id) },
      },
    });
    return { ...result, config, parameters: codec.params.count(), backend: backend.name, out };
  } finally {
    codec.dispose();
  }
}
