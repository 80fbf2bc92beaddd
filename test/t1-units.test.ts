/**
 * Exact checks of the core pieces measured by the mutation run (docs/mutation.md), written against
 * values computed here by hand: the vision vote and head, the resampler's guards and mixing, and the
 * other groups' survivors. Fast: no training runs, no files beyond a temp folder.
 */
import { mkdirSync, promises as fsp, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';
import * as waveResampler from 'wave-resampler';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_MEL,
  frameCount,
  frameEnergy,
  griffinLim,
  hann,
  hzToMel,
  istft,
  logMelSpectrogram,
  logMelToAudio,
  magnitude,
  melCenters,
  melFilterbank,
  melSpectrogram,
  melToHz,
  melToMagnitude,
  spectralConvergence,
  stft,
} from '../src/audio/mel';
import { mixToMono, resample } from '../src/audio/resample';
import { initBackend } from '../src/backend/index';
import { CheckpointError, exportCheckpoint, findCheckpoint, loadCheckpoint, saveCheckpoint } from '../src/checkpoint/checkpoint';
import { assertFiniteWeights } from '../src/checkpoint/finite-weights';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  checkMeta,
  decodeCheckpointWeights,
  manifestBytes,
  manifestGroup,
  restoreParams,
} from '../src/checkpoint/format';
import { removeOrphanTemps } from '../src/checkpoint/orphans';
import { fetchCheckpoint, type FetchLike } from '../src/checkpoint/fetch';
import { loadCodec, loadPrior } from '../src/checkpoint/models';
import { Codec } from '../src/models/codec';
import { codecPreset, priorPreset } from '../src/models/presets';
import { exists, isDirectory, listFiles, naturalCompare, writeFileAtomic } from '../src/util/fs';
import { median3x3, roughness } from '../src/audio/smooth';
import { sampleMelPatches, type VelocityModel } from '../src/sample/mel-flow';
import { Codebook } from '../src/models/codebook';
import { Params } from '../src/models/nn';
import { Prior, type PriorConfig } from '../src/models/prior';
import { attention, attentionImpl, attentionReference } from '../src/ops/attention';
import { conv1d, conv1dReference, convTranspose1d, convTranspose1dReference } from '../src/ops/conv1d';
import { feedForward } from '../src/ops/feed-forward';
import { linear, matMul, matMulT } from '../src/ops/matmul';
import { segmentSum } from '../src/ops/gradient';
import { DEFAULT_ADAM } from '../src/optim/adam';
import { perplexityReport, teacherForcedLoss } from '../src/metrics/perplexity';
import { encodeSources, IncrementalDecoder, PriorWeights } from '../src/sample/kv-cache';
import { itemRng, sampleBottom, sampleFullRecompute, sampleTop, sampleWithCache } from '../src/sample/sampler';
import { DEFAULT_SAMPLING, guide, pickToken } from '../src/sample/strategy';
import { loadOnnxEmbedder, melStatsEmbedder, VGGISH_WINDOWS, windows } from '../src/metrics/embedders';
import { pca2 } from '../src/metrics/pca';
import { fitLogistic, latentProbe, silhouette, standardize } from '../src/metrics/probe';
import { cjsExport } from '../src/util/interop';
import { InputError } from '../src/util/errors';
import { Rng } from '../src/util/rng';
import type { Backbone, RgbImage } from '../src/vision/backbone-model';
import { ClassifierHead, featureStats, type HeadConfig } from '../src/vision/head';
import { tempDir, testCheckpointMeta } from './helpers';
import { CLASS_NAMES, predict, probDog, voteFrames } from '../src/vision/predict';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

describe('vision: per-image prediction, batching, frame vote', () => {
  it('predict: dog when P(dog) ≥ 0.5, probability of the predicted class', () => {
    expect(CLASS_NAMES).toEqual(['cat', 'dog']);
    expect(predict(0.3)).toEqual({ label: 0, className: 'cat', probability: 0.7, pDog: 0.3 });
    expect(predict(0.5)).toEqual({ label: 1, className: 'dog', probability: 0.5, pDog: 0.5 });
    expect(predict(0.8)).toEqual({ label: 1, className: 'dog', probability: 0.8, pDog: 0.8 });
    expect(predict(0)).toEqual({ label: 0, className: 'cat', probability: 1, pDog: 0 });
  });

  /** A backbone that records the batch sizes it is asked for; feature / zero-shot value = the image's first pixel. */
  const fakeBackbone = (zeroShot: boolean) => {
    const calls: { features: number[]; zeroShot: number[] } = { features: [], zeroShot: [] };
    const backbone = {
      spec: { source: 'fake-backbone-src' },
      features(part: readonly RgbImage[]) {
        calls.features.push(part.length);
        return part.map((im) => Float32Array.of(im.data[0] as number));
      },
      zeroShotDog(part: readonly RgbImage[]) {
        calls.zeroShot.push(part.length);
        return zeroShot ? part.map((im) => 1 - (im.data[0] as number)) : null;
      },
    } as unknown as Backbone;
    return { backbone, calls };
  };
  const fakeHead = { probDog: (f: readonly Float32Array[]) => f.map((v) => (v[0] as number) / 2) } as unknown as ClassifierHead;
  const images = (n: number): RgbImage[] => Array.from({ length: n }, (_, i) => ({ data: Float32Array.of(i / 100), width: 1, height: 1 }));

  it('probDog: the head on the backbone features, 16 images at a time, in order', () => {
    const { backbone, calls } = fakeBackbone(true);
    const p = probDog(backbone, fakeHead, images(33));
    expect(calls.features).toEqual([16, 16, 1]);
    expect(calls.zeroShot).toEqual([]);
    expect(p).toHaveLength(33);
    p.forEach((v, i) => expect(v).toBeCloseTo(i / 200, 6));
    const exact = fakeBackbone(true);
    expect(probDog(exact.backbone, fakeHead, images(16))).toHaveLength(16);
    expect(exact.calls.features).toEqual([16]);
    const none = fakeBackbone(true);
    expect(probDog(none.backbone, fakeHead, [])).toEqual([]);
    expect(none.calls.features).toEqual([]);
  });

  it('probDog without a head: the zero-shot ImageNet vote, 16 at a time; a backbone without one is an InputError', () => {
    const { backbone, calls } = fakeBackbone(true);
    const p = probDog(backbone, null, images(17));
    expect(calls.zeroShot).toEqual([16, 1]);
    expect(calls.features).toEqual([]);
    p.forEach((v, i) => expect(v).toBeCloseTo(1 - i / 100, 6));
    const plain = fakeBackbone(false);
    let err: unknown;
    try {
      probDog(plain.backbone, null, images(2));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('bad-argument');
    expect((err as Error).message).toMatch(/fake-backbone-src/);
    expect((err as Error).message).toMatch(/this backbone is no ImageNet classifier; train a head first \(npm run train:classifier\)/);
  });

  it('voteFrames: the video label and its probability, each frame with its time and prediction, the agreement', () => {
    const r = voteFrames([0.2, 0.9, 0.7], [0, 1.5]);
    expect(r).toEqual({
      label: 1,
      className: 'dog',
      probability: expect.closeTo(0.6, 10),
      pDog: expect.closeTo(0.6, 10),
      vote: 'median',
      frames: [
        { time: 0, label: 0, className: 'cat', probability: expect.closeTo(0.8, 10), pDog: 0.2 },
        { time: 1.5, label: 1, className: 'dog', probability: 0.9, pDog: 0.9 },
        { time: 2, label: 1, className: 'dog', probability: 0.7, pDog: 0.7 }, // no time given: the frame index
      ],
      agreement: 2 / 3,
    });
    const cat = voteFrames([0.1, 0.2, 0.9], [3, 4, 5]);
    expect(cat.label).toBe(0);
    expect(cat.className).toBe('cat');
    expect(cat.probability).toBeCloseTo(0.6, 10); // 1 − mean P(dog) 0.4
    expect(cat.pDog).toBeCloseTo(0.4, 10);
    expect(cat.agreement).toBeCloseTo(2 / 3, 10);
    expect(cat.frames.map((f) => f.time)).toEqual([3, 4, 5]);
    // the mean vote is handed through: 5 unsure cats and 3 sure dogs → dog by the mean, 3 of 8 frames agree
    const mean = voteFrames([0.45, 0.45, 0.45, 0.45, 0.45, 0.95, 0.95, 0.95], [], 'mean');
    expect(mean.vote).toBe('mean');
    expect(mean.label).toBe(1);
    expect(mean.agreement).toBe(3 / 8);
  });
});

describe('vision: the head, exactly', () => {
  const config: HeadConfig = {
    format: 'soundtrack-lab/classifier-head',
    version: 1,
    backbone: { name: 'test', source: 'none', format: 'layers-model', inputSize: 1 } as unknown as HeadConfig['backbone'],
    featureDim: 2,
    mean: [0, 0],
    std: [1, 1],
    classes: ['cat', 'dog'],
    l2: 0.5,
  };
  const feats = [
    [1, 0],
    [0, 2],
    [-1, -1],
  ].map((r) => Float32Array.from(r));
  const labels = [1, 0, 1];

  it('training loss = mean binary cross-entropy + l2·‖w‖²; one Adam step moves each weight by the learning rate against its gradient', () => {
    const head = new ClassifierHead(config);
    const w = [1, -2];
    const b = 0.3;
    head.params.get('head.weight').assign(tf.tensor2d([[w[0] as number], [w[1] as number]]));
    head.params.get('head.bias').assign(tf.tensor1d([b]));
    const z = feats.map((f) => (f[0] as number) * (w[0] as number) + (f[1] as number) * (w[1] as number) + b);
    const bce = z.reduce((a, zi, i) => a - (labels[i] ? Math.log(sigmoid(zi)) : Math.log(1 - sigmoid(zi))), 0) / z.length;
    const losses = head.train(feats, labels, { steps: 1, learningRate: 0.01 });
    expect(losses).toHaveLength(1);
    expect(losses[0]).toBeCloseTo(bce + 0.5 * (1 + 4), 5);
    // gradients: ∂/∂w_k = mean((σ(z) − y)·x_k) + 2·l2·w_k, ∂/∂b = mean(σ(z) − y); Adam's first step is −lr·sign(g)
    const err = z.map((zi, i) => sigmoid(zi) - (labels[i] as number));
    const gw = [0, 1].map((k) => err.reduce((a, e, i) => a + e * (feats[i]?.[k] as number), 0) / 3 + 2 * 0.5 * (w[k] as number));
    const gb = err.reduce((a, e) => a + e, 0) / 3;
    const wNew = Array.from(head.params.get('head.weight').dataSync());
    const bNew = head.params.get('head.bias').dataSync()[0] as number;
    expect(wNew[0]).toBeCloseTo((w[0] as number) - 0.01 * Math.sign(gw[0] as number), 5);
    expect(wNew[1]).toBeCloseTo((w[1] as number) - 0.01 * Math.sign(gw[1] as number), 5);
    expect(bNew).toBeCloseTo(b - 0.01 * Math.sign(gb), 5);
    head.dispose();
  });

  it('featureStats: one mean and one std per feature dimension, nothing more', () => {
    const s = featureStats([Float32Array.of(1, 2), Float32Array.of(3, 6)]);
    expect(s.mean).toEqual([2, 4]);
    expect(s.std).toEqual([1, 2]);
  });

  it('standardises features with the config mean and std before the weights', () => {
    const head = new ClassifierHead({ ...config, mean: [2, -1], std: [4, 0.5] });
    head.params.get('head.weight').assign(tf.tensor2d([[1], [1]]));
    // (6 − 2)/4 + (0 + 1)/0.5 = 1 + 2 = 3
    expect(head.probDog([Float32Array.from([6, 0])])[0]).toBeCloseTo(sigmoid(3), 6);
    head.dispose();
  });

  it('train and probDog leave no tensors behind; dispose frees the two parameters', () => {
    const head = new ClassifierHead(config);
    head.train(feats, labels, { steps: 1, learningRate: 0.1 }); // the first run may create backend constants once
    const before = tf.memory().numTensors;
    head.train(feats, labels, { steps: 3, learningRate: 0.1 });
    head.probDog(feats);
    expect(tf.memory().numTensors).toBe(before);
    head.dispose();
    expect(tf.memory().numTensors).toBe(before - 2);
  });
});

describe('resampler guards and channel mixing', () => {
  it('both rates must be positive numbers; the error names them', () => {
    const x = Float32Array.of(1, 2, 3);
    expect(() => resample(x, 4000, 0)).toThrow('resample: sample rates must be positive (got 4000 → 0)');
    expect(() => resample(x, -1, 4000)).toThrow('resample: sample rates must be positive (got -1 → 4000)');
    expect(() => resample(x, 0, 4000)).toThrow('resample: sample rates must be positive (got 0 → 4000)');
    expect(() => resample(x, Number.NaN, 4000)).toThrow(RangeError);
    expect(() => resample(x, 4000, Number.NaN)).toThrow(RangeError);
    expect(resample(new Float32Array(0), 16000, 4000)).toHaveLength(0);
  });

  it('the same rate in and out returns an exact copy (the low-pass filter is not run)', () => {
    const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 2.9) + 0.5 * Math.cos(i * 3.1));
    const y = resample(x, 16000, 16000);
    expect(Array.from(y)).toEqual(Array.from(x));
    expect(y).not.toBe(x);
  });

  it('is wave-resampler’s windowed sinc after its IIR low-pass (not its cubic default; its default filter type is that IIR low-pass)', () => {
    type ResampleFn = (s: ArrayLike<number>, from: number, to: number, d?: object) => ArrayLike<number>;
    const impl = cjsExport<ResampleFn>(waveResampler, 'resample');
    const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 0.7) + 0.3 * Math.cos(i * 2.1));
    const want = Float32Array.from(impl(Float64Array.from(x), 16000, 4000, { method: 'sinc', LPF: true, LPFType: 'IIR' }));
    const got = resample(x, 16000, 4000);
    expect(Array.from(got)).toEqual(Array.from(want));
    const cubic = Float32Array.from(impl(Float64Array.from(x), 16000, 4000, { LPF: true, LPFType: 'IIR' }));
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
    expect(maxDiff(got, cubic)).toBeGreaterThan(1e-3);
  });

  it('mixToMono: nothing → empty, one channel → a copy, several → the mean over the shortest length', () => {
    expect(mixToMono([])).toHaveLength(0);
    const one = Float32Array.of(1, -2, 3);
    const copy = mixToMono([one]);
    expect(Array.from(copy)).toEqual([1, -2, 3]);
    expect(copy).not.toBe(one);
    const m = mixToMono([Float32Array.of(3, 6, 9, 100), Float32Array.of(0, 3, 0), Float32Array.of(0, 0, 3, 100)]);
    expect(Array.from(m)).toEqual([1, 3, 4]);
  });
});

