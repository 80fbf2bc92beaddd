/**
 * Train the 3-way sound classifier (cat / dog / neither, src/models/sound-classifier.ts) on the
 * training split of a data set only: the library function behind `npm run train:judge`.
 *
 * A batch is one third cat, one third dog, one third "neither" (src/data/negatives.ts: synthetic
 * noise, tones, hum, silence, and noise shaped like a training recording). Real clips are 7.2-s
 * windows (the loudest of 3 random ones), peak-normalised, with a random gain of −12…0 dB and, for a
 * third of them, light background noise (20–40 dB SNR). Validation: the held-out recordings (centre
 * crops) and a fixed set of fresh "neither" clips.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { dbToGain, normalize } from '../audio/clips';
import { CLIP_SAMPLES } from '../audio/constants';
import type { Spectrogram } from '../audio/mel';
import { evaluationClips } from '../data/batches';
import { loadExamples, splitDataset, type AudioItem } from '../data/dataset';
import { neitherClip, randomNeitherKind, SYNTHETIC_NEITHER, SHAPED_NEITHER } from '../data/negatives';
import { openDataset } from '../data/open';
import { NEITHER, SOUND_CLASSIFIER_PRESET, SoundClassifier, soundClassifierInput, type SoundClassifierConfig } from '../models/sound-classifier';
import { Rng } from '../util/rng';
import { restoreParams } from '../checkpoint/checkpoint';
import { DatasetError } from './errors';
import { refuseForeignMetrics, resumeOrRefuse, runSplit, settingsLoopOptions, splitRecord } from './run-folder';
import { runLoopOptions, trainLoop, type LoopResult, type RunOptions, type TrainTask } from './loop';

export interface TrainSoundClassifierOptions extends RunOptions {
  data: string;
  out: string;
  steps?: number;
  seed?: number;
  resume?: boolean;
}

/** The loudest of `candidates` random windows of `length` samples (zero-padded at a random offset when shorter). */
export function loudWindow(x: Float32Array, length: number, rng: Rng, candidates = 3): Float32Array {
  if (x.length <= length) {
    const out = new Float32Array(length);
    out.set(x, rng.int(length - x.length + 1));
    return out;
  }
  const cum = new Float64Array(x.length + 1);
  for (let i = 0; i < x.length; i++) cum[i + 1] = (cum[i] as number) + (x[i] as number) ** 2;
  let best = 0;
  let bestE = -1;
  for (let c = 0; c < candidates; c++) {
    const s = rng.int(x.length - length + 1);
    const e = (cum[s + length] as number) - (cum[s] as number);
    if (e > bestE) {
      bestE = e;
      best = s;
    }
  }
  return x.slice(best, best + length);
}

/**
 * SpecAugment (Park et al. 2019): up to `masks` time masks (≤ 40 frames) and frequency masks (≤ 8 bands),
 * each set to the clip's mean log-mel, so the classifier cannot lean on one moment or one band.
 */
export function specAugment(spec: Spectrogram, rng: Rng, masks: number): void {
  if (masks <= 0) return;
  let mean = 0;
  for (const v of spec.data) mean += v;
  mean /= Math.max(1, spec.data.length);
  for (let k = rng.int(masks + 1); k > 0; k--) {
    const w = rng.int(41);
    const t0 = rng.int(Math.max(1, spec.frames - w));
    for (let t = t0; t < Math.min(spec.frames, t0 + w); t++) spec.data.fill(mean, t * spec.bins, (t + 1) * spec.bins);
  }
  for (let k = rng.int(masks + 1); k > 0; k--) {
    const w = rng.int(9);
    const m0 = rng.int(Math.max(1, spec.bins - w));
    for (let t = 0; t < spec.frames; t++) for (let m = m0; m < Math.min(spec.bins, m0 + w); m++) spec.data[t * spec.bins + m] = mean;
  }
}

function realClip(audio: Float32Array, rng: Rng): Float32Array {
  let x = loudWindow(normalize(audio, { mode: 'peak', targetDb: -1 }), CLIP_SAMPLES, rng);
  const g = dbToGain(-12 * rng.uniform());
  x = x.map((v) => v * g);
  if (rng.uniform() < 1 / 3) {
    const snr = rng.range(20, 40);
    let p = 0;
    for (const v of x) p += v * v;
    const a = Math.sqrt(p / x.length) * dbToGain(-snr);
    x = x.map((v) => v + a * rng.normal());
  }
  return x;
}

