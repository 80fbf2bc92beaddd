/**
 * Train a codec (raw-audio VQ-VAE-2, spectrogram VQ-VAE or VQ-VAE-2) on a dataset: the library
 * function behind `npm run train:codec` and the codec notebook.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { assertCanTrain } from '../backend/capabilities';
import { activeBackend } from '../backend/index';
import { DEFAULT_AUGMENT } from '../data/augment';
import { evaluationClips, trainingClip } from '../data/batches';
import { loadExamples, splitDataset } from '../data/dataset';
import { openDataset } from '../data/open';
import { Codec } from '../models/codec';
import { codeStats } from '../models/codebook';
import { codecPreset, type CodecConfig, type CodecKind, type PresetName } from '../models/presets';
import { DatasetError } from './errors';
import { restoreParams } from '../checkpoint/checkpoint';
import { refuseForeignMetrics, refuseResumeConflicts, runSplit, splitRecord } from './run-folder';
import { runLoopOptions, trainLoop, type LoopResult, type RunOptions, type TrainTask } from './loop';
import { shareSizes } from './parallel';
import { codecStep } from './replica';
import { resumeOrRefuse, settingsLoopOptions, trainSettings } from './run-folder';
import { EpochOrder } from './epoch-order';

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
}

export interface TrainCodecResult extends LoopResult {
  config: CodecConfig;
  parameters: number;
  backend: string;
  out: string;
}

export async function trainCodec(options: TrainCodecOptions): Promise<TrainCodecResult> {
  const backend = activeBackend();
  assertCanTrain(['matmul', 'conv1d', 'conv1d-transpose', 'pad-slice', 'elementwise', 'adam', 'codebook-search', 'segment-sum'], `The ${options.kind} codec`);
  const out = path.resolve(options.out);
  const resume = await resumeOrRefuse<CodecConfig>(out, 'codec', options.resume);
  if (resume) {
    const was = resume.meta.train as Partial<Record<'batchSize' | 'learningRate' | 'seed' | 'augment', unknown>>;
    refuseResumeConflicts(out, [
      ['--model', options.kind, resume.meta.model.kind],
      ['--preset', options.preset, resume.meta.model.preset],
      ['--data', options.data, resume.meta.data?.spec],
      ['--batch', options.batchSize, was.batchSize],
      ['--lr', options.learningRate, was.learningRate],
      ['--seed', options.seed, was.seed],
      ['--no-augment', options.augment === false ? false : undefined, was.augment],
    ]);
  } else await refuseForeignMetrics(out);
  const config = resume ? resume.meta.model : codecPreset(options.kind, options.preset, options.seed ?? 0);
  const { steps, batchSize, learningRate, warmupSteps, clipNorm } = config.train;
  const defaults = { steps, batchSize, learningRate, warmupSteps, clipNorm, seed: 0, augment: config.preset === 'quick', valFraction: 0.2 };
  const settings = trainSettings(resume, defaults, {
    steps: options.steps,
    batchSize: options.batchSize,
    learningRate: options.learningRate,
    seed: options.seed,
    augment: options.augment,
    valFraction: options.valFraction,
  });
  const runSteps = options.steps ?? settings.steps;

  // Data: the same split on resume (by id), checked against the dataset.
  const ds = await openDataset(resume?.meta.data?.spec ?? options.data);
  const { train: trainItems, val: valItems } = runSplit(ds, resume, () => splitDataset(ds, { seed: settings.seed, valFraction: settings.valFraction }));
  if (trainItems.length < settings.batchSize) {
    throw new DatasetError(
      ds.root,
      'bad-dataset',
      `has ${trainItems.length} training recording(s), fewer than the batch size ${settings.batchSize}; lower --batch or add data`,
    );
  }
  const trainAudio = (await loadExamples(trainItems)).map((e) => e.audio);
  const valAudio = (await loadExamples(valItems)).map((e) => e.audio);
  const negatives = (await loadExamples(ds.negatives)).map((e) => e.audio);
  const valClips = valAudio.flatMap((a) => evaluationClips(a, { length: config.clipSamples }));

  const codec = new Codec(config);
  if (resume) restoreParams(codec.params, resume.weights, resume.dir);
  const order = new EpochOrder(trainAudio.length);
  const augment = settings.augment ? DEFAULT_AUGMENT : null;
  const levels = codec.model.codebooks();

  const task: TrainTask<tf.Tensor3D> = {
    params: codec.params,
    nextBatch: (rng) => {
      const clips = Array.from({ length: settings.batchSize }, () =>
        trainingClip(trainAudio[order.next(rng)] as Float32Array, rng, { length: config.clipSamples, augment, negatives }),
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
      for (let i = 0; i < valClips.length; i += settings.batchSize) {
        const part = valClips.slice(i, i + settings.batchSize);
        const [l, r] = tf.tidy(() => {
          const out = codec.model.forward(codec.toInput(part));
          return [out.loss.dataSync()[0], out.recon.dataSync()[0]];
        });
        loss += l * part.length;
        recon += r * part.length;
      }
      return { loss: loss / valClips.length, recon: recon / valClips.length };
    },
    samplerState: () => order.get(),
    restoreSampler: (s) => order.set(s),
    parallel: {
      replica: { kind: 'codec', config },
      split: (x, parts) => {
        const sizes = shareSizes(x.shape[0], parts);
        const pieces = tf.split(x, sizes, 0) as tf.Tensor3D[];
        return {
          local: pieces[0] as tf.Tensor3D,
          localSize: sizes[0],
          remote: pieces.slice(1).map((t, i) => ({ tensors: [t], size: sizes[i + 1], seed: null })),
        };
      },
    },
  };

  await fsp.mkdir(out, { recursive: true });
  try {
    const result = await trainLoop(task, {
      out,
      steps: runSteps,
      ...settingsLoopOptions(settings),
      ...runLoopOptions(options, runSteps),
      label: `${config.kind}/${config.preset}`,
      resume,
      meta: {
        kind: 'codec',
        model: config,
        train: settings,
        data: splitRecord(resume?.meta.data?.spec ?? options.data, ds, { train: trainItems, val: valItems }),
      },
    });
    return { ...result, config, parameters: codec.params.count(), backend: backend.name, out };
  } finally {
    codec.dispose();
  }
}