describe('latent probe, exactly', () => {
  it('standardize: per-column mean 0 and population std 1; a constant column becomes 0', () => {
    const z = standardize([
      [1, 10, 7],
      [3, 10, 7],
      [5, 40, 7],
    ]);
    const sd0 = Math.sqrt(8 / 3);
    const sd1 = Math.sqrt(200);
    const want = [
      [-2 / sd0, -10 / sd1, 0],
      [0, -10 / sd1, 0],
      [2 / sd0, 20 / sd1, 0],
    ];
    z.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(want[i]?.[j] as number, 10)));
  });

  it('silhouette: (b − a)/max(a, b) per point, averaged; a singleton scores 0; one class is NaN', () => {
    // class 0 at 0 and 1, class 1 at 4 and 6 (1-D)
    const x = [[0], [1], [4], [6]];
    const s = [(5 - 1) / 5, (4 - 1) / 4, (3.5 - 2) / 3.5, (5.5 - 2) / 5.5];
    expect(silhouette(x, [0, 0, 1, 1])).toBeCloseTo(s.reduce((a, v) => a + v, 0) / 4, 10);
    // the nearest other class counts (three classes): point 0 at 0 has a = 1, b = min(mean to {4}, mean to {10, 12}) = 4
    const three = silhouette([[0], [1], [4], [10], [12]], [0, 0, 1, 2, 2]);
    const pts = [
      (4 - 1) / 4, // 0: a 1, b min(4, 11)
      (3 - 1) / 3, // 1: a 1, b min(3, 10)
      0, // 4: singleton
      (6 - 2) / 6, // 10: a 2, b min(6, 9.5)
      (8 - 2) / 8, // 12: a 2, b min(8, 11.5)
    ];
    expect(three).toBeCloseTo(pts.reduce((a, v) => a + v, 0) / 5, 10);
    expect(silhouette([[0], [4], [6]], [0, 1, 1])).toBeCloseTo((0 + 2 / 4 + 4 / 6) / 3, 10);
    expect(silhouette([[0], [1]], [1, 1])).toBeNaN();
    // distances are Euclidean over all dimensions: (0,0),(0,1) vs (3,4),(3,5)
    const a = 1;
    const b0 = (5 + Math.hypot(3, 5)) / 2;
    const b1 = (Math.hypot(3, 3) + Math.hypot(3, 4)) / 2;
    const b2 = (5 + Math.hypot(3, 3)) / 2;
    const b3 = (Math.hypot(3, 5) + Math.hypot(3, 4)) / 2;
    const want2 = ((b0 - a) / b0 + (b1 - a) / b1 + (b2 - a) / b2 + (b3 - a) / b3) / 4;
    expect(
      silhouette(
        [
          [0, 0],
          [0, 1],
          [3, 4],
          [3, 5],
        ],
        [0, 0, 1, 1],
      ),
    ).toBeCloseTo(want2, 10);
  });

  /** The same gradient descent, written out for one feature: returns (w, b). */
  const logistic1d = (x: number[], y: number[], l2: number, steps: number, lr: number): [number, number] => {
    let w = 0;
    let b = 0;
    for (let s = 0; s < steps; s++) {
      let gw = 0;
      let gb = 0;
      for (let i = 0; i < x.length; i++) {
        const e = 1 / (1 + Math.exp(-(w * (x[i] as number) + b))) - (y[i] as number);
        gw += (e * (x[i] as number)) / x.length;
        gb += e / x.length;
      }
      w -= lr * (gw + l2 * w);
      b -= lr * gb;
    }
    return [w, b];
  };

  it('fitLogistic: L2-regularised gradient descent; the decision boundary −b/w matches the written-out steps', () => {
    const x = [-2, -1, -0.5, 0.3, 1, 2.5];
    const y = [0, 0, 1, 0, 1, 1];
    for (const [l2, steps, lr] of [
      [1e-2, 300, 0.5],
      [0.3, 20, 0.2],
      [0, 1, 0.5],
    ] as const) {
      const predict =
        l2 === 1e-2
          ? fitLogistic(
              x.map((v) => [v]),
              y,
            )
          : fitLogistic(
              x.map((v) => [v]),
              y,
              l2,
              steps,
              lr,
            );
      const [w, b] = logistic1d(x, y, l2, steps, lr);
      expect(w).toBeGreaterThan(0);
      const edge = -b / w;
      expect(predict([edge + 1e-3])).toBe(1);
      expect(predict([edge - 1e-3])).toBe(0);
    }
    // two features: the second one decides
    const p2 = fitLogistic(
      [
        [0, -1],
        [0, -2],
        [0, 1],
        [0, 2],
      ],
      [0, 0, 1, 1],
    );
    expect(p2([0, 0.5])).toBe(1);
    expect(p2([0, -0.5])).toBe(0);
  });

  it('latentProbe: stratified folds (at most the smaller class size), a fold whose training part lacks a class scores nothing, majority baseline', () => {
    expect(() => latentProbe([[1], [2], [3], [4]], [0, 1, 0])).toThrow('latentProbe: one label per feature row');
    expect(() => latentProbe([[1], [2], [3]], [0, 1, 0])).toThrow('latentProbe needs at least 4 examples, got 3');
    // 3 cats / 7 dogs, separable: folds = min(5, 3, 7) = 3
    const x = [...[-3, -2.5, -2].map((v) => [v, 0.1 * v]), ...[2, 2.2, 2.4, 2.6, 2.8, 3, 3.2].map((v) => [v, -0.1 * v])];
    const labels = [0, 0, 0, 1, 1, 1, 1, 1, 1, 1];
    const r = latentProbe(x, labels);
    expect(r.folds).toBe(3);
    expect(r.n).toBe(10);
    expect(r.majorityBaseline).toBeCloseTo(0.7, 10);
    expect(r.probeAccuracy).toBe(1);
    expect(r.pca).toHaveLength(10);
    expect(r.silhouette).toBeCloseTo(silhouette(standardize(x), labels), 10);
    const ref = pca2(standardize(x)); // the PCA of the standardised features
    expect(r.explained).toEqual(ref.explained);
    expect(r.pca).toEqual(ref.points);
    expect(latentProbe(x, labels, { folds: 2 }).folds).toBe(2);
    // one dog: 2 folds; the fold that holds the dog trains on cats only and is skipped, so its 2 cats count
    // as wrong; the other fold (2 cats tested) is right → 2 of 5
    const one = latentProbe(
      [
        [-1, 0],
        [-1.2, 0.1],
        [-0.8, -0.1],
        [-1.1, 0.05],
        [5, 0],
      ],
      [0, 0, 0, 0, 1],
    );
    expect(one.folds).toBe(2);
    expect(one.probeAccuracy).toBeCloseTo(2 / 5, 10);
    expect(one.majorityBaseline).toBeCloseTo(0.8, 10);
    // a majority of ones counts too
    expect(
      latentProbe(
        [
          [1, 0],
          [2, 1],
          [3, 0],
          [4, 1],
        ],
        [1, 1, 1, 0],
      ).majorityBaseline,
    ).toBe(0.75);
  });
});

describe('FAD embedders: windows and the built-in mel statistics', () => {
  const w = { windowSeconds: 0.01, hopSeconds: 0.005 }; // at 1 kHz: 10 samples, hop 5
  it('windows: full windows every hop (the last partial one dropped); a short clip is one zero-padded window', () => {
    const clip = Float32Array.from({ length: 27 }, (_, i) => i);
    const ws = windows(clip, 1000, w);
    expect(ws.map((v) => Array.from(v))).toEqual([0, 5, 10, 15].map((s) => Array.from({ length: 10 }, (_, i) => s + i)));
    // exactly one window long: itself, as a copy padded to the window
    const exact = Float32Array.from({ length: 10 }, (_, i) => i + 1);
    const one = windows(exact, 1000, w);
    expect(one).toHaveLength(1);
    expect(Array.from(one[0] as Float32Array)).toEqual(Array.from(exact));
    const short = windows(Float32Array.of(1, 2, 3), 1000, w);
    expect(short).toHaveLength(1);
    expect(Array.from(short[0] as Float32Array)).toEqual([1, 2, 3, 0, 0, 0, 0, 0, 0, 0]);
    // one hop longer than a window: two
    expect(windows(new Float32Array(15), 1000, w)).toHaveLength(2);
    expect(windows(new Float32Array(14), 1000, w)).toHaveLength(1);
    // rounding of seconds to samples
    expect(windows(new Float32Array(4000), 4000, VGGISH_WINDOWS).map((v) => v.length)).toEqual([3840]);
    expect(windows(new Float32Array(3840 + 1920), 4000, VGGISH_WINDOWS)).toHaveLength(2);
  });

  it('mel-stats-v1: per 0.96-s window, the mean and the population std of each of 32 log-mel bands', async () => {
    const rng = new Rng(5);
    const clip = Float32Array.from({ length: 3840 + 1920 + 100 }, (_, i) => 0.3 * Math.sin(i * 0.9) + 0.1 * rng.range(-1, 1));
    const e = await melStatsEmbedder.embed([clip, clip.subarray(0, 2000)]);
    expect(e).toHaveLength(3); // 2 windows + 1 padded
    expect(melStatsEmbedder.name).toMatch(/^mel-stats-v1/);
    const wins = windows(clip, 4000, VGGISH_WINDOWS);
    wins.push(windows(clip.subarray(0, 2000), 4000, VGGISH_WINDOWS)[0] as Float32Array);
    wins.forEach((win, k) => {
      const m = logMelSpectrogram(win, { ...DEFAULT_MEL, nMels: 32 });
      expect(e[k]).toHaveLength(64);
      for (const b of [0, 7, 31]) {
        const col = Array.from({ length: m.frames }, (_, t) => m.data[t * 32 + b] as number);
        const mean = col.reduce((a, v) => a + v, 0) / col.length;
        const sd = Math.sqrt(col.reduce((a, v) => a + (v - mean) ** 2, 0) / col.length);
        expect(e[k]?.[b]).toBeCloseTo(mean, 4);
        expect(e[k]?.[32 + b]).toBeCloseTo(sd, 3);
      }
    });
    // a constant band has std 0, never NaN (round-off below zero is clamped)
    const silent = await melStatsEmbedder.embed([new Float32Array(3840)]);
    expect(Array.from((silent[0] as Float32Array).subarray(32)).every((v) => v === 0)).toBe(true);
    expect(silent[0]?.[0]).toBeCloseTo(Math.log(1e-5), 4);
  });
});

describe('codebook: updates, exactly', () => {
  const base = { size: 3, dim: 1, beta: 0.25, ema: null, restart: null, dataInit: false };
  const read = (t: tf.Tensor) => Array.from(t.dataSync());

  it('the codebook is trainable only without EMA; the EMA sums start at the codebook, the counts at 1', () => {
    const p = new Params(0);
    new Codebook(p, 'cb', base);
    expect([...p.trainable().keys()]).toEqual(['cb.embeddings']);
    const q = new Params(0);
    const ema = new Codebook(q, 'cb', { ...base, ema: { decay: 0.5, epsilon: 0.1 } });
    expect([...q.trainable().keys()]).toEqual([]);
    expect(read(q.get('cb.ema_sum'))).toEqual(read(ema.embeddings));
    expect(read(q.get('cb.ema_count'))).toEqual([1, 1, 1]);
    // U(±1/K) initialisation, not all equal
    const e = read(ema.embeddings);
    expect(e.every((v) => Math.abs(v) <= 1 / 3)).toBe(true);
    expect(new Set(e).size).toBe(3);
    p.dispose();
    q.dispose();
  });

  it('nearest code in chunks of 8192 rows equals a brute-force search over 8200 rows', () => {
    const p = new Params(0);
    const cb = new Codebook(p, 'cb', { ...base, size: 4, dim: 2 });
    const codes = [
      [0, 0],
      [1, 0],
      [0, 1],
      [-1, -1],
    ];
    cb.embeddings.assign(tf.tensor2d(codes));
    const rng = new Rng(9);
    const rows = Array.from({ length: 8200 }, () => [rng.range(-1.5, 1.5), rng.range(-1.5, 1.5)]);
    const got = tf.tidy(() => read(cb.nearest(tf.tensor2d(rows))));
    const want = rows.map((r) => {
      const d = codes.map((c) => ((r[0] as number) - (c[0] as number)) ** 2 + ((r[1] as number) - (c[1] as number)) ** 2);
      return d.indexOf(Math.min(...d));
    });
    expect(got).toHaveLength(8200);
    expect(got).toEqual(want);
    p.dispose();
  });

  it('EMA update: decayed counts and sums, Laplace-smoothed counts, codebook = sums / counts; the codebook loss is 0', async () => {
    const p = new Params(0);
    const cb = new Codebook(p, 'cb', { ...base, size: 2, ema: { decay: 0.5, epsilon: 0.1 } });
    cb.embeddings.assign(tf.tensor2d([[0], [10]]));
    p.get('cb.ema_sum').assign(tf.tensor2d([[0], [10]]));
    const flat = tf.tensor2d([[1], [2], [9]]);
    const codes = tf.tensor2d([[0, 0, 1]], [1, 3], 'int32');
    const q = tf.tidy(() => cb.quantize(tf.tensor3d([[[1], [2], [9]]])).codebookLoss.dataSync()[0]);
    expect(q).toBe(0);
    const r = await cb.update(flat, codes, new Rng(1));
    expect(r).toEqual({ restarted: 0, initialized: false });
    // counts 2, 1 → 0.5·1 + 0.5·(2, 1) = (1.5, 1); sums 0.5·(0, 10) + 0.5·(3, 9) = (1.5, 9.5)
    const count = read(p.get('cb.ema_count'));
    expect(count[0]).toBeCloseTo(1.5, 6);
    expect(count[1]).toBeCloseTo(1, 6);
    const sum = read(p.get('cb.ema_sum'));
    expect(sum[0]).toBeCloseTo(1.5, 6);
    expect(sum[1]).toBeCloseTo(9.5, 6);
    // smoothed = (count + ε) / (total + Kε) · total, total 2.5
    const sm = [1.6 / 2.7, 1.1 / 2.7].map((v) => v * 2.5);
    const e = read(cb.embeddings);
    expect(e[0]).toBeCloseTo(1.5 / (sm[0] as number), 5);
    expect(e[1]).toBeCloseTo(9.5 / (sm[1] as number), 5);
    tf.dispose([flat, codes]);
    p.dispose();
  });

  it('data init: the first update copies random encoder rows (exactly, when there are at least K rows); later updates do not', async () => {
    const p = new Params(0);
    const cb = new Codebook(p, 'cb', { ...base, size: 3, dataInit: true, ema: { decay: 0.9, epsilon: 1e-5 } });
    const flat = tf.tensor2d([[5], [6], [7]]);
    const codes = tf.tensor2d([[0, 0, 0]], [1, 3], 'int32');
    const pick = new Rng(4);
    const rows = [pick.int(3), pick.int(3), pick.int(3)];
    const r = await cb.update(flat, codes, new Rng(4));
    expect(r).toEqual({ restarted: 0, initialized: true });
    expect(read(cb.embeddings)).toEqual(rows.map((i) => 5 + i));
    expect(read(p.get('cb.ema_sum'))).toEqual(rows.map((i) => 5 + i));
    expect(read(p.get('cb.ema_count'))).toEqual([1, 1, 1]);
    expect(read(p.get('cb.initialized'))).toEqual([1]);
    const again = await cb.update(flat, codes, new Rng(4));
    expect(again.initialized).toBe(false);
    // fewer rows than codes: the copies get a small jitter (σ 1e-3), so no two codes coincide
    const q = new Params(0);
    const small = new Codebook(q, 'cb', { ...base, size: 3, dataInit: true });
    const two = tf.tensor2d([[5], [6]]);
    await small.update(two, tf.tensor2d([[0, 0]], [1, 2], 'int32'), new Rng(4));
    const e = read(small.embeddings);
    expect(e.every((v) => Math.min(Math.abs(v - 5), Math.abs(v - 6)) < 0.01)).toBe(true);
    expect(e.every((v) => v !== 5 && v !== 6)).toBe(true);
    tf.dispose([flat, codes, two]);
    p.dispose();
    q.dispose();
  });

  it('dead-code restart: usage = 0.99·usage + 0.01·count; codes below the threshold take random encoder rows and usage threshold/0.9', async () => {
    const p = new Params(0);
    const cb = new Codebook(p, 'cb', { ...base, size: 3, restart: { threshold: 0.995 }, ema: { decay: 0.5, epsilon: 0.1 } });
    cb.embeddings.assign(tf.tensor2d([[0], [1], [2]]));
    p.get('cb.ema_sum').assign(tf.tensor2d([[0], [1], [2]]));
    const flat = tf.tensor2d([[0.1], [0.2], [1.1]]);
    const codes = tf.tensor2d([[0, 0, 1]], [1, 3], 'int32');
    const pick = new Rng(2);
    const row = pick.int(3);
    const r = await cb.update(flat, codes, new Rng(2));
    // usage (1.01, 1.0, 0.99): only code 2 is below 0.995
    expect(r).toEqual({ restarted: 1, initialized: false });
    const usage = read(p.get('cb.usage'));
    expect(usage[0]).toBeCloseTo(1.01, 6);
    expect(usage[1]).toBeCloseTo(1.0, 6);
    expect(usage[2]).toBeCloseTo(0.995 / 0.9, 6);
    const e = read(cb.embeddings);
    expect(e[2]).toBeCloseTo([0.1, 0.2, 1.1][row] as number, 6);
    expect(read(p.get('cb.ema_sum'))[2]).toBeCloseTo([0.1, 0.2, 1.1][row] as number, 6);
    expect(read(p.get('cb.ema_count'))[2]).toBe(1);
    // nothing below the threshold: nothing restarted
    const q = new Params(0);
    const live = new Codebook(q, 'cb', { ...base, size: 2, restart: { threshold: 0.5 } });
    const before = read(live.embeddings);
    expect(await live.update(flat, tf.tensor2d([[0, 1, 1]], [1, 3], 'int32'), new Rng(2))).toEqual({ restarted: 0, initialized: false });
    expect(read(live.embeddings)).toEqual(before);
    expect(read(q.get('cb.usage'))[1]).toBeCloseTo(0.99 + 0.02, 6);
    tf.dispose([flat, codes]);
    p.dispose();
    q.dispose();
  });
});