export async function trainSoundClassifier(o: TrainSoundClassifierOptions): Promise<LoopResult & { config: SoundClassifierConfig; out: string }> {
  const out = path.resolve(o.out);
  const resume = await resumeOrRefuse<SoundClassifierConfig>(out, 'sound-classifier', o.resume);
  if (!resume) await refuseForeignMetrics(out);
  const config: SoundClassifierConfig = resume
    ? resume.meta.model
    : { ...SOUND_CLASSIFIER_PRESET, seed: o.seed ?? 0, train: { ...SOUND_CLASSIFIER_PRESET.train, ...(o.steps !== undefined ? { steps: o.steps } : {}) } };
  const tr = config.train;
  const steps = o.steps ?? tr.steps;
  const ds = await openDataset(resume?.meta.data?.spec ?? o.data);
  const { train: trainItems, val: valItems } = runSplit(ds, resume, () => {
    const split = splitDataset(ds, { seed: config.seed });
    return { train: split.train.filter((i) => i.label < 2), val: split.val.filter((i) => i.label < 2) };
  });
  const byClass = [0, 1].map((l) => trainItems.filter((i) => i.label === l));
  if (byClass.some((c) => c.length === 0)) throw new DatasetError(ds.root, 'bad-dataset', 'needs training recordings of both cat and dog');
  const audio = [0, 1].map(async (l) => (await loadExamples(byClass[l] as AudioItem[])).map((e) => e.audio));
  const [cats, dogs] = (await Promise.all(audio)) as [Float32Array[], Float32Array[]];
  const all = [...cats, ...dogs];

  // validation: held-out recordings + fixed "neither" clips (each kind, fresh seeds)
  const valEx = await loadExamples(valItems);
  const valClips = valEx.flatMap((e) => evaluationClips(e.audio, { mode: 'center' }));
  const valLabels = valEx.map((e) => e.label);
  const vr = new Rng(`judge/val/${config.seed}`);
  const kinds = [...SYNTHETIC_NEITHER, ...SHAPED_NEITHER];
  for (let i = 0; i < 2 * kinds.length; i++) {
    const kind = kinds[i % kinds.length] as (typeof kinds)[number];
    const src = valClips.length ? valClips[vr.int(valClips.length)] : undefined;
    if ((SHAPED_NEITHER as readonly string[]).includes(kind) && !src) continue;
    valClips.push(neitherClip(kind, CLIP_SAMPLES, vr, src));
    valLabels.push(NEITHER);
  }

  const model = new SoundClassifier(config);
  if (resume) restoreParams(model.params, resume.weights, resume.dir);
  let dropoutSeed = 0;
  const task: TrainTask<[tf.Tensor3D, tf.Tensor1D]> = {
    params: model.params,
    nextBatch: (rng) => {
      const clips: Float32Array[] = [];
      const labels: number[] = [];
      for (let b = 0; b < tr.batchSize; b++) {
        const which = b % 3;
        if (which < 2) {
          const pool = which === 0 ? cats : dogs;
          clips.push(realClip(pool[rng.int(pool.length)] as Float32Array, rng));
        } else {
          const src = loudWindow(normalize(all[rng.int(all.length)] as Float32Array, { mode: 'peak', targetDb: -1 }), CLIP_SAMPLES, rng);
          clips.push(neitherClip(randomNeitherKind(rng, true), CLIP_SAMPLES, rng, src));
        }
        labels.push(which);
      }
      dropoutSeed = rng.int(2 ** 30);
      return [soundClassifierInput(clips, config, (spec) => specAugment(spec, rng, tr.masks ?? 0)), tf.tensor1d(labels, 'int32')];
    },
    forward: ([x, y]) => ({ loss: model.loss(x, y, { rate: tr.dropout, seed: dropoutSeed }), scalars: {}, keep: [] }),
    disposeBatch: (b) => tf.dispose(b),
    validate: (): Record<string, number> => {
      if (valClips.length === 0) return {};
      const pred = model.classify(valClips);
      const acc = (want: (l: number) => boolean) => {
        const idx = valLabels.map((l, i) => (want(l) ? i : -1)).filter((i) => i >= 0);
        return idx.filter((i) => pred[i] === valLabels[i]).length / Math.max(1, idx.length);
      };
      return { acc_real: acc((l) => l < 2), acc_neither: acc((l) => l === NEITHER) };
    },
    samplerState: () => null,
    restoreSampler: () => undefined,
  };
  await fsp.mkdir(out, { recursive: true });
  try {
    const result = await trainLoop(task, {
      out,
      steps,
      ...settingsLoopOptions({ ...tr, seed: config.seed }, 0.05),
      adam: { weightDecay: tr.weightDecay },
      ...runLoopOptions(o, steps),
      label: 'sound-classifier',
      resume,
      meta: {
        kind: 'sound-classifier',
        model: config,
        train: { ...tr },
        data: splitRecord(resume?.meta.data?.spec ?? o.data, ds, { train: trainItems, val: valItems }),
      },
    });
    return { ...result, config, out };
  } finally {
    model.dispose();
  }
}