describe('perplexity of a prior', () => {
  const cfg: PriorConfig = {
    format: 'soundtrack-lab/prior',
    version: 1,
    level: 'top',
    preset: 'test',
    codes: 8,
    classes: 2,
    dModel: 8,
    heads: 2,
    encoderLayers: 1,
    decoderLayers: 1,
    feedForward: 12,
    dropout: 0,
    sourceLength: 1,
    targetLength: 6,
    attentionChunk: 4,
    windows: { encoder: null, self: null, cross: null },
    seed: 7,
  };
  const rows = (prior: Prior) => {
    const rng = new Rng(3);
    const sources = [0, 1, 0, 1, 1].map((c) => Int32Array.of(prior.vocab.classToken(c)));
    const targets = sources.map(() => Int32Array.from({ length: 6 }, () => rng.int(8)));
    return { sources, targets };
  };
  const rowLoss = (prior: Prior, s: Int32Array, t: Int32Array) =>
    tf.tidy(() => prior.loss(tf.tensor2d(s, [1, s.length], 'int32'), tf.tensor2d(t, [1, t.length], 'int32')).dataSync()[0] as number);

  it('teacher-forced loss: the mean over rows whatever the batch size; mismatched or empty rows are an error', () => {
    const prior = new Prior(cfg);
    const { sources, targets } = rows(prior);
    const want = sources.reduce((a, s, i) => a + rowLoss(prior, s, targets[i] as Int32Array), 0) / 5;
    expect(teacherForcedLoss(prior, sources, targets, 2)).toBeCloseTo(want, 5);
    expect(teacherForcedLoss(prior, sources, targets)).toBeCloseTo(want, 5);
    expect(teacherForcedLoss(prior, sources, targets, 1)).toBeCloseTo(want, 5);
    expect(() => teacherForcedLoss(prior, sources, targets.slice(1))).toThrow('teacherForcedLoss: need matching, non-empty source and target rows');
    expect(() => teacherForcedLoss(prior, [], [])).toThrow(/non-empty/);
    prior.dispose();
  });

  it('report: exp(held-out loss), and the loss on its own top-k samples (seed 0 unless given); NaN for samples of another length', () => {
    const prior = new Prior(cfg);
    const heldOut = rows(prior);
    const loss = teacherForcedLoss(prior, heldOut.sources, heldOut.targets);
    const r = perplexityReport(prior, heldOut, { samples: 3, sampling: { topK: 3 } });
    expect(r.heldOutLoss).toBeCloseTo(loss, 6);
    expect(r.teacherForced).toBeCloseTo(Math.exp(loss), 5);
    expect(r.samples).toBe(3);
    expect(r.heldOut).toBe(5);
    expect(r.sampling).toEqual({ topK: 3, seed: 0 });
    const src = tf.tensor2d(Int32Array.from(heldOut.sources.slice(0, 3).flatMap((s) => Array.from(s))), [3, 1], 'int32');
    const { codes } = sampleWithCache(prior, src, { topK: 3, seed: 0, length: 6 });
    src.dispose();
    expect(r.ownSamples).toBeCloseTo(Math.exp(teacherForcedLoss(prior, heldOut.sources.slice(0, 3), codes)), 5);
    const d = perplexityReport(prior, heldOut);
    expect(d.samples).toBe(4);
    expect(d.sampling).toEqual({ topK: DEFAULT_SAMPLING.topK, seed: 0 });
    expect(perplexityReport(prior, heldOut, { samples: 9, sampling: { seed: 5 } }).sampling).toEqual({ topK: DEFAULT_SAMPLING.topK, seed: 5 });
    expect(perplexityReport(prior, heldOut, { samples: 9 }).samples).toBe(5);
    expect(perplexityReport(prior, heldOut, { samples: 2, sampleLength: 4 }).ownSamples).toBeNaN();
    prior.dispose();
  });
});

/** A prior small enough for exact checks (one encoder and one decoder layer, codes 10, d_model 8, 2 heads); `over` changes any field. */
function smallPrior(over: Partial<PriorConfig> = {}): PriorConfig {
  return {
    format: 'soundtrack-lab/prior',
    version: 1,
    level: 'top',
    preset: 'test',
    codes: 10,
    classes: 2,
    dModel: 8,
    heads: 2,
    encoderLayers: 1,
    decoderLayers: 1,
    feedForward: 12,
    dropout: 0,
    sourceLength: 1,
    targetLength: 8,
    attentionChunk: 4,
    windows: { encoder: null, self: null, cross: null },
    seed: 11,
    ...over,
  };
}

describe('sampler: options, random streams, statistics, argument checks', () => {
  const cfg = smallPrior;
  /** Large random weights, so that logits are far from uniform and every option changes the tokens. */
  const spiky = (c: PriorConfig): Prior => {
    const p = new Prior(c);
    const r = new Rng(c.seed + 1);
    for (const info of p.params.info()) {
      const n = info.shape.reduce((a, b) => a * b, 1);
      p.params.get(info.name).assign(
        tf.tensor(
          Float32Array.from({ length: n }, () => 0.7 * r.normal()),
          info.shape,
        ),
      );
    }
    return p;
  };
  /** Token by token, written out: decoder steps, guidance, pickToken with item i's stream `${seed}/sample/${i}`. */
  const reference = (
    prior: Prior,
    src: tf.Tensor2D,
    o: { seed: string; topK: number; topP: number; temperature: number; guidance: number; length: number; uncond?: tf.Tensor2D },
  ): number[][] => {
    const w = new PriorWeights(prior);
    const mem = encodeSources(prior, src);
    const memU = o.uncond ? encodeSources(prior, o.uncond) : null;
    const K = prior.config.codes;
    return mem.map((m, i) => {
      const rng = new Rng(`${o.seed}/sample/${i}`);
      const dec = new IncrementalDecoder(w, m);
      const decU = memU ? new IncrementalDecoder(w, memU[i] as Float32Array) : null;
      let tok = prior.vocab.start;
      const out: number[] = [];
      for (let t = 0; t < o.length; t++) {
        const c = dec.step(tok);
        const logits = decU ? guide(c, decU.step(tok), o.guidance, K) : c;
        tok = pickToken(logits, K, { topK: o.topK, topP: o.topP, temperature: o.temperature }, rng);
        out.push(tok);
      }
      return out;
    });
  };

  it('defaults: top-k 6, top-p 1, temperature 1, guidance 1, seed 0, the prior’s target length', () => {
    expect(DEFAULT_SAMPLING).toEqual({ topK: 6, topP: 1, temperature: 1, guidance: 1 });
    const prior = spiky(cfg());
    const src = prior.classSource([0, 1, 1]);
    const got = sampleWithCache(prior, src).codes.map((c) => Array.from(c));
    expect(got).toEqual(reference(prior, src, { seed: '0', topK: 6, topP: 1, temperature: 1, guidance: 1, length: 8 }));
    // a different top-k, temperature or seed gives other tokens (so the comparison above can fail)
    expect(got).not.toEqual(reference(prior, src, { seed: '0', topK: 2, topP: 1, temperature: 1, guidance: 1, length: 8 }));
    expect(got).not.toEqual(reference(prior, src, { seed: '0', topK: 6, topP: 1, temperature: 3, guidance: 1, length: 8 }));
    expect(got).not.toEqual(reference(prior, src, { seed: '1', topK: 6, topP: 1, temperature: 1, guidance: 1, length: 8 }));
    src.dispose();
    prior.dispose();
  });

  it('given options reach the sampler: top-k, top-p, temperature, guidance with the unconditional rows, length, seed', () => {
    const prior = spiky(cfg());
    const src = prior.classSource([1, 0, 1, 0]);
    const uncond = prior.classSource([null, null, null, null]);
    const o = { seed: 4, topK: 8, topP: 0.6, temperature: 4, guidance: 2, length: 8 };
    const got = sampleWithCache(prior, src, { ...o, unconditional: uncond });
    const want = reference(prior, src, { ...o, seed: '4', uncond });
    expect(got.codes.map((c) => Array.from(c))).toEqual(want);
    expect(sampleFullRecompute(prior, src, { ...o, unconditional: uncond }).codes.map((c) => Array.from(c))).toEqual(want);
    // each option matters here (so an option dropped on the way would show)
    for (const other of [{ topK: 6 }, { topP: 1 }, { temperature: 1 }, { guidance: 1 }, { seed: '0' }])
      expect(reference(prior, src, { ...o, seed: '4', uncond, ...other }), JSON.stringify(other)).not.toEqual(want);
    // guidance 1 ignores the unconditional rows
    const g1 = sampleWithCache(prior, src, { ...o, guidance: 1, unconditional: uncond }).codes.map((c) => Array.from(c));
    expect(g1).toEqual(reference(prior, src, { ...o, seed: '4', guidance: 1 }));
    expect(g1).not.toEqual(want);
    // sampleTop passes its options through, with the "no class" rows as the unconditional ones
    expect(sampleTop(prior, [1, 0, 1, 0], o).codes.map((c) => Array.from(c))).toEqual(want);
    tf.dispose([src, uncond]);
    prior.dispose();
  });

  it('statistics: tokens = rows × length, tokens per second = tokens / seconds', () => {
    const prior = new Prior(cfg());
    const src = prior.classSource([0, 1, 0]);
    for (const r of [sampleWithCache(prior, src, { length: 4 }), sampleFullRecompute(prior, src, { length: 4 })]) {
      expect(r.stats.tokens).toBe(12);
      expect(r.codes).toHaveLength(3);
      expect(r.codes[0]).toHaveLength(4);
      expect(r.stats.seconds).toBeGreaterThan(0);
      expect(r.stats.tokensPerSecond).toBeCloseTo(12 / r.stats.seconds, 6);
    }
    expect(sampleFullRecompute(prior, src).codes[0]).toHaveLength(8);
    src.dispose();
    prior.dispose();
  });

  it('guidance without unconditional rows samples unguided; seconds are the wall time of the sampling', () => {
    const prior = spiky(cfg());
    const src = prior.classSource([1, 0]);
    const plain = sampleWithCache(prior, src, { seed: 2, length: 4 }).codes.map((c) => Array.from(c));
    expect(sampleWithCache(prior, src, { seed: 2, length: 4, guidance: 3 }).codes.map((c) => Array.from(c))).toEqual(plain);
    expect(sampleFullRecompute(prior, src, { seed: 2, length: 4, guidance: 3 }).codes.map((c) => Array.from(c))).toEqual(plain);
    for (const run of [() => sampleWithCache(prior, src, { length: 4 }), () => sampleFullRecompute(prior, src, { length: 4 })]) {
      const t0 = performance.now();
      const r = run();
      const wall = (performance.now() - t0) / 1000;
      expect(r.stats.seconds).toBeGreaterThan(0);
      expect(r.stats.seconds).toBeLessThanOrEqual(wall + 1e-6);
    }
    src.dispose();
    prior.dispose();
  });

  it('item streams: item i of seed s draws from Rng("s/sample/i"); no seed is seed 0', () => {
    const a = itemRng(7, 2);
    const b = new Rng('7/sample/2');
    expect([a.uniform(), a.uniform()]).toEqual([b.uniform(), b.uniform()]);
    const c = itemRng(undefined, 1);
    const d = new Rng('0/sample/1');
    expect(c.uniform()).toBe(d.uniform());
  });

  it('argument checks: the level, class labels 0…classes−1, top codes of the source length', () => {
    const top = new Prior(cfg());
    const bottom = new Prior(cfg({ level: 'bottom', sourceLength: 3 }));
    expect(() => sampleTop(bottom, [0])).toThrow('sampleTop needs a Top prior');
    expect(() => sampleBottom(top, [Int32Array.of(1, 2, 3)])).toThrow('sampleBottom needs a Bottom prior');
    expect(() => sampleTop(top, [2])).toThrow('class 2 is not one of 0…1');
    expect(() => sampleTop(top, [-1])).toThrow('class -1 is not one of 0…1');
    expect(() => sampleTop(top, [0.5])).toThrow('class 0.5 is not one of 0…1');
    expect(sampleTop(top, [0, 1], { length: 2 }).codes).toHaveLength(2);
    expect(() => sampleBottom(bottom, [Int32Array.of(1, 2)])).toThrow('top codes must have 3 entries, got 2');
    const tops = [Int32Array.of(1, 2, 3), Int32Array.of(4, 5, 6)];
    const src = tf.tensor2d(Int32Array.of(1, 2, 3, 4, 5, 6), [2, 3], 'int32');
    expect(sampleBottom(bottom, tops, { seed: 3 }).codes).toEqual(sampleWithCache(bottom, src, { seed: 3 }).codes);
    src.dispose();
    top.dispose();
    bottom.dispose();
  });

  it('no tensors are left behind by sampling (after a first call, which may cache masks)', () => {
    const prior = new Prior(cfg());
    const bottom = new Prior(cfg({ level: 'bottom', sourceLength: 2 }));
    const src = tf.tensor2d(Int32Array.of(1, 2), [1, 2], 'int32');
    const all = () => {
      sampleTop(prior, [0, 1], { guidance: 2, length: 3 });
      sampleBottom(bottom, [Int32Array.of(1, 2)], { length: 3 });
      sampleFullRecompute(bottom, src, { length: 2 });
    };
    all();
    const before = tf.memory().numTensors;
    all();
    expect(tf.memory().numTensors).toBe(before);
    src.dispose();
    bottom.dispose();
    prior.dispose();
  });

  it('PriorWeights names a missing weight', () => {
    const prior = new Prior(cfg());
    const w = new PriorWeights(prior);
    expect(() => w.get('nope')).toThrow('no weight nope');
    expect(w.vocabSize).toBe(prior.vocab.size);
    expect(w.get('embedding.weight')).toHaveLength(prior.vocab.size * 8);
    prior.dispose();
  });
});

describe('parameters free their memory', () => {
  it('Params.create holds each parameter once; dispose frees all of it (the initial value is not kept)', () => {
    const before = tf.memory();
    const p = new Params(0);
    for (const n of ['a', 'b', 'c']) p.create(n, [1000], { kind: 'normal', std: 1 });
    expect(tf.memory().numBytes - before.numBytes).toBe(3 * 1000 * 4);
    expect(tf.memory().numTensors - before.numTensors).toBe(3);
    p.dispose();
    expect(tf.memory().numBytes).toBe(before.numBytes);
    expect(tf.memory().numTensors).toBe(before.numTensors);
  });
});

describe('checkpoint format, exactly', () => {
  const entry = (name: string, shape: number[], dtype: tf.DataType = 'float32', quant?: 'uint8' | 'uint16' | 'float16') =>
    ({ name, shape, dtype, ...(quant ? { quantization: { dtype: quant, scale: 1, min: 0 } } : {}) }) as tf.io.WeightsManifestEntry;

  it('checkMeta: an object of this format and version, of the asked kind', () => {
    const ok = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, kind: 'codec' };
    expect(CHECKPOINT_FORMAT).toBe('soundtrack-lab/checkpoint');
    expect(CHECKPOINT_VERSION).toBe(1);
    expect(checkMeta(ok, 'f.json', 'codec')).toBe(ok);
    expect(checkMeta(ok, 'f.json')).toBe(ok);
    expect(() => checkMeta(null, 'f.json')).toThrow('f.json: checkpoint metadata is not a JSON object');
    expect(() => checkMeta('text', 'f.json')).toThrow('f.json: checkpoint metadata is not a JSON object');
    expect(() => checkMeta({ ...ok, format: 'other' }, 'f.json')).toThrow('f.json: not a soundtrack-lab checkpoint (format "other")');
    expect(() => checkMeta({ ...ok, version: 2 }, 'f.json')).toThrow('f.json: checkpoint version 2 is not supported (this build reads version 1)');
    expect(() => checkMeta(ok, 'f.json', 'prior')).toThrow('f.json: is a codec checkpoint, not a prior');
    const e = new CheckpointError('x', 'y');
    expect(e).toBeInstanceOf(InputError);
    expect(e.name).toBe('CheckpointError');
    expect(e.code).toBe('bad-argument');
  });

  it('manifestGroup: the first group, with path and weight lists', () => {
    const g = { paths: ['weights.bin'], weights: [entry('w', [2])] };
    expect(manifestGroup({ weightsManifest: [g] }, 'm.json')).toBe(g);
    for (const bad of [
      null,
      {},
      { weightsManifest: [] },
      { weightsManifest: [{ paths: 'a', weights: [] }] },
      { weightsManifest: [{ paths: [], weights: {} }] },
    ])
      expect(() => manifestGroup(bad, 'm.json')).toThrow('m.json: the weights manifest lists no weights');
  });

  it('manifestBytes: elements × bytes per dtype (quantised: 1 or 2 bytes)', () => {
    expect(manifestBytes([entry('a', [2, 3])])).toBe(24);
    expect(manifestBytes([entry('a', [2], 'int32')])).toBe(8);
    expect(manifestBytes([entry('a', [3], 'bool')])).toBe(3);
    expect(manifestBytes([entry('a', [])])).toBe(4);
    expect(manifestBytes([entry('a', [4], 'float32', 'uint8')])).toBe(4);
    expect(manifestBytes([entry('a', [4], 'float32', 'uint16')])).toBe(8);
    expect(manifestBytes([entry('a', [4], 'float32', 'float16')])).toBe(8);
    expect(manifestBytes([entry('a', [2], 'complex64' as tf.DataType)])).toBe(8);
    expect(manifestBytes([entry('a', [2, 3]), entry('b', [5], 'int32')])).toBe(44);
    expect(manifestBytes([])).toBe(0);
  });

  it('decodeCheckpointWeights: the data must have exactly the manifest’s size', () => {
    const specs = [entry('w', [3])];
    const data = Float32Array.of(1, 2, 3).buffer;
    const t = decodeCheckpointWeights(specs, data, 'w.bin');
    expect(Array.from((t['w'] as tf.Tensor).dataSync())).toEqual([1, 2, 3]);
    tf.dispose(Object.values(t));
    expect(() => decodeCheckpointWeights(specs, new ArrayBuffer(8), 'w.bin')).toThrow(
      'w.bin: weights data is 8 bytes, the manifest needs 12 (truncated or mismatched file)',
    );
    expect(() => decodeCheckpointWeights(specs, new ArrayBuffer(16), 'w.bin')).toThrow(/16 bytes/);
  });

  it('restoreParams: names and shapes must match (problems listed, at most 4, extras at most 3); int weights are cast; weights are disposed', () => {
    const params = new Params(0);
    params.create('a', [2], { kind: 'zeros' });
    params.create('b', [1, 2], { kind: 'zeros' });
    const before = tf.memory().numTensors;
    restoreParams(params, { a: tf.tensor1d([1, 2]), b: tf.tensor2d([[3, 4]], [1, 2], 'int32') }, 'ck');
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(params.get('a').dataSync())).toEqual([1, 2]);
    expect(params.get('b').dtype).toBe('float32');
    expect(Array.from(params.get('b').dataSync())).toEqual([3, 4]);
    const fail = (weights: tf.NamedTensorMap): string => {
      try {
        restoreParams(params, weights, 'ck');
      } catch (e) {
        expect(e).toBeInstanceOf(CheckpointError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(fail({ a: tf.zeros([2]) })).toBe('ck: weights do not fit this model (a checkpoint of another model or preset?): missing b');
    expect(fail({ a: tf.zeros([3]), b: tf.zeros([1, 2]) })).toBe(
      'ck: weights do not fit this model (a checkpoint of another model or preset?): a has shape [3] in the checkpoint, the model needs [2]',
    );
    expect(fail({ a: tf.zeros([2]), b: tf.zeros([1, 2]), x: tf.zeros([1]), y: tf.zeros([1]), z: tf.zeros([1]) })).toMatch(/: unexpected x, y, z$/);
    const many = { a: tf.zeros([2]), b: tf.zeros([1, 2]), p: tf.zeros([1]), q: tf.zeros([1]), r: tf.zeros([1]), s: tf.zeros([1]), t: tf.zeros([1]) };
    expect(fail(many)).toMatch(/: unexpected p, q, r and 2 more$/);
    // five problems: four are listed, "(+1 more)"
    const five = new Params(0);
    for (const n of ['c', 'd', 'e', 'f', 'g']) five.create(n, [1], { kind: 'zeros' });
    let msg = '';
    try {
      restoreParams(five, {}, 'ck');
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toBe('ck: weights do not fit this model (a checkpoint of another model or preset?): missing c; missing d; missing e; missing f (+1 more)');
    five.dispose();
    expect(tf.memory().numTensors).toBe(before); // failed restores dispose the weights too
    params.dispose();
  });

  it('finite weights: NaN and ±Inf in float tensors are counted and named; int tensors are not checked', () => {
    const ok = { w: tf.tensor1d([1, 2]), i: tf.tensor1d([1], 'int32') };
    expect(() => assertFiniteWeights(ok, 'w.bin')).not.toThrow();
    const bad = { w: tf.tensor1d([1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, 0]) };
    expect(() => assertFiniteWeights(bad, 'w.bin')).toThrow(
      'w.bin: holds 3 non-finite value(s) (NaN/Inf) in w of 6: the weights are corrupt; use another checkpoint or retrain',
    );
    tf.dispose([...Object.values(ok), ...Object.values(bad)]);
  });
});

/** Checkpoint metadata and a one-weight Params for the checkpoint tests (step n, weight filled with `value`). */
const checkpointMeta = (step: number) => testCheckpointMeta('test', { n: step }, { step, trainSeconds: 1 });
const checkpointParams = (value: number) => {
  const p = new Params(0);
  p.create('w', [2], { kind: 'zeros' }).assign(tf.fill([2], value));
  return p;
};

describe('checkpoint files, exactly', () => {
  const root = tempDir('t1-ck-');
  let n = 0;
  const fresh = () => path.join(root, `run${n++}`);

  it('save: step folder step-NNNNNNN, checkpoint.json pretty-printed with a newline, latest.json exact, two folders kept by default', async () => {
    const run = fresh();
    for (const s of [1, 2, 3]) await saveCheckpoint(run, { meta: checkpointMeta(s), params: checkpointParams(s) });
    expect(readdirSync(run).sort()).toEqual(['latest.json', 'step-0000002', 'step-0000003']);
    expect(readFileSync(path.join(run, 'latest.json'), 'utf8')).toBe('{"format":"soundtrack-lab/latest","step":3,"dir":"step-0000003"}\n');
    const text = readFileSync(path.join(run, 'step-0000003', 'checkpoint.json'), 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toContain('\n "format": "soundtrack-lab/checkpoint",\n');
    const m = JSON.parse(text);
    expect(m.optimizer).toBeNull();
    expect(m.version).toBe(1);
    expect(Number.isNaN(Date.parse(m.createdAt))).toBe(false);
    expect(readdirSync(path.join(run, 'step-0000003')).sort()).toEqual(['checkpoint.json', 'model.json', 'weights.bin']);
    const ck = await loadCheckpoint(run, 'test');
    expect(ck.optimizer).toBeNull();
    expect(Array.from((ck.weights['w'] as tf.Tensor).dataSync())).toEqual([3, 3]);
    // keep 1: only the newest; saving the same step again replaces it
    await saveCheckpoint(run, { meta: checkpointMeta(3), params: checkpointParams(30), keep: 1 });
    expect(readdirSync(run).sort()).toEqual(['latest.json', 'step-0000003']);
    expect(Array.from(((await loadCheckpoint(run)).weights['w'] as tf.Tensor).dataSync())).toEqual([30, 30]);
  });

  it('save: Adam moments by name (m/…, v/…) in optimizer.bin, read back apart', async () => {
    const run = fresh();
    const m = new Map([
      ['w', tf.tensor1d([1, 2])],
      ['v/odd', tf.tensor1d([5])],
    ]);
    const v = new Map([
      ['w', tf.tensor1d([3, 4])],
      ['m/odd', tf.tensor1d([6])],
    ]);
    await saveCheckpoint(run, { meta: checkpointMeta(1), params: checkpointParams(1), optimizer: { config: DEFAULT_ADAM, state: { step: 9, m, v } } });
    const ck = await loadCheckpoint(run);
    expect(ck.meta.optimizer).toEqual({ config: DEFAULT_ADAM, step: 9 });
    expect(ck.optimizer?.step).toBe(9);
    expect([...(ck.optimizer?.m.keys() ?? [])].sort()).toEqual(['v/odd', 'w']);
    expect([...(ck.optimizer?.v.keys() ?? [])].sort()).toEqual(['m/odd', 'w']);
    expect(Array.from(ck.optimizer?.m.get('w')?.dataSync() ?? [])).toEqual([1, 2]);
    expect(Array.from(ck.optimizer?.v.get('w')?.dataSync() ?? [])).toEqual([3, 4]);
    expect(Array.from(ck.optimizer?.m.get('v/odd')?.dataSync() ?? [])).toEqual([5]);
  });

  it('findCheckpoint: a step folder is itself, a run folder follows latest.json, nothing is null, a corrupt pointer names the newest intact folder', async () => {
    const run = fresh();
    expect(await findCheckpoint(run)).toBeNull();
    await saveCheckpoint(run, { meta: checkpointMeta(1), params: checkpointParams(1) });
    await saveCheckpoint(run, { meta: checkpointMeta(2), params: checkpointParams(2) });
    expect(await findCheckpoint(run)).toBe(path.join(run, 'step-0000002'));
    expect(await findCheckpoint(path.join(run, 'step-0000001'))).toBe(path.join(run, 'step-0000001'));
    // a newer folder without checkpoint.json (a half-copied one) is not intact
    mkdirSync(path.join(run, 'step-0000005'));
    writeFileSync(path.join(run, 'latest.json'), 'garbage');
    await expect(findCheckpoint(run)).rejects.toThrow(
      `${path.join(run, 'latest.json')}: is corrupt (7 bytes, not a pointer to a step folder); the newest intact checkpoint is ${path.join(run, 'step-0000002')}; to resume from it, write {"format":"soundtrack-lab/latest","step":2,"dir":"step-0000002"} to latest.json`,
    );
    writeFileSync(path.join(run, 'latest.json'), '{"dir":"../elsewhere"}');
    await expect(findCheckpoint(run)).rejects.toThrow(CheckpointError);
    writeFileSync(path.join(run, 'latest.json'), '{"dir":7}');
    await expect(findCheckpoint(run)).rejects.toThrow(/is corrupt \(9 bytes/);
    const empty = fresh();
    mkdirSync(empty);
    writeFileSync(path.join(empty, 'latest.json'), 'null');
    await expect(findCheckpoint(empty)).rejects.toThrow(/; no intact step folder is left; start a new run$/);
  });

  it('loadCheckpoint: no checkpoint, unreadable metadata, unreadable manifest, a missing weights file, NaN weights: each a CheckpointError naming the file', async () => {
    const run = fresh();
    mkdirSync(run);
    await expect(loadCheckpoint(run)).rejects.toThrow(`${run}: no checkpoint here (no checkpoint.json or latest.json)`);
    await saveCheckpoint(run, { meta: checkpointMeta(1), params: checkpointParams(1) });
    const step = path.join(run, 'step-0000001');
    await expect(loadCheckpoint(run, 'codec')).rejects.toThrow('is a test checkpoint, not a codec');
    const model = readFileSync(path.join(step, 'model.json'), 'utf8');
    writeFileSync(path.join(step, 'model.json'), '{');
    await expect(loadCheckpoint(run)).rejects.toThrow(`${path.join(step, 'model.json')}: cannot read the weights manifest (`);
    writeFileSync(path.join(step, 'model.json'), model);
    renameSync(path.join(step, 'weights.bin'), path.join(step, 'w.bak'));
    await expect(loadCheckpoint(run)).rejects.toThrow(`${path.join(step, 'weights.bin')}: weights file missing`);
    renameSync(path.join(step, 'w.bak'), path.join(step, 'weights.bin'));
    writeFileSync(path.join(step, 'weights.bin'), Buffer.from(Float32Array.of(Number.NaN, 1).buffer));
    const before = tf.memory().numTensors;
    await expect(loadCheckpoint(run)).rejects.toThrow(`${path.join(step, 'weights.bin')}: holds 1 non-finite value(s)`);
    expect(tf.memory().numTensors).toBe(before);
    writeFileSync(path.join(step, 'checkpoint.json'), 'not json');
    await expect(loadCheckpoint(run)).rejects.toThrow(`${path.join(step, 'checkpoint.json')}: unreadable checkpoint metadata (`);
  });

  it('orphaned temp folders of dead writers are removed by the next save; a live writer’s and other names stay', async () => {
    const run = fresh();
    mkdirSync(run);
    let dead = 4194000;
    const isAlive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    while (isAlive(dead)) dead++;
    const orphan = `.step-0000001.${dead}.abc123.tmp`;
    const mine = `.step-0000001.${process.pid}.abc123.tmp`;
    const parent = `.step-0000001.${process.ppid}.abc123.tmp`;
    // names that are not temp checkpoint folders, however close
    const others = [
      `x.step-0000001.${dead}.abc.tmp`,
      `.step-0000001.${dead}.abc.tmp.old`,
      `.step-000001.${dead}.abc.tmp`,
      `.step-0000001.${dead}.xyz.tmp`,
      'other',
    ];
    for (const d of [orphan, mine, parent, ...others]) mkdirSync(path.join(run, d));
    expect(await removeOrphanTemps(run)).toEqual([orphan]);
    mkdirSync(path.join(run, orphan));
    await saveCheckpoint(run, { meta: checkpointMeta(1), params: checkpointParams(1) });
    expect(readdirSync(run).sort()).toEqual([mine, parent, ...others, 'latest.json', 'step-0000001'].sort());
    expect(await removeOrphanTemps(path.join(run, 'missing'))).toEqual([]);
  });
});

describe('STFT and mel, exactly', () => {
  const cfg = { nFft: 8, hop: 2, center: false };
  it('periodic Hann window; nFft must be a power of two', () => {
    expect(Array.from(hann(4))).toEqual([0, 0.5, 1, 0.5].map((v) => expect.closeTo(v, 7)));
    for (const n of [0, 1, 3, 12]) expect(() => stft(new Float32Array(16), { ...cfg, nFft: n })).toThrow(`nFft must be a power of two ≥ 2, got ${n}`);
    expect(stft(new Float32Array(4), { nFft: 2, hop: 1, center: false }).frames).toBe(3);
  });

  it('frame count: 1 + ⌊(padded − nFft)/hop⌋, padded by nFft/2 on both sides when centred; 0 when shorter than a frame', () => {
    expect(frameCount(100, { nFft: 16, hop: 4, center: true })).toBe(26);
    expect(frameCount(100, { nFft: 16, hop: 4, center: false })).toBe(22);
    expect(frameCount(16, { nFft: 16, hop: 4, center: false })).toBe(1);
    expect(frameCount(15, { nFft: 16, hop: 4, center: false })).toBe(0);
    expect(frameCount(19, { nFft: 16, hop: 4, center: false })).toBe(1);
    expect(frameCount(20, { nFft: 16, hop: 4, center: false })).toBe(2);
  });

  it('each frame is the DFT of the Hann-windowed samples (written out), bins 0…nFft/2', () => {
    const x = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i * 1.3) + 0.2 * i);
    const s = stft(x, cfg);
    expect(s.frames).toBe(3);
    expect(s.bins).toBe(5);
    const w = hann(8);
    for (let t = 0; t < 3; t++)
      for (let k = 0; k < 5; k++) {
        let re = 0;
        let im = 0;
        for (let i = 0; i < 8; i++) {
          const v = (x[t * 2 + i] as number) * (w[i] as number);
          re += v * Math.cos((-2 * Math.PI * k * i) / 8);
          im += v * Math.sin((-2 * Math.PI * k * i) / 8);
        }
        expect(s.re[t * 5 + k]).toBeCloseTo(re, 4);
        expect(s.im[t * 5 + k]).toBeCloseTo(im, 4);
      }
    const m = magnitude(s);
    expect(m.frames).toBe(3);
    expect(m.bins).toBe(5);
    m.data.forEach((v, i) => expect(v).toBeCloseTo(Math.hypot(s.re[i] as number, s.im[i] as number), 5));
  });

  it('centred frames reflect the signal at both ends (without repeating the edge); one sample is repeated', () => {
    const x = Float32Array.of(1, 2, 3, 4, 5, 6);
    // pad 4: [5 4 3 2 | 1 2 3 4 5 6 | 5 4 3 2]
    const padded = Float32Array.of(5, 4, 3, 2, 1, 2, 3, 4, 5, 6, 5, 4, 3, 2);
    const c = stft(x, { nFft: 8, hop: 2, center: true });
    const p = stft(padded, cfg);
    expect(c.frames).toBe(p.frames);
    expect(Array.from(c.re)).toEqual(Array.from(p.re));
    expect(Array.from(c.im)).toEqual(Array.from(p.im));
    // two samples, pad 2: the reflection runs out and its last sample repeats: [2 2 | 1 2 | 1 1]
    const two = stft(Float32Array.of(1, 2), { nFft: 4, hop: 1, center: true });
    const twoRef = stft(Float32Array.of(2, 2, 1, 2, 1, 1), { nFft: 4, hop: 1, center: false });
    expect(Array.from(two.re)).toEqual(Array.from(twoRef.re));
    const one = stft(Float32Array.of(5), { nFft: 4, hop: 1, center: true });
    const oneRef = stft(Float32Array.of(5, 5, 5, 5, 5), { nFft: 4, hop: 1, center: false });
    expect(Array.from(one.re)).toEqual(Array.from(oneRef.re));
  });

  it('istft: overlap-add divided by the window energy; samples without window energy are 0; beyond the frames is 0', () => {
    const x = Float32Array.from({ length: 16 }, (_, i) => Math.cos(i * 0.7));
    const s = stft(x, cfg);
    const y = istft(s, cfg, 20);
    expect(y).toHaveLength(20);
    expect(y[0]).toBe(0); // w[0] = 0: no energy at the first sample without centring
    for (let i = 1; i < 16; i++) expect(y[i]).toBeCloseTo(x[i] as number, 5);
    expect(Array.from(y.subarray(16))).toEqual([0, 0, 0, 0]);
    expect(() => istft({ ...s, bins: 4 }, cfg, 16)).toThrow('istft: 4 bins do not match nFft 8');
    const c = { nFft: 8, hop: 2, center: true };
    const yc = istft(stft(x, c), c, 16);
    for (let i = 0; i < 16; i++) expect(yc[i]).toBeCloseTo(x[i] as number, 5);
  });

  it('spectral convergence: ‖|S(a)| − |S(b)|‖ / ‖|S(a)|‖', () => {
    const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 0.5));
    expect(spectralConvergence(x, x, cfg)).toBe(0);
    expect(
      spectralConvergence(
        x,
        x.map((v) => v * 0.25),
        cfg,
      ),
    ).toBeCloseTo(0.75, 5);
    expect(spectralConvergence(x, new Float32Array(64), cfg)).toBeCloseTo(1, 6);
    expect(spectralConvergence(new Float32Array(64), new Float32Array(64), cfg)).toBe(0);
  });

  it('Griffin–Lim: random initial phase from the seed, then projections with momentum α/(1 + α) (two steps written out)', () => {
    const x = Float32Array.from({ length: 40 }, (_, i) => Math.sin(i * 0.9) * (1 + 0.05 * i));
    const mag = magnitude(stft(x, cfg));
    const n = mag.data.length;
    const rng = new Rng(3);
    let re = new Float32Array(n);
    let im = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const ph = 2 * Math.PI * rng.uniform();
      re[i] = Math.cos(ph);
      im[i] = Math.sin(ph);
    }
    const apply = () => ({
      frames: mag.frames,
      bins: mag.bins,
      re: mag.data.map((v, i) => v * (re[i] as number)),
      im: mag.data.map((v, i) => v * (im[i] as number)),
    });
    expect(Array.from(griffinLim(mag, cfg, 40, { iterations: 0, seed: 3 }))).toEqual(Array.from(istft(apply(), cfg, 40)));
    const alpha = 0.5;
    let prev: { re: Float32Array; im: Float32Array } = { re: new Float32Array(n), im: new Float32Array(n) };
    for (let it = 0; it < 2; it++) {
      const rebuilt = stft(istft(apply(), cfg, 40), cfg);
      const k = alpha / (1 + alpha);
      const nr = new Float32Array(n);
      const ni = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const a = (rebuilt.re[i] as number) - k * (prev.re[i] as number);
        const b = (rebuilt.im[i] as number) - k * (prev.im[i] as number);
        const norm = Math.hypot(a, b) + 1e-16;
        nr[i] = a / norm;
        ni[i] = b / norm;
      }
      re = nr;
      im = ni;
      prev = rebuilt;
    }
    const want = istft(apply(), cfg, 40);
    const got = griffinLim(mag, cfg, 40, { iterations: 2, seed: 3, momentum: alpha });
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i] as number, 5));
    // defaults: 60 iterations, momentum 0.99, seed 0
    expect(Array.from(griffinLim(mag, cfg, 40))).toEqual(Array.from(griffinLim(mag, cfg, 40, { iterations: 60, momentum: 0.99, seed: 0 })));
    for (const other of [{ iterations: 59 }, { momentum: 0.9 }, { seed: 1 }])
      expect(Array.from(griffinLim(mag, cfg, 40, { iterations: 60, momentum: 0.99, seed: 0, ...other }))).not.toEqual(Array.from(griffinLim(mag, cfg, 40)));
  });

  it('Slaney mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above (27 mels per factor 6.4)', () => {
    expect(hzToMel(0)).toBe(0);
    expect(hzToMel(500)).toBeCloseTo(7.5, 10);
    expect(hzToMel(1000)).toBeCloseTo(15, 10);
    expect(hzToMel(6400)).toBeCloseTo(15 + 27, 10);
    expect(hzToMel(2000)).toBeCloseTo(15 + (27 * Math.log(2)) / Math.log(6.4), 10);
    expect(melToHz(7.5)).toBeCloseTo(500, 8);
    expect(melToHz(15)).toBeCloseTo(1000, 8);
    expect(melToHz(42)).toBeCloseTo(6400, 6);
    expect(melToHz(hzToMel(3000))).toBeCloseTo(3000, 6);
    expect(melToHz(hzToMel(999))).toBeCloseTo(999, 8);
    const c = melCenters({ nMels: 3, fMin: 0, fMax: 2000 });
    const hi = hzToMel(2000);
    expect(Array.from(c)).toEqual([1, 2, 3].map((m) => expect.closeTo(melToHz((hi * m) / 4), 6)));
    const c2 = melCenters({ nMels: 2, fMin: 300, fMax: 1500 });
    const lo = hzToMel(300);
    expect(c2[0]).toBeCloseTo(melToHz(lo + (hzToMel(1500) - lo) / 3), 6);
  });

  it('filterbank: triangles peaking at the mel centres, zero outside their neighbours, each of unit area (Slaney)', () => {
    const c = { sampleRate: 4000, nFft: 4096, nMels: 8, fMin: 100, fMax: 1800 };
    const fb = melFilterbank(c);
    const bins = 2049;
    const df = 4000 / 4096;
    const lo = hzToMel(100);
    const hi = hzToMel(1800);
    const edge = (i: number) => melToHz(lo + ((hi - lo) * i) / 9);
    for (let m = 0; m < 8; m++) {
      const row = fb.subarray(m * bins, (m + 1) * bins);
      const area = row.reduce((a, v) => a + v, 0) * df;
      expect(area).toBeCloseTo(1, 2);
      const peak = row.indexOf(Math.max(...row));
      expect(Math.abs(peak * df - edge(m + 1))).toBeLessThan(df);
      expect(Math.max(...row)).toBeCloseTo(2 / (edge(m + 2) - edge(m)), 4);
      for (let k = 0; k < bins; k++) if (k * df <= edge(m) || k * df >= edge(m + 2)) expect(row[k]).toBe(0);
      expect(Math.min(...row)).toBe(0);
    }
  });

  it('mel spectrogram = filterbank × |STFT| (power 2: of |STFT|²); log with the floor', () => {
    const c = { ...DEFAULT_MEL, nMels: 6, nFft: 32, hop: 8 };
    const x = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i * 0.4) + 0.5 * Math.sin(i * 2.1));
    const mag = magnitude(stft(x, c));
    const fb = melFilterbank(c);
    for (const power of [1, 2] as const) {
      const mel = melSpectrogram(x, { ...c, power });
      expect(mel.frames).toBe(mag.frames);
      expect(mel.bins).toBe(6);
      for (const t of [0, 5, mag.frames - 1])
        for (let m = 0; m < 6; m++) {
          let s = 0;
          for (let k = 0; k < 17; k++) s += (fb[m * 17 + k] as number) * (mag.data[t * 17 + k] as number) ** power;
          expect(mel.data[t * 6 + m]).toBeCloseTo(s, 4);
        }
      const log = logMelSpectrogram(x, { ...c, power, logFloor: 0.05 });
      log.data.forEach((v, i) => expect(v).toBeCloseTo(Math.log(Math.max(mel.data[i] as number, 0.05)), 5));
    }
    expect(DEFAULT_MEL).toEqual({ sampleRate: 4000, nFft: 256, hop: 64, center: true, nMels: 64, fMin: 0, fMax: 2000, power: 1, logFloor: 1e-5 });
  });

  it('mel inversion: a non-negative spectrogram whose mel is the given one (power 2: its square root); wrong band count is an error', () => {
    const c = { ...DEFAULT_MEL, nMels: 8, nFft: 32, hop: 8 };
    const x = Float32Array.from({ length: 120 }, (_, i) => Math.sin(i * 0.6) + 0.3 * Math.cos(i * 1.7));
    for (const power of [1, 2] as const) {
      const cc = { ...c, power };
      const mel = melSpectrogram(x, cc);
      const s = melToMagnitude(mel, cc, 300);
      expect(s.bins).toBe(17);
      expect(s.frames).toBe(mel.frames);
      expect(s.data.every((v) => v >= 0)).toBe(true);
      const fb = melFilterbank(cc);
      let err = 0;
      let ref = 0;
      for (let t = 0; t < mel.frames; t++)
        for (let m = 0; m < 8; m++) {
          let y = 0;
          for (let k = 0; k < 17; k++) y += (fb[m * 17 + k] as number) * (s.data[t * 17 + k] as number) ** power;
          err += (y - (mel.data[t * 8 + m] as number)) ** 2;
          ref += (mel.data[t * 8 + m] as number) ** 2;
        }
      expect(Math.sqrt(err / ref)).toBeLessThan(0.02);
    }
    expect(() => melToMagnitude({ frames: 1, bins: 5, data: new Float32Array(5) }, c)).toThrow('melToMagnitude: got 5 mel bands, config has 8');
    // negative mel values count as 0
    const neg = melToMagnitude({ frames: 1, bins: 8, data: new Float32Array(8).fill(-1) }, c, 5);
    expect(Math.max(...neg.data)).toBeLessThan(1e-9);
  });

  it('log-mel to audio: exp, mel inversion, Griffin–Lim with the given options', () => {
    const c = { ...DEFAULT_MEL, nMels: 8, nFft: 32, hop: 8 };
    const x = Float32Array.from({ length: 96 }, (_, i) => Math.sin(i * 0.6));
    const lm = logMelSpectrogram(x, c);
    const want = griffinLim(melToMagnitude({ ...lm, data: lm.data.map((v) => Math.exp(v)) }, c), c, 96, { iterations: 3, seed: 2 });
    expect(Array.from(logMelToAudio(lm, 96, c, { iterations: 3, seed: 2 }))).toEqual(Array.from(want));
  });
});

describe('matrix products with explicit transposes (wasm) equal the plain ones (cpu)', () => {
  const r = (shape: [number, number], seed: number) => {
    const g = new Rng(seed);
    return tf.tensor2d(
      Float32Array.from({ length: shape[0] * shape[1] }, () => g.range(-1, 1)),
      shape,
    );
  };
  /** Value and both gradients of Σ w ⊙ f(a, b), as plain arrays. */
  const run = () =>
    tf.tidy(() => {
      const a = r([3, 4], 1);
      const b = r([4, 5], 2);
      const bt = r([5, 4], 3);
      const out: number[][] = [];
      for (const [f, x, y, w] of [
        [(p: tf.Tensor2D, q: tf.Tensor2D) => matMul(p, q), a, b, r([3, 5], 4)],
        [(p: tf.Tensor2D, q: tf.Tensor2D) => matMul(p, q, true), a, bt, r([3, 5], 5)],
        [(p: tf.Tensor2D, q: tf.Tensor2D) => matMulT(p, q, true, false), r([4, 3], 6), b, r([3, 5], 7)],
        [(p: tf.Tensor2D, q: tf.Tensor2D) => matMulT(p, q, false, true), a, bt, r([3, 5], 8)],
        [(p: tf.Tensor2D, q: tf.Tensor2D) => matMulT(p, q, true, true), r([4, 3], 9), bt, r([3, 5], 10)],
        [(p: tf.Tensor2D, q: tf.Tensor2D) => matMulT(p, q), a, b, r([3, 5], 11)],
      ] as Array<[(p: tf.Tensor2D, q: tf.Tensor2D) => tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]>) {
        out.push(Array.from(f(x, y).dataSync()));
        const [gx, gy] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(f(p as tf.Tensor2D, q as tf.Tensor2D), w)))([x, y]);
        out.push(Array.from((gx as tf.Tensor).dataSync()), Array.from((gy as tf.Tensor).dataSync()));
      }
      return out;
    });

  it('values and gradients of matMul (transposeB or not) and matMulT (all four flags)', async () => {
    const onCpu = run();
    // the written-out product for the first case: (a·b)[0][0]
    const a = r([3, 4], 1).arraySync();
    const b = r([4, 5], 2).arraySync();
    expect(onCpu[0]?.[0]).toBeCloseTo(
      [0, 1, 2, 3].reduce((s, k) => s + (a[0]?.[k] as number) * (b[k]?.[0] as number), 0),
      5,
    );
    await initBackend({ backend: 'wasm' });
    try {
      const onWasm = run();
      expect(onWasm).toHaveLength(onCpu.length);
      onWasm.forEach((arr, i) => arr.forEach((v, j) => expect(Math.abs(v - (onCpu[i]?.[j] as number)), `output ${i}, entry ${j}`).toBeLessThan(1e-5)));
    } finally {
      await initBackend({ backend: 'cpu' });
    }
  });
});

describe('B survivors: probe, embedders, codebook', () => {
  it('fitLogistic: an untrained model (0 steps, z = 0) says 0 — the boundary itself is class 0', () => {
    const p = fitLogistic([[1], [-1]], [1, 0], 0.01, 0, 0.5);
    expect(p([0])).toBe(0);
    expect(p([5])).toBe(0);
  });

  it('silhouette of a single point is NaN (one class), not 0', () => {
    expect(silhouette([[3]], [1])).toBeNaN();
  });

  it('latentProbe: folds drawn by Rng("probe/<seed>") per class in label order, k-th shuffled index → fold k mod folds (written out)', () => {
    const g = new Rng(8);
    const x = Array.from({ length: 24 }, (_, i) => [g.normal() + (i % 2 ? 0.6 : -0.6), g.normal()]);
    const labels = x.map((_, i) => i % 2);
    const byHand = (seed: number): number => {
      const z = standardize(x);
      const rng = new Rng(`probe/${seed}`);
      const foldOf: number[] = [];
      for (const c of [0, 1]) {
        const idx = rng.shuffle(labels.map((l, i) => (l === c ? i : -1)).filter((i) => i >= 0));
        idx.forEach((i, k) => {
          foldOf[i] = k % 5;
        });
      }
      let correct = 0;
      for (let f = 0; f < 5; f++) {
        const tr = z.map((_, i) => i).filter((i) => foldOf[i] !== f);
        const te = z.map((_, i) => i).filter((i) => foldOf[i] === f);
        const p = fitLogistic(
          tr.map((i) => z[i] as number[]),
          tr.map((i) => labels[i] as number),
        );
        correct += te.filter((i) => p(z[i] as number[]) === labels[i]).length;
      }
      return correct / 24;
    };
    const acc = [0, 1, 2, 3].map((s) => latentProbe(x, labels, { seed: s }).probeAccuracy);
    expect(acc).toEqual([0, 1, 2, 3].map(byHand));
    expect(new Set(acc).size).toBeGreaterThan(1); // the folds matter for these overlapping classes
    expect(latentProbe(x, labels).probeAccuracy).toBe(acc[0]); // no seed is seed 0
  });

  it('codebook: no EMA buffers without EMA; a search over exactly 8192 rows is one chunk', () => {
    const p = new Params(0);
    const cb = new Codebook(p, 'cb', { size: 3, dim: 1, beta: 0.25, ema: null, restart: null, dataInit: false });
    expect(p.names()).toEqual(['cb.embeddings']);
    cb.embeddings.assign(tf.tensor2d([[0], [1], [2]]));
    const rows = Array.from({ length: 8192 }, (_, i) => [(i % 7) / 3]);
    const got = tf.tidy(() => Array.from(cb.nearest(tf.tensor2d(rows)).dataSync()));
    expect(got).toHaveLength(8192);
    expect(got.slice(0, 7)).toEqual([0, 0, 1, 1, 1, 2, 2]);
    p.dispose();
  });

  it('codebook data init with fewer rows than codes: each copied entry gets its own jitter', async () => {
    const p = new Params(0);
    const cb = new Codebook(p, 'cb', { size: 6, dim: 1, beta: 0.25, ema: null, restart: null, dataInit: true });
    const flat = tf.tensor2d([[5], [6]]);
    const codes = tf.tensor2d([[0, 0]], [1, 2], 'int32');
    await cb.update(flat, codes, new Rng(4));
    const e = Array.from(cb.embeddings.dataSync());
    expect(new Set(e).size).toBe(6); // 6 codes from 2 rows: equal copies would coincide without per-entry jitter
    tf.dispose([flat, codes]);
    p.dispose();
  });

  it('codebook restart: a code whose usage equals the threshold is alive (strictly below is dead)', async () => {
    const p = new Params(0);
    const threshold = Math.fround(0.99); // usage after one unused step: 0.99·1 + 0.01·0 in float32
    const cb = new Codebook(p, 'cb', { size: 2, dim: 1, beta: 0.25, ema: null, restart: { threshold }, dataInit: false });
    const flat = tf.tensor2d([[0.5]]);
    const codes = tf.tensor2d([[0]], [1, 1], 'int32');
    expect(await cb.update(flat, codes, new Rng(1))).toEqual({ restarted: 0, initialized: false });
    expect(p.get('cb.usage').dataSync()[1]).toBe(threshold);
    tf.dispose([flat, codes]);
    p.dispose();
  });
});

/** A tiny ONNX network over log-mel windows [1, frames, mels] → the mean over frames [1, mels]. */
function onnxMeanOverFrames(file: string): void {
  const T = onnx.TensorProto.DataType.FLOAT;
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'soundtrack-lab test',
    graph: {
      name: 'mean-over-frames',
      input: [{ name: 'logmel', type: { tensorType: { elemType: T, shape: { dim: [{ dimValue: 1 }, { dimParam: 't' }, { dimParam: 'm' }] } } } }],
      output: [{ name: 'embedding', type: { tensorType: { elemType: T, shape: { dim: [{ dimValue: 1 }, { dimParam: 'm' }] } } } }],
      node: [
        {
          opType: 'ReduceMean',
          input: ['logmel'],
          output: ['embedding'],
          attribute: [
            { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1] },
            { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
          ],
        },
      ],
    },
  });
  writeFileSync(file, onnx.ModelProto.encode(model).finish());
}

describe('ONNX embedder: log-mel input, output names, error codes', () => {
  const dir = tempDir('t1-onnx-');
  const hasOrt = async () => {
    try {
      const pkg = 'onnxruntime-node';
      await import(pkg);
      return true;
    } catch {
      return false;
    }
  };
  const colMeans = (m: { frames: number; bins: number; data: Float32Array }) =>
    Array.from({ length: m.bins }, (_, b) => {
      let s = 0;
      for (let t = 0; t < m.frames; t++) s += m.data[t * m.bins + b] as number;
      return s / m.frames;
    });

  it('log-mel windows of the given mel config (default: 64 bands up to the network’s Nyquist) reach the network', async (ctx) => {
    if (!(await hasOrt())) ctx.skip('the optional dependency onnxruntime-node is not installed');
    const file = path.join(dir, 'mean.onnx');
    onnxMeanOverFrames(file);
    const clip = Float32Array.from({ length: 4000 }, (_, i) => Math.sin(i * 0.8) + 0.3 * Math.sin(i * 2.3));
    const mel = { ...DEFAULT_MEL, nMels: 16, nFft: 64, hop: 32 };
    const w = { windowSeconds: 0.5, hopSeconds: 0.5 };
    const emb = await loadOnnxEmbedder(file, { sampleRate: 4000, input: 'logmel', mel, windowing: w });
    expect(emb.name).toBe('onnx:mean.onnx (logmel @ 4000 Hz, 0.5-s windows)');
    const rows = await emb.embed([clip]);
    const wins = windows(clip, 4000, w);
    expect(rows).toHaveLength(2);
    rows.forEach((r, k) => expect(Array.from(r)).toEqual(colMeans(logMelSpectrogram(wins[k] as Float32Array, mel)).map((v) => expect.closeTo(v, 4))));
    // default mel config at the network's rate (8 kHz: resampled, 64 bands up to 4 kHz)
    const def = await loadOnnxEmbedder(file, { sampleRate: 8000, input: 'logmel', windowing: w });
    const up = resample(clip, 4000, 8000);
    const d = await def.embed([clip]);
    expect(d[0]).toHaveLength(64);
    const want = colMeans(logMelSpectrogram(windows(up, 8000, w)[0] as Float32Array, { ...DEFAULT_MEL, sampleRate: 8000, fMax: 4000 }));
    expect(Array.from(d[0] as Float32Array)).toEqual(want.map((v) => expect.closeTo(v, 3)));
  });

  it('an output the model does not have is an InputError naming it', async (ctx) => {
    if (!(await hasOrt())) ctx.skip('the optional dependency onnxruntime-node is not installed');
    const file = path.join(dir, 'mean2.onnx');
    onnxMeanOverFrames(file);
    const emb = await loadOnnxEmbedder(file, { sampleRate: 4000, input: 'logmel', outputName: 'nope' });
    const err = await emb.embed([new Float32Array(4000)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('bad-argument');
    expect((err as Error).message).toBe(`${file}: the model has no output 'nope'`);
  });

  it('a missing model is not-found, a broken one decode-failed; the message names the file and the first line of the cause', async (ctx) => {
    if (!(await hasOrt())) ctx.skip('the optional dependency onnxruntime-node is not installed');
    const missing = path.join(dir, 'nope.onnx');
    const e1 = (await loadOnnxEmbedder(missing, { sampleRate: 16000 }).catch((e: unknown) => e)) as InputError;
    expect(e1).toBeInstanceOf(InputError);
    expect(e1.code).toBe('not-found');
    expect(e1.message.startsWith(`${missing}: cannot load the ONNX model: `)).toBe(true);
    expect(e1.message).not.toContain('\n');
    expect(e1.message.length).toBeGreaterThan(`${missing}: cannot load the ONNX model: `.length + 10); // the cause's first line follows
    const broken = path.join(dir, 'broken.onnx');
    writeFileSync(broken, 'not a model');
    const e2 = (await loadOnnxEmbedder(broken, { sampleRate: 16000 }).catch((e: unknown) => e)) as InputError;
    expect(e2.code).toBe('decode-failed');
    expect(e2.message.startsWith(`${broken}: cannot load the ONNX model: `)).toBe(true);
  });
});

describe('C survivors: checkpoint files', () => {
  const root = tempDir('t1-ck2-');
  let n = 0;
  const fresh = () => path.join(root, `run${n++}`);
  const withAdam = (step: number) => ({
    meta: checkpointMeta(step),
    params: checkpointParams(step),
    optimizer: { config: DEFAULT_ADAM, state: { step, m: new Map([['w', tf.ones([2])]]), v: new Map([['w', tf.ones([2])]]) } },
  });

  it('model.json and optimizer.json are soundtrack-lab weights manifests', async () => {
    const run = fresh();
    await saveCheckpoint(run, withAdam(1));
    for (const f of ['model.json', 'optimizer.json'])
      expect(JSON.parse(readFileSync(path.join(run, 'step-0000001', f), 'utf8')).format).toBe('soundtrack-lab/weights');
  });

  it('keep removes only step-NNNNNNN folders, never the one just written (an older step saved last stays)', async () => {
    const run = fresh();
    mkdirSync(run);
    for (const d of ['step-0000001.bak', 'old-step-0000001']) mkdirSync(path.join(run, d));
    await saveCheckpoint(run, { meta: checkpointMeta(5), params: checkpointParams(5), keep: 1 });
    await saveCheckpoint(run, { meta: checkpointMeta(3), params: checkpointParams(3), keep: 1 });
    // keep 1 would drop the older name, step-0000003 — but it is the one just written (latest.json names it)
    expect(readdirSync(run).sort()).toEqual(['latest.json', 'old-step-0000001', 'step-0000001.bak', 'step-0000003', 'step-0000005']);
    expect(await findCheckpoint(run)).toBe(path.join(run, 'step-0000003'));
  });

  it('a corrupt latest.json: the hint names only step-NNNNNNN folders; pointers outside the run folder are corrupt', async () => {
    const run = fresh();
    await saveCheckpoint(run, { meta: checkpointMeta(2), params: checkpointParams(2) });
    for (const d of ['step-0000009.bak', 'xstep-0000009']) {
      mkdirSync(path.join(run, d));
      writeFileSync(path.join(run, d, 'checkpoint.json'), '{}');
    }
    writeFileSync(path.join(run, 'latest.json'), 'garbage');
    await expect(findCheckpoint(run)).rejects.toThrow(`the newest intact checkpoint is ${path.join(run, 'step-0000002')};`);
    for (const dir of ['../step-0000002', 'step-0000002x', ['step-0000002']]) {
      writeFileSync(path.join(run, 'latest.json'), JSON.stringify({ dir }));
      const e = await findCheckpoint(run).catch((err: unknown) => err);
      expect(e, JSON.stringify(dir)).toBeInstanceOf(CheckpointError);
    }
  });

  it('read errors keep their cause', async () => {
    const run = fresh();
    await saveCheckpoint(run, { meta: checkpointMeta(1), params: checkpointParams(1) });
    const step = path.join(run, 'step-0000001');
    const causeOf = async () => ((await loadCheckpoint(run).catch((e: unknown) => e)) as Error).cause;
    const model = readFileSync(path.join(step, 'model.json'), 'utf8');
    writeFileSync(path.join(step, 'model.json'), '{');
    expect(await causeOf()).toBeInstanceOf(SyntaxError);
    writeFileSync(path.join(step, 'model.json'), model);
    renameSync(path.join(step, 'weights.bin'), path.join(step, 'w.bak'));
    expect(((await causeOf()) as NodeJS.ErrnoException).code).toBe('ENOENT');
    renameSync(path.join(step, 'w.bak'), path.join(step, 'weights.bin'));
    writeFileSync(path.join(step, 'checkpoint.json'), 'nope');
    expect(await causeOf()).toBeInstanceOf(SyntaxError);
  });

  it('export replaces an existing folder, works with or without optimizer moments, and leaves no tensors behind', async () => {
    const src = fresh();
    await saveCheckpoint(src, withAdam(4));
    const plain = fresh();
    await saveCheckpoint(plain, { meta: checkpointMeta(6), params: checkpointParams(6) });
    const dst = fresh();
    const before = tf.memory().numTensors;
    await exportCheckpoint(src, dst);
    expect(tf.memory().numTensors).toBe(before);
    await exportCheckpoint(plain, dst); // the folder exists now: replaced
    expect(tf.memory().numTensors).toBe(before);
    expect(readdirSync(dst).sort()).toEqual(['latest.json', 'step-0000006']);
    const ck = await loadCheckpoint(dst);
    expect(Array.from((ck.weights['w'] as tf.Tensor).dataSync())).toEqual([6, 6]);
    expect(ck.optimizer).toBeNull();
  });

  it('restoreParams lists exactly four problems without "(+0 more)"', () => {
    const four = new Params(0);
    for (const name of ['c', 'd', 'e', 'f']) four.create(name, [1], { kind: 'zeros' });
    let msg = '';
    try {
      restoreParams(four, {}, 'ck');
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toBe('ck: weights do not fit this model (a checkpoint of another model or preset?): missing c; missing d; missing e; missing f');
    four.dispose();
  });
});

describe('patch smoothing, exactly', () => {
  it('median3x3 of a 3 × 3 grid with replicated edges, every cell worked out by hand', () => {
    // rows are frames, columns bands; (0, 0) sees 1, 1, 9 / 1, 1, 9 / 8, 8, 3 → median 3; (1, 1) sees 1…9 → 5
    const data = new Float32Array([1, 9, 2, 8, 3, 7, 4, 6, 5]);
    const m = median3x3({ frames: 3, bins: 3, data });
    expect([...m.data]).toEqual([3, 3, 3, 4, 5, 5, 4, 5, 5]);
    expect(m.data).not.toBe(data);
    expect([...data]).toEqual([1, 9, 2, 8, 3, 7, 4, 6, 5]);
  });

  it('median3x3 of a 2 × 4 grid: edges replicated on both axes, bands not mixed up with frames', () => {
    // frame 0: 0 10 20 30, frame 1: 1 40 2 50; (1, 1) sees 0 10 20 / 1 40 2 / 1 40 2 → 2
    const m = median3x3({ frames: 2, bins: 4, data: new Float32Array([0, 10, 20, 30, 1, 40, 2, 50]) });
    expect(m.frames).toBe(2);
    expect(m.bins).toBe(4);
    expect([...m.data]).toEqual([1, 10, 20, 30, 1, 2, 30, 30]);
  });

  it('roughness of a single frame has dt 0, of a single band df 0; the other is the mean neighbour difference', () => {
    expect(roughness({ frames: 1, bins: 3, data: new Float32Array([0, 4, 1]) })).toEqual({ dt: 0, df: (4 + 3) / 2 });
    expect(roughness({ frames: 3, bins: 1, data: new Float32Array([0, -4, 2]) })).toEqual({ dt: (4 + 6) / 2, df: 0 });
    // 3 frames × 2 bands: dt = (|2 − 0| + |3 − 1| + |2 − 2| + |7 − 3|) / 4, df = (1 + 1 + 5) / 3
    expect(roughness({ frames: 3, bins: 2, data: new Float32Array([0, 1, 2, 3, 2, 7]) })).toEqual({ dt: 8 / 4, df: 7 / 3 });
  });
});

describe('mel-flow sampler, exactly', () => {
  const cfg = { frames: 2, nMels: 3, classes: 2 };
  /** A field v = f(x, t) that records each call: its times, its labels and its batch size. */
  const recording = (f: (x: tf.Tensor3D, t: tf.Tensor1D) => tf.Tensor3D) => {
    const calls: { t: number[]; labels: number[] }[] = [];
    const model: VelocityModel = {
      cfg,
      velocity: (x, t, label) => {
        calls.push({ t: Array.from(t.dataSync()), labels: Array.from(label.dataSync()) });
        return f(x, t);
      },
    };
    return { model, calls };
  };
  const zero = (x: tf.Tensor3D) => tf.zerosLike(x);

  it('the starting noise is temperature · N(0, 1) from Rng("<seed>/patch<i>"), returned as is by a zero field', async () => {
    const { model } = recording(zero);
    const out = await sampleMelPatches(model, [1, 0], 'abc', { steps: 1, temperature: 0.5 });
    expect(out.length).toBe(2);
    out.forEach((patch, i) => {
      const rng = new Rng(`abc/patch${i}`);
      const want = Float32Array.from({ length: 6 }, () => 0.5 * rng.normal());
      expect(Array.from(patch)).toEqual(Array.from(want));
    });
  });

  it('midpoint steps: v = x gives x0·(1 + h + h²/2)^steps; v = t gives x0 + 1/2 exactly', async () => {
    const { model: lin } = recording((x) => tf.clone(x));
    const [x0] = await sampleMelPatches(recording(zero).model, [0], 's', { steps: 1 });
    const [x1] = await sampleMelPatches(lin, [0], 's', { steps: 2, guidance: 1 });
    (x1 as Float32Array).forEach((v, i) => expect(v).toBeCloseTo((x0 as Float32Array)[i]! * 1.625 ** 2, 5));
    const { model: timeField } = recording((x, t) => tf.mul(tf.onesLike(x), tf.reshape(t, [-1, 1, 1])) as tf.Tensor3D);
    const [x2] = await sampleMelPatches(timeField, [0], 's', { steps: 3, guidance: 1 });
    (x2 as Float32Array).forEach((v, i) => expect(v).toBeCloseTo((x0 as Float32Array)[i]! + 0.5, 5));
  });

  it('the field is evaluated at t = s·h and s·h + h/2; guided calls stack [class; null] labels, unguided ones the labels alone; the interval is [from, to)', async () => {
    const guided = recording(zero);
    await sampleMelPatches(guided.model, [1, 0], 'g', { steps: 2, guidance: 3 });
    expect(guided.calls).toEqual([0, 0.25, 0.5, 0.75].map((t) => ({ t: [t, t, t, t], labels: [1, 0, 2, 2] })));
    const plain = recording(zero);
    await sampleMelPatches(plain.model, [1, 0], 'g', { steps: 2, guidance: 1 });
    expect(plain.calls).toEqual([0, 0.25, 0.5, 0.75].map((t) => ({ t: [t, t], labels: [1, 0] })));
    // a guidance interval [0.5, 1]: unguided before t = 0.5, guided from there on
    const late = recording(zero);
    await sampleMelPatches(late.model, [0], 'g', { steps: 2, guidance: 2, guidanceInterval: [0.5, 1] });
    expect(late.calls.map((c) => c.labels)).toEqual([[0], [0], [0, 2], [0, 2]]);
    // [0, 0.5): guided before t = 0.5, not at 0.5 itself
    const early = recording(zero);
    await sampleMelPatches(early.model, [0], 'g', { steps: 2, guidance: 2, guidanceInterval: [0, 0.5] });
    expect(early.calls.map((c) => c.labels)).toEqual([[0, 2], [0, 2], [0], [0]]);
  });

  it('onStep is awaited after each step with (done, total)', async () => {
    const seen: string[] = [];
    const { model } = recording(zero);
    await sampleMelPatches(model, [0], 'p', {
      steps: 3,
      onStep: async (done, total) => {
        await new Promise((r) => setTimeout(r, 5));
        seen.push(`${done}/${total}`);
      },
    });
    expect(seen).toEqual(['1/3', '2/3', '3/3']);
  });

  it('argument checks: steps, classes and the guidance interval, each with its message', async () => {
    const { model } = recording(zero);
    for (const steps of [0, 1.5])
      await expect(sampleMelPatches(model, [0], 'a', { steps })).rejects.toThrow(`flow sampling: steps must be a positive integer, got ${steps}`);
    for (const l of [-1, 0.5, 2]) await expect(sampleMelPatches(model, [l], 'a')).rejects.toThrow(`flow sampling: class ${l} is not one of 0…1`);
    for (const [a, b] of [
      [-0.1, 1],
      [0, 1.1],
    ] as [number, number][])
      await expect(sampleMelPatches(model, [0], 'a', { guidanceInterval: [a, b] })).rejects.toThrow(
        `flow sampling: guidance interval must satisfy 0 ≤ from ≤ to ≤ 1, got [${a}, ${b}]`,
      );
    // an empty interval [0.5, 0.5] is allowed (no guidance anywhere)
    const empty = recording(zero);
    await sampleMelPatches(empty.model, [0], 'a', { steps: 1, guidance: 2, guidanceInterval: [0.5, 0.5] });
    expect(empty.calls.map((c) => c.labels)).toEqual([[0], [0]]);
  });
});

describe('checkpoints over HTTP, exactly', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);
  const meta = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, ...checkpointMeta(2) };
  /** A static server over a map of path → body (missing: 404 Not Found), recording the URLs asked for. */
  const server = (files: Record<string, Uint8Array | string>) => {
    const asked: string[] = [];
    const fetch: FetchLike = async (url) => {
      asked.push(url);
      const body = files[new URL(url).pathname];
      return body === undefined ? new Response('no', { status: 404, statusText: 'Not Found' }) : new Response(typeof body === 'string' ? enc(body) : body);
    };
    return { fetch, asked };
  };
  const run = (over: Record<string, Uint8Array | string | undefined> = {}) => {
    const files: Record<string, Uint8Array | string> = {
      '/run/latest.json': '{"format":"soundtrack-lab/latest","step":2,"dir":"step-0000002"}',
      '/run/step-0000002/checkpoint.json': JSON.stringify(meta),
      '/run/step-0000002/model.json': JSON.stringify({
        format: 'soundtrack-lab/weights',
        weightsManifest: [
          {
            paths: ['a.bin', 'b.bin'],
            weights: [
              { name: 'w', shape: [2], dtype: 'float32' },
              { name: 'u', shape: [1], dtype: 'float32' },
            ],
          },
        ],
      }),
      '/run/step-0000002/a.bin': f32(1, 2),
      '/run/step-0000002/b.bin': f32(3),
    };
    for (const [k, v] of Object.entries(over)) {
      if (v === undefined) delete files[k];
      else files[k] = v;
    }
    return server(files);
  };
  const failure = async (p: Promise<unknown>): Promise<CheckpointError> => {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(CheckpointError);
      return e as CheckpointError;
    }
    throw new Error('no error');
  };

  it('latest.json → checkpoint.json → model.json → each weight file in order, concatenated; never the optimizer moments', async () => {
    for (const runUrl of ['http://h/run', 'http://h/run/']) {
      const s = run();
      const ck = await fetchCheckpoint(runUrl, 'test', { fetch: s.fetch });
      expect(s.asked).toEqual([
        'http://h/run/latest.json',
        'http://h/run/step-0000002/checkpoint.json',
        'http://h/run/step-0000002/model.json',
        'http://h/run/step-0000002/a.bin',
        'http://h/run/step-0000002/b.bin',
      ]);
      expect(ck.url).toBe('http://h/run/step-0000002/');
      expect(ck.meta.step).toBe(2);
      expect(ck.weightBytes).toBe(12);
      expect(Object.keys(ck.weights).sort()).toEqual(['u', 'w']);
      expect(Array.from((ck.weights['w'] as tf.Tensor).dataSync())).toEqual([1, 2]);
      expect(Array.from((ck.weights['u'] as tf.Tensor).dataSync())).toEqual([3]);
      tf.dispose(Object.values(ck.weights));
    }
  });

  it('without a fetch option it uses the global fetch', async () => {
    const s = run();
    vi.stubGlobal('fetch', s.fetch);
    try {
      const ck = await fetchCheckpoint('http://h/run');
      expect(ck.weightBytes).toBe(12);
      expect(s.asked.length).toBe(5);
      tf.dispose(Object.values(ck.weights));
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('a failed fetch, an HTTP error and a body that is not JSON: each message names the URL and what it is', async () => {
    const boom = new Error('offline');
    const e1 = await failure(fetchCheckpoint('http://h/run', undefined, { fetch: () => Promise.reject(boom) }));
    expect(e1.message).toBe('http://h/run/latest.json: cannot fetch the checkpoint pointer (latest.json) (offline)');
    expect(e1.cause).toBe(boom);
    const e2 = await failure(fetchCheckpoint('http://h/gone', undefined, { fetch: run().fetch }));
    expect(e2.message).toBe('http://h/gone/latest.json: cannot fetch the checkpoint pointer (latest.json) (HTTP 404 Not Found)');
    const e3 = await failure(fetchCheckpoint('http://h/run', undefined, { fetch: async () => new Response('x', { status: 500 }) }));
    expect(e3.message).toBe('http://h/run/latest.json: cannot fetch the checkpoint pointer (latest.json) (HTTP 500)');
    const e4 = await failure(fetchCheckpoint('http://h/run', undefined, { fetch: run({ '/run/latest.json': 'garbage' }).fetch }));
    expect(e4.message).toMatch(/^http:\/\/h\/run\/latest\.json: the checkpoint pointer \(latest\.json\) is not JSON \(.+\)$/);
    expect(e4.cause).toBeInstanceOf(SyntaxError);
    const e5 = await failure(fetchCheckpoint('http://h/run', undefined, { fetch: run({ '/run/step-0000002/checkpoint.json': '{' }).fetch }));
    expect(e5.message).toMatch(/^http:\/\/h\/run\/step-0000002\/checkpoint\.json: the checkpoint metadata is not JSON \(/);
    const e6 = await failure(fetchCheckpoint('http://h/run', undefined, { fetch: run({ '/run/step-0000002/model.json': undefined }).fetch }));
    expect(e6.message).toBe('http://h/run/step-0000002/model.json: cannot fetch the weights manifest (HTTP 404 Not Found)');
    const e7 = await failure(fetchCheckpoint('http://h/run', undefined, { fetch: run({ '/run/step-0000002/b.bin': undefined }).fetch }));
    expect(e7.message).toBe('http://h/run/step-0000002/b.bin: cannot fetch the weights file (HTTP 404 Not Found)');
  });

  it('latest.json must name a plain folder; the kind must match; the manifest must list weights; the bytes must add up', async () => {
    for (const latest of ['null', '{}', '{"dir":3}', '{"dir":"../up"}', '{"dir":"a/b"}', '{"dir":"/abs"}', '{"dir":"sub/"}', '{"dir":""}']) {
      const e = await failure(fetchCheckpoint('http://h/run', undefined, { fetch: run({ '/run/latest.json': latest }).fetch }));
      expect(e.message, latest).toBe('http://h/run/latest.json: names no checkpoint folder');
    }
    const e1 = await failure(fetchCheckpoint('http://h/run', 'codec', { fetch: run().fetch }));
    expect(e1.message).toBe('http://h/run/step-0000002/checkpoint.json: is a test checkpoint, not a codec');
    const e2 = await failure(fetchCheckpoint('http://h/run', undefined, { fetch: run({ '/run/step-0000002/model.json': '{"weightsManifest":[]}' }).fetch }));
    expect(e2.message).toBe('http://h/run/step-0000002/model.json: the weights manifest lists no weights');
    const e3 = await failure(fetchCheckpoint('http://h/run', undefined, { fetch: run({ '/run/step-0000002/b.bin': new Uint8Array(2) }).fetch }));
    expect(e3.message).toBe('http://h/run/step-0000002/a.bin+b.bin: weights data is 10 bytes, the manifest needs 12 (truncated or mismatched file)');
  });
});

describe('loading codecs and priors from checkpoints, exactly', () => {
  const root = tempDir('t1-models-');
  let n = 0;
  const save = async (kind: string, model: unknown, params: Params): Promise<string> => {
    const run = path.join(root, `run${n++}`);
    await saveCheckpoint(run, { meta: { ...checkpointMeta(4), kind, model }, params });
    return run;
  };
  const codecCfg = codecPreset('spec-vqvae', 'quick', 1);
  const priorCfg = priorPreset('top', 'quick', { codes: 16, topLength: 8, bottomLength: 32 }, 1).model;

  it('loadCodec / loadPrior give the saved weights, the step, the step folder and the config', async () => {
    // the saved weights are the initial ones moved by 0.5, so a model that skipped restoring them differs
    const moved = (params: Params) => {
      for (const info of params.info()) params.get(info.name).assign(tf.tidy(() => tf.add(params.get(info.name), 0.5)));
    };
    const c = new Codec(codecCfg);
    moved(c.params);
    const cRun = await save('codec', codecCfg, c.params);
    const loaded = await loadCodec(cRun);
    expect(loaded.step).toBe(4);
    expect(loaded.dir).toBe(path.join(cRun, 'step-0000004'));
    expect(loaded.config).toEqual(codecCfg);
    for (const info of c.params.info())
      expect(Array.from(loaded.codec.params.get(info.name).dataSync()), info.name).toEqual(Array.from(c.params.get(info.name).dataSync()));
    c.dispose();
    loaded.codec.dispose();
    const p = new Prior(priorCfg);
    moved(p.params);
    const pRun = await save('prior', priorCfg, p.params);
    for (const level of ['top', undefined] as const) {
      const lp = await loadPrior(pRun, level);
      expect(lp.step).toBe(4);
      expect(lp.dir).toBe(path.join(pRun, 'step-0000004'));
      expect(lp.config).toEqual(priorCfg);
      for (const info of p.params.info())
        expect(Array.from(lp.prior.params.get(info.name).dataSync()), info.name).toEqual(Array.from(p.params.get(info.name).dataSync()));
      lp.prior.dispose();
    }
    p.dispose();
  });

  it('a config this version does not understand, or the wrong level, is a CheckpointError naming the step folder', async () => {
    const w = () => checkpointParams(1);
    for (const [model, kind] of [
      [null, 'undefined'],
      [{ format: 'nope' }, 'undefined'],
      [{ ...codecCfg, kind: 'wav2vec' }, '"wav2vec"'],
      [{ ...codecCfg, format: 'soundtrack-lab/prior' }, `"${codecCfg.kind}"`],
    ] as const) {
      const run = await save('codec', model, w());
      await expect(loadCodec(run)).rejects.toThrow(`${path.join(run, 'step-0000004')}: holds no codec config this version understands (kind ${kind})`);
    }
    for (const model of [null, { ...priorCfg, format: 'soundtrack-lab/codec' }]) {
      const run = await save('prior', model, w());
      await expect(loadPrior(run)).rejects.toThrow(`${path.join(run, 'step-0000004')}: holds no prior config this version understands`);
    }
    const top = await save('prior', priorCfg, w());
    await expect(loadPrior(top, 'bottom')).rejects.toThrow(`${path.join(top, 'step-0000004')}: is a top prior, not a bottom prior`);
    await expect(loadCodec(top)).rejects.toThrow(/is a prior checkpoint, not a codec$/);
    const codec = await save('codec', codecCfg, w());
    await expect(loadPrior(codec)).rejects.toThrow(/is a codec checkpoint, not a prior$/);
  });

  it('weights that do not fit: the error of restoreParams, and the half-built model is disposed', async () => {
    const c = await save('codec', codecCfg, checkpointParams(1));
    const p = await save('prior', priorCfg, checkpointParams(1));
    const before = tf.memory().numTensors;
    await expect(loadCodec(c)).rejects.toThrow(`${path.join(c, 'step-0000004')}: weights do not fit this model`);
    expect(tf.memory().numTensors).toBe(before);
    await expect(loadPrior(p)).rejects.toThrow(`${path.join(p, 'step-0000004')}: weights do not fit this model`);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('file helpers, exactly', () => {
  const root = tempDir('t1-fs-');

  it('writeFileAtomic: makes the folders, writes text or bytes, replaces an old file, leaves only the file', async () => {
    const file = path.join(root, 'a', 'b', 'f.txt');
    await writeFileAtomic(file, 'hello');
    expect(readFileSync(file, 'utf8')).toBe('hello');
    await writeFileAtomic(file, new Uint8Array([104, 105]));
    expect(readFileSync(file, 'utf8')).toBe('hi');
    expect(readdirSync(path.dirname(file))).toEqual(['f.txt']);
  });

  it('writeFileAtomic closes its file handle (no descriptor left open)', async () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 5; i++) await writeFileAtomic(path.join(root, 'fd', `h${i}.txt`), 'x');
    expect(fds()).toBe(before);
  });

  it('writeFileAtomic: the temp file is .<name>.<pid>.<8 hex>.tmp beside the target, and a failed rename removes it', async () => {
    const dir = path.join(root, 'fail');
    const file = path.join(dir, 'g.bin');
    const opened: string[] = [];
    const realOpen = fsp.open.bind(fsp);
    const open = vi.spyOn(fsp, 'open').mockImplementation(((p: string, flags: string) => {
      opened.push(p);
      return realOpen(p, flags);
    }) as typeof fsp.open);
    const rename = vi.spyOn(fsp, 'rename').mockRejectedValue(Object.assign(new Error('EXDEV'), { code: 'EXDEV' }));
    try {
      await expect(writeFileAtomic(file, 'x')).rejects.toThrow('EXDEV');
    } finally {
      open.mockRestore();
      rename.mockRestore();
    }
    expect(opened.length).toBe(1);
    expect(path.dirname(opened[0] as string)).toBe(dir);
    expect(path.basename(opened[0] as string)).toMatch(new RegExp(`^\\.g\\.bin\\.${process.pid}\\.[0-9a-f]{8}\\.tmp$`));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('exists, isDirectory: a file, a folder, nothing', async () => {
    const file = path.join(root, 'e.txt');
    writeFileSync(file, '');
    expect([await exists(file), await exists(root), await exists(path.join(root, 'none'))]).toEqual([true, true, false]);
    expect([await isDirectory(file), await isDirectory(root), await isDirectory(path.join(root, 'none'))]).toEqual([false, true, false]);
  });

  it('listFiles: files only (not folders), extension case-insensitive, natural order, full paths; naturalCompare', async () => {
    const dir = path.join(root, 'list');
    mkdirSync(path.join(dir, 'sub.wav'), { recursive: true });
    for (const f of ['b10.wav', 'b2.WAV', 'a.txt', 'c.mp3', 'b1.wav']) writeFileSync(path.join(dir, f), '');
    expect(await listFiles(dir, ['.wav', '.mp3'])).toEqual(['b1.wav', 'b2.WAV', 'b10.wav', 'c.mp3'].map((f) => path.join(dir, f)));
    expect(await listFiles(dir, ['.txt'])).toEqual([path.join(dir, 'a.txt')]);
    expect(naturalCompare('cat_2', 'cat_10')).toBeLessThan(0);
    expect(naturalCompare('cat_10', 'cat_2')).toBeGreaterThan(0);
    expect(naturalCompare('a', 'a')).toBe(0);
  });
});

describe('mel: frame energy and the NNLS steps, exactly', () => {
  it('frameCount: an uncentred signal shorter than a frame has 0 frames, not 1 + ⌊(length − nFft)/hop⌋ < 0', () => {
    expect(frameCount(10, { nFft: 256, hop: 64, center: false })).toBe(0);
    expect(frameCount(256, { nFft: 256, hop: 64, center: false })).toBe(1);
  });

  it('frameEnergy: per frame, the sum of exp over the bands', () => {
    const e = frameEnergy({ frames: 2, bins: 3, data: new Float32Array([0, Math.log(2), Math.log(3), Math.log(0.5), 0, Math.log(4)]) });
    expect(e.length).toBe(2);
    expect(e[0]).toBeCloseTo(1 + 2 + 3, 5);
    expect(e[1]).toBeCloseTo(0.5 + 1 + 4, 5);
  });

  it('melToMagnitude: starts at Mᵀy + 1e-12, then s ← s·Mᵀy / (MᵀM·s + 1e-12) per iteration (written out); bins no filter reaches stay +0', () => {
    const c = { ...DEFAULT_MEL, nMels: 2, nFft: 8, hop: 2 };
    const bins = 5;
    const fb = melFilterbank(c);
    const y = [1, 2];
    const mty = Array.from({ length: bins }, (_, k) => y.reduce((a, v, m) => a + (fb[m * bins + k] as number) * v, 0));
    const step = (sv: number[]) =>
      sv.map((v, i) => {
        let g = 0;
        for (let j = 0; j < bins; j++) for (let m = 0; m < 2; m++) g += (fb[m * bins + i] as number) * (fb[m * bins + j] as number) * (sv[j] as number);
        return (v * (mty[i] as number)) / (g + 1e-12);
      });
    const s0 = mty.map((v) => v + 1e-12);
    const s1 = step(s0);
    const s2 = step(s1);
    const mel = { frames: 1, bins: 2, data: new Float32Array(y) };
    expect(Array.from(melToMagnitude(mel, c, 0).data)).toEqual(Array.from(Float32Array.from(s0)));
    const one = melToMagnitude(mel, c, 1).data;
    const two = melToMagnitude(mel, c, 2).data;
    const near = (got: Float32Array, want: number[]) =>
      got.forEach((v, k) => expect(Math.abs(v - (want[k] as number))).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want[k] as number))));
    near(one, s1);
    near(two, s2);
    expect(Math.max(...s1.map((v, k) => Math.abs(v - (s2[k] as number))))).toBeGreaterThan(1e-3); // one more iteration shows
    // bin 0 (0 Hz) is outside every filter: Mᵀy = 0 there, and the update keeps it +0 (not −0)
    expect(mty[0]).toBe(0);
    expect(Object.is(one[0], 0)).toBe(true);
  });
});

describe('which kernels the matrix products and the segment sum run', () => {
  /** Names of the kernels f runs (forward, and the gradients when f takes them). */
  const kernels = async (f: () => tf.TensorContainer) => (await tf.profile(() => f())).kernels.map((k) => k.name);
  const a = () => tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = () => tf.tensor2d([1, 0, 2, 1, 0, 3], [3, 2]);
  const bt = () => tf.tensor2d([1, 2, 0, 0, 1, 3], [2, 3]);
  const cases = () => [
    () => matMul(a(), bt(), true),
    () => matMulT(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]), b(), true, false),
    () => matMulT(a(), bt(), false, true),
    () => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(matMul(x as tf.Tensor2D, y as tf.Tensor2D)))([a(), b()]),
  ];

  it('cpu: transposed operands go to BatchMatMul as flags (no Transpose kernel); linear is BatchMatMul + Add; segmentSum is UnsortedSegmentSum', async () => {
    for (const f of cases()) expect(await kernels(f)).not.toContain('Transpose');
    expect((await kernels(() => linear(a(), b(), tf.tensor1d([1, 2])))).filter((k) => k !== 'Reshape')).toEqual(['BatchMatMul', 'Add']);
    expect(await kernels(() => segmentSum(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor1d([1, 1], 'int32'), 3))).toContain('UnsortedSegmentSum');
  });

  it('wasm: every transposed operand is transposed explicitly (a Transpose kernel) before a plain product', async () => {
    await initBackend({ backend: 'wasm' });
    try {
      for (const f of cases()) expect(await kernels(f)).toContain('Transpose');
      expect(await kernels(() => matMul(a(), b()))).not.toContain('Transpose');
    } finally {
      await initBackend({ backend: 'cpu' });
    }
  });
});

describe('convolutions, exactly', () => {
  /** [b][n][c] uniform in [−1, 1) from Rng(seed). */
  const rand3 = (b: number, n: number, c: number, seed: number): number[][][] => {
    const r = new Rng(seed);
    return Array.from({ length: b }, () => Array.from({ length: n }, () => Array.from({ length: c }, () => r.range(-1, 1))));
  };
  /** y[b, t, o] = bias[o] + Σ_j Σ_a x[b, s·t + d·j − p, a] · w[j, a, o], zero outside x: the definition as plain loops. */
  const convLoops = (x: number[][][], w: number[][][], bias: number[] | null, s: number, d: number, p: number): number[][][] => {
    const length = x[0]!.length;
    const kernel = w.length;
    const tout = Math.floor((length + 2 * p - d * (kernel - 1) - 1) / s) + 1;
    return x.map((xb) =>
      Array.from({ length: tout }, (_, t) =>
        w[0]![0]!.map((_, o) => {
          let acc = bias ? bias[o]! : 0;
          for (let j = 0; j < kernel; j++) {
            const i = s * t + d * j - p;
            if (i >= 0 && i < length) xb[i]!.forEach((xa, a) => (acc += xa * w[j]![a]![o]!));
          }
          return acc;
        }),
      ),
    );
  };
  /** y[b, s·t + j − p, o] += x[b, t, a] · w[j, a, o] for output positions in [0, s·length): the definition as plain loops. */
  const convTransposeLoops = (x: number[][][], w: number[][][], bias: number[] | null, s: number, p: number): number[][][] =>
    x.map((xb) => {
      const y = Array.from({ length: s * xb.length }, () => w[0]![0]!.map((_, o) => (bias ? bias[o]! : 0)));
      xb.forEach((xt, t) =>
        w.forEach((wj, j) => {
          const i = s * t + j - p;
          if (i >= 0 && i < y.length) xt.forEach((xa, a) => wj[a]!.forEach((wo, o) => (y[i]![o]! += xa * wo)));
        }),
      );
      return y;
    });
  const expectClose = (got: tf.Tensor, want: number[][][]) => {
    expect(got.shape).toEqual([want.length, want[0]!.length, want[0]![0]!.length]);
    const g = got.dataSync();
    want.flat(2).forEach((v, i) => expect(g[i]!).toBeCloseTo(v, 5));
  };

  it('conv1d and conv1dReference equal the plain-loop definition: padding, a folded input padded (p = 0) or cut at the end, strided and dilated together, one output, one tap, no bias', () => {
    const cases = [
      { kernel: 3, stride: 1, dilation: 1, padding: 1, length: 5, bias: true },
      // p = 0: the folded length 8 is one past the input (the reference pads 1 on the right only)
      { kernel: 3, stride: 2, dilation: 1, padding: 0, length: 7, bias: false },
      // the folded length 6 is one short of the input (the reference cuts the unread last sample)
      { kernel: 4, stride: 2, dilation: 1, padding: 0, length: 7, bias: true },
      { kernel: 3, stride: 3, dilation: 2, padding: 2, length: 10, bias: true },
      // exactly one output position
      { kernel: 3, stride: 1, dilation: 1, padding: 0, length: 3, bias: true },
      { kernel: 2, stride: 2, dilation: 2, padding: 0, length: 3, bias: false },
      { kernel: 1, stride: 1, dilation: 1, padding: 0, length: 4, bias: true },
    ];
    cases.forEach((c, n) => {
      const x = rand3(2, c.length, 3, 100 + n);
      const w = rand3(c.kernel, 3, 2, 200 + n);
      const bias = c.bias ? (rand3(1, 1, 2, 300 + n)[0]![0] as number[]) : null;
      const want = convLoops(x, w, bias, c.stride, c.dilation, c.padding);
      tf.tidy(() => {
        const args = [tf.tensor3d(x), tf.tensor3d(w), bias ? tf.tensor1d(bias) : null] as const;
        expectClose(conv1d(...args, c), want);
        expectClose(conv1dReference(...args, c), want);
      });
    });
  });

  it('convTranspose1d and convTranspose1dReference equal the plain-loop definition (kernel 4 stride 2 padding 1, kernel 3 stride 1 padding 1, kernel 2 stride 2 padding 0, kernel 5 stride 3 padding 1)', () => {
    const cases = [
      { kernel: 4, stride: 2, padding: 1, length: 5, bias: true },
      { kernel: 3, stride: 1, padding: 1, length: 4, bias: false },
      { kernel: 2, stride: 2, padding: 0, length: 3, bias: true },
      { kernel: 5, stride: 3, padding: 1, length: 3, bias: true },
    ];
    cases.forEach((c, n) => {
      const x = rand3(2, c.length, 3, 400 + n);
      const w = rand3(c.kernel, 3, 2, 500 + n);
      const bias = c.bias ? (rand3(1, 1, 2, 600 + n)[0]![0] as number[]) : null;
      const want = convTransposeLoops(x, w, bias, c.stride, c.padding);
      tf.tidy(() => {
        const args = [tf.tensor3d(x), tf.tensor3d(w), bias ? tf.tensor1d(bias) : null] as const;
        expectClose(convTranspose1d(...args, c), want);
        expectClose(convTranspose1dReference(...args, c), want);
      });
    });
  });

  it('argument checks: channel mismatch, an input too short for the kernel, kernel − 2·padding ≠ stride, each with its message', () => {
    const x = (length: number, ch: number) => tf.zeros([1, length, ch]) as tf.Tensor3D;
    const w = (kernel: number, cin: number) => tf.zeros([kernel, cin, 4]) as tf.Tensor3D;
    const convs = [conv1d, conv1dReference];
    for (const f of convs) {
      expect(() => f(x(5, 3), w(3, 2), null)).toThrow(new Error('conv1d: input has 3 channels, weight expects 2'));
      expect(() => f(x(2, 3), w(3, 3), null)).toThrow(new Error('conv1d: input of length 2 is too short for kernel 3 (dilation 1, padding 0)'));
      expect(() => f(x(2, 3), w(3, 3), null, { dilation: 2, padding: 1 })).toThrow(
        new Error('conv1d: input of length 2 is too short for kernel 3 (dilation 2, padding 1)'),
      );
    }
    // stride and dilation both > 1: conv1d hands over to the reference, with the same checks
    expect(() => conv1d(x(9, 3), w(3, 1), null, { stride: 2, dilation: 2 })).toThrow(new Error('conv1d: input has 3 channels, weight expects 1'));
    for (const f of [convTranspose1d, convTranspose1dReference]) {
      expect(() => f(x(5, 3), w(4, 2), null, { stride: 2, padding: 1 })).toThrow(new Error('convTranspose1d: input has 3 channels, weight expects 2'));
      expect(() => f(x(5, 3), w(3, 3), null, { stride: 2, padding: 1 })).toThrow(
        new Error('convTranspose1d: needs kernel − 2·padding = stride (got kernel 3, padding 1, stride 2)'),
      );
    }
  });
});

describe('which kernels the convolutions and the feed-forward block run', () => {
  /** Kernel names f runs, without Reshape and the unnamed entry of the custom-gradient op itself (forward, and the gradients when f takes them). */
  const kernels = async (f: () => tf.TensorContainer) => (await tf.profile(() => f())).kernels.map((k) => k.name).filter((k) => k !== 'Reshape' && k !== '');
  const x = () => tf.ones([1, 5, 2]) as tf.Tensor3D;
  const ones = (kernel: number) => tf.ones([kernel, 2, 3]) as tf.Tensor3D;
  const ffGrads = () =>
    tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor, e: tf.Tensor) =>
      tf.sum(feedForward(a as tf.Tensor2D, { w1: b as tf.Tensor2D, b1: c as tf.Tensor1D, w2: d as tf.Tensor2D, b2: e as tf.Tensor1D }, null)),
    )([tf.ones([7, 6]), tf.ones([6, 9]), tf.ones([9]), tf.ones([9, 6]), tf.ones([6])]);

  it('cpu: conv1d is one Conv2D unless stride and dilation are both > 1 (then the im2col reference: one BatchMatMul, no Conv2D); convTranspose1d is one Conv2DBackpropInput', async () => {
    for (const c of [{}, { stride: 2 }, { dilation: 2 }]) {
      const k = await kernels(() => conv1d(x(), ones(2), null, c));
      expect(k.filter((n) => n === 'Conv2D' || n === 'BatchMatMul')).toEqual(['Conv2D']);
    }
    const both = await kernels(() => conv1d(x(), ones(2), null, { stride: 2, dilation: 2 }));
    expect(both.filter((n) => n === 'Conv2D' || n === 'BatchMatMul')).toEqual(['BatchMatMul']);
    const t = await kernels(() => convTranspose1d(x(), ones(4), null, { stride: 2, padding: 1 }));
    expect(t.filter((n) => n === 'Conv2DBackpropInput' || n === 'BatchMatMul')).toEqual(['Conv2DBackpropInput']);
  });

  it('wasm: convTranspose1d (kernel 4, stride 2) is two grouped products ⌈4 / 2⌉, each placed by one pad, added and cut once; no Conv2DBackpropInput', async () => {
    await initBackend({ backend: 'wasm' });
    try {
      const group = ['Slice', 'Transpose', 'BatchMatMul', 'PadV2'];
      expect(await kernels(() => convTranspose1d(x(), ones(4), null, { stride: 2, padding: 1 }))).toEqual([...group, ...group, 'Add', 'Slice']);
    } finally {
      await initBackend({ backend: 'cpu' });
    }
  });

  it('feed-forward gradient: the ReLU mask is a Step; cpu uses the transposition flags (no Transpose kernel), wasm computes dW1 as (dhᵀ·x)ᵀ', async () => {
    const onCpu = await kernels(ffGrads);
    expect(onCpu).toContain('Step');
    expect(onCpu).not.toContain('Transpose');
    await initBackend({ backend: 'wasm' });
    try {
      const prof = await tf.profile(ffGrads);
      // x [7, 6], W1 [6, 9], W2 [9, 6], h and dh [7, 9]: dW2 = hᵀ·dy, dh = dy·W2ᵀ, dW1 = (dhᵀ·x)ᵀ (a [9, 6] product transposed), dx = dh·W1ᵀ
      const transposed = prof.kernels.filter((k) => k.name === 'Transpose').map((k) => k.inputShapes[0]);
      expect(transposed).toEqual([
        [7, 9],
        [9, 6],
        [7, 9],
        [9, 6],
        [6, 9],
      ]);
    } finally {
      await initBackend({ backend: 'cpu' });
    }
  });
});

describe('attention: which implementation runs, chunks and masks', () => {
  /** Kernel names f runs, without Reshape and the unnamed entry of a custom-gradient op. */
  const kernels = async (f: () => tf.TensorContainer) => (await tf.profile(() => f())).kernels.map((k) => k.name).filter((k) => k !== 'Reshape' && k !== '');
  const count = (names: string[], name: string) => names.filter((n) => n === name).length;

  it('attentionImpl: cpu → CPU loops; wasm → CPU loops only for a window shorter than min(keys, 256), else per-head blocks; any other backend → chunked ops', () => {
    expect(attentionImpl({ causal: true }, 10, 'cpu')).toBe('cpu');
    expect(attentionImpl({ causal: false, window: 300 }, 900, 'cpu')).toBe('cpu');
    const wasm = (window: number | null | undefined, tk: number) => attentionImpl({ causal: true, window }, tk, 'wasm');
    expect(wasm(undefined, 901)).toBe('blocks');
    expect(wasm(null, 901)).toBe('blocks');
    expect(wasm(64, 901)).toBe('cpu');
    expect(wasm(255, 901)).toBe('cpu');
    expect(wasm(256, 901)).toBe('blocks');
    expect(wasm(9, 10)).toBe('cpu');
    expect(wasm(10, 10)).toBe('blocks');
    expect(attentionImpl({ causal: true }, 10, 'webgpu')).toBe('ops');
    expect(attentionImpl({ causal: false, window: 4 }, 10, 'tensorflow')).toBe('ops');
  });

  it('one key: every query’s output is that key’s value row, for every implementation, causal and not, one head or three', () => {
    for (const [bh, tq, causal] of [
      [1, 1, true],
      [3, 1, true],
      [1, 3, false],
      [3, 3, false],
    ] as const) {
      const r = new Rng(`one-key/${bh}/${tq}`);
      const q = Array.from({ length: bh * tq * 4 }, () => r.range(-1, 1));
      const k = Array.from({ length: bh * 4 }, () => r.range(-1, 1));
      const v = Array.from({ length: bh * 3 }, () => r.range(-1, 1));
      const want = Array.from({ length: bh }, (_, h) => Array.from({ length: tq }, () => v.slice(3 * h, 3 * h + 3))).flat(2);
      for (const impl of ['cpu', 'ops', 'blocks'] as const) {
        const out = tf.tidy(() =>
          Array.from(attention(tf.tensor3d(q, [bh, tq, 4]), tf.tensor3d(k, [bh, 1, 4]), tf.tensor3d(v, [bh, 1, 3]), { causal, chunk: 2, impl }).dataSync()),
        );
        out.forEach((x, i) => expect(x, `${impl} bh ${bh} tq ${tq}`).toBeCloseTo(want[i]!, 6));
      }
    }
  });

  it('kernels on cpu: auto (and "cpu") runs the CPU loops (no kernel); chunk 2 over 5 queries is 3 blocks of 2 products each, batched ("ops") or one per head ("blocks", 3 heads, stacked)', async () => {
    const x = () => tf.ones([3, 5, 4]) as tf.Tensor3D;
    for (const impl of [undefined, 'auto', 'cpu'] as const) expect(await kernels(() => attention(x(), x(), x(), { causal: true, chunk: 2, impl }))).toEqual([]);
    const ops = await kernels(() => attention(x(), x(), x(), { causal: false, chunk: 2, impl: 'ops' }));
    expect([count(ops, 'BatchMatMul'), count(ops, 'Softmax'), count(ops, 'Pack')]).toEqual([6, 3, 0]);
    const blocks = await kernels(() => attention(x(), x(), x(), { causal: false, chunk: 2, impl: 'blocks' }));
    expect([count(blocks, 'BatchMatMul'), count(blocks, 'Softmax'), count(blocks, 'Pack')]).toEqual([18, 3, 6]);
    // no chunk given: 256 queries a block, so one block
    const one = await kernels(() => attention(x(), x(), x(), { causal: false, impl: 'ops' }));
    expect(count(one, 'BatchMatMul')).toBe(2);
  });

  it('masks: full attention adds none; causal chunks add one only where their rows see different keys (rows 0–1 and 2–3 of 5, not the last row alone)', async () => {
    const x = () => tf.ones([3, 5, 4]) as tf.Tensor3D;
    expect(count(await kernels(() => attentionReference(x(), x(), x(), { causal: false })), 'Add')).toBe(0);
    expect(count(await kernels(() => attentionReference(x(), x(), x(), { causal: true })), 'Add')).toBe(1);
    for (const impl of ['ops', 'blocks'] as const) {
      expect(count(await kernels(() => attention(x(), x(), x(), { causal: false, chunk: 2, impl })), 'Add')).toBe(0);
      expect(count(await kernels(() => attention(x(), x(), x(), { causal: true, chunk: 2, impl })), 'Add')).toBe(2);
    }
  });
});

describe('kv-cache: the layer norm’s ε', () => {
  it('an input whose variance is below ε = 1e-5 (norm3’s gain 1e-3 feeding the final norm): the cached logits still equal the tfjs forward pass at every position', () => {
    const cfg = smallPrior({ targetLength: 6, seed: 21 });
    const p = new Prior(cfg);
    const r = new Rng('kv-cache/epsilon');
    for (const info of p.params.info()) {
      const n = info.shape.reduce((a, b) => a * b, 1);
      const gain = info.name === 'decoder.layers.0.norm3.weight';
      const zero = info.name === 'decoder.layers.0.norm3.bias';
      p.params.get(info.name).assign(
        tf.tensor(
          Float32Array.from({ length: n }, () => (gain ? 1e-3 : zero ? 0 : 0.7 * r.normal())),
          info.shape,
        ),
      );
    }
    const src = p.classSource([1]);
    const T = cfg.targetLength;
    const input = [p.vocab.start, 3, 7, 0, 9, 4];
    const V = p.vocab.size;
    const full = tf.tidy(() => p.decode(tf.tensor2d(input, [1, T], 'int32'), p.encode(src)).dataSync() as Float32Array);
    const dec = new IncrementalDecoder(new PriorWeights(p), encodeSources(p, src)[0]!);
    for (let t = 0; t < T; t++) {
      const cached = dec.step(input[t]!);
      for (let j = 0; j < V; j++)
        expect(Math.abs(cached[j]! - full[t * V + j]!), `position ${t}, logit ${j}`).toBeLessThan(1e-3 + 1e-4 * Math.abs(full[t * V + j]!));
    }
    src.dispose();
    p.dispose();
  });
});
