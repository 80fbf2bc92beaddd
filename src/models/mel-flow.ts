/**
 * MelFlow: a class-conditional flow-matching model over log-mel *event patches*.
 *
 * Why it exists: the thesis' raw-audio VQ-VAE-2, at the sizes that train on CPU, throws away what
 * makes a meow a meow before its priors ever see it (held-out reconstructions keep their class 38 %
 * of the time), while a 64-band log-mel inverted by Griffin–Lim keeps it 97 %. So this model
 * generates log-mel directly: a 2-s patch (128 frames × 64 bands at hop 64, 4 kHz) of a bark or a
 * meow, from noise, conditioned on the class.
 *
 * Flow matching (Lipman et al. 2023, rectified flow): x_t = (1 − t)·x0 + t·x1 with x0 ~ N(0, I) and
 * x1 a (scaled) log-mel patch; the network predicts the velocity x1 − x0. Sampling integrates
 * dx/dt = v(x, t, class) from t = 0 to 1 (src/sample/mel-flow.ts), with classifier-free guidance: the
 * class is replaced by a null class for a share of training examples.
 *
 * The network is a 1-D U-Net over time with the mel bands as channels (the layout Matcha-TTS's
 * decoder uses): residual blocks with GroupNorm, SiLU and FiLM from the time + class embedding,
 * stride-2 convolutions down, nearest-neighbour upsampling + convolution up (no transposed convs, so
 * no checkerboard lines), skip connections by concatenation, dilated convolutions at the bottom for a
 * receptive field of the whole patch. Plain tfjs ops and the project's conv1d (which has hand-written
 * gradients that wasm can run); no I/O.
 */
import * as tf from '@tensorflow/tfjs';
import { LOG_SILENCE } from '../audio/mel';
import { conv1d } from '../ops/conv1d';
import { matMul } from '../ops/matmul';
import { Params } from './nn';

export interface MelFlowConfig {
  kind: 'mel-flow';
  preset: string;
  seed: number;
  /** Mel bands (input/output channels). */
  nMels: number;
  /** Frames per event patch (divisible by 2^(levels − 1)). */
  frames: number;
  /** Channels per U-Net level, top to bottom. */
  channels: number[];
  /** Residual blocks per level on the way down (one more on the way up). */
  blocks: number;
  /** Dilations of the residual blocks at the bottom level. */
  bottomDilations: number[];
  /** Width of the time/class embedding. */
  embed: number;
  /** Number of real classes; index `classes` is the null class (classifier-free guidance). */
  classes: number;
  /** GroupNorm groups. */
  groups: number;
  /**
   * What the network outputs. 'velocity': v directly (the first shipped generator). 'data': the clean
   * patch x̂1, turned into v = (x̂1 − x_t) / max(1 − t, minGap) — the loss stays the velocity MSE.
   * A network this narrow (64 channels for 64 bands) cannot carry the full-dimensional noise through
   * to its output, so predicting v left a speckle of unremoved noise in every patch; a clean patch
   * lies on a low-dimensional manifold it can represent (Li & He 2025, "Back to Basics: Let
   * Denoising Generative Models Denoise"). Absent in checkpoints from before: 'velocity'.
   */
  predict?: 'velocity' | 'data';
  /** Log-mel scaling: model space = (logMel − offset) / scale. */
  offset: number;
  scale: number;
  /** How it is trained (plain data, saved in every checkpoint). */
  train: MelFlowTraining;
  /**
   * The clip-length model, learned with the weights: per class, 11 quantiles of the training
   * recordings' lengths in seconds (src/audio/compose.ts lengthQuantiles). Generation lays events
   * out in a span of that length, centred on silence like the recordings. Absent in checkpoints
   * made before it existed: then events fill the whole clip.
   */
  clipLengths?: number[][];
}

export interface MelFlowTraining {
  steps: number;
  batchSize: number;
  learningRate: number;
  warmupSteps: number;
  clipNorm: number;
  weightDecay: number;
  /** Share of examples whose class is replaced by the null class (classifier-free guidance). */
  nullRate: number;
  /** Random windows per patch; the loudest wins. */
  candidates: number;
  /** Random gain in [−gainDb, 0] dB. */
  gainDb: number;
  /**
   * Training times t = sigmoid(N(mean, std)) (logit-normal, as SD3 and JiT sample them; mean < 0
   * favours the noisier half, where a data-predicting model's velocity error weighs 1/(1 − t)² less).
   * Absent (runs from before): t ~ U(0, 1).
   */
  time?: { mean: number; std: number };
  /**
   * Train only on flow times in [lo, hi): t = lo + (hi − lo)·s with s drawn as above. For an expert
   * that samples only part of the flow (the early expert below 0.5, the late one from 0.5): all its
   * steps go where it is used. Absent: [0, 1).
   */
  timeRange?: [number, number];
}

const TRAINING: MelFlowTraining = {
  steps: 3000,
  batchSize: 16,
  learningRate: 3e-4,
  warmupSteps: 200,
  clipNorm: 1,
  weightDecay: 0.01,
  nullRate: 0.15,
  candidates: 3,
  gainDb: 6,
};

// offset/scale: mean and ~1.2 × std of the log-mel values of the thesis recordings (−5.5, 2.1), so model space is ~unit scale
const SHAPE = { kind: 'mel-flow' as const, nMels: 64, frames: 128, classes: 2, offset: -5.5, scale: 2.5 };

/** Smallest 1 − t a data-predicting model divides by (v = (x̂1 − x_t) / (1 − t) near t = 1). */
export const DATA_PREDICTION_MIN_GAP = 0.05;

/** The network of every quick preset (2.1 M parameters): channels per level, blocks, dilations, embedding. */
const QUICK_NET = { channels: [64, 96, 128], blocks: 2, bottomDilations: [1, 2, 4, 8], embed: 128, groups: 8 };

/**
 * Presets as plain data. 'quick': the shipped CPU generator (2.1 M parameters, ~1 s per step of 16
 * patches on wasm, one thread; velocity prediction, t ~ U(0, 1)): the early expert of the shipped
 * generator. 'quick-data': the same network predicting the clean patch, trained at logit-normal times:
 * its late expert (alone its patches are too smooth and the judge calls more of its cats "neither";
 * as the second half of the flow it removes the early expert's speckle — checkpoints/README.md).
 * 'tiny': for tests and smoke runs.
 */
export const MEL_FLOW_PRESETS: Record<string, Omit<MelFlowConfig, 'seed'>> = {
  quick: { ...SHAPE, ...QUICK_NET, preset: 'quick', train: TRAINING },
  'quick-data': { ...SHAPE, ...QUICK_NET, preset: 'quick-data', predict: 'data', train: { ...TRAINING, time: { mean: -0.8, std: 0.8 } } },
  // a pair trained only on its own halves of the flow (switch at 0.5): measured from scratch in 1h22m,
  // but further from the training recordings than the shipped quick + quick-data pair (checkpoints/README.md)
  'quick-early': { ...SHAPE, ...QUICK_NET, preset: 'quick-early', train: { ...TRAINING, timeRange: [0, 0.5] } },
  'quick-late': {
    ...SHAPE,
    ...QUICK_NET,
    preset: 'quick-late',
    predict: 'data',
    train: { ...TRAINING, time: { mean: 0, std: 1 }, timeRange: [0.5, 1] },
  },
  tiny: {
    ...SHAPE,
    preset: 'tiny',
    frames: 32,
    channels: [16, 32],
    blocks: 1,
    bottomDilations: [1, 2],
    embed: 32,
    groups: 4,
    train: { ...TRAINING, steps: 20, batchSize: 4, warmupSteps: 2 },
  },
};

export function melFlowPreset(name: string, seed = 0): MelFlowConfig {
  const p = MEL_FLOW_PRESETS[name];
  if (!p) throw new RangeError(`unknown mel-flow preset '${name}' (choose ${Object.keys(MEL_FLOW_PRESETS).join(', ')})`);
  return { ...p, seed, train: { ...p.train } };
}

type T3 = tf.Tensor3D;
type T2 = tf.Tensor2D;

/** Model-space value of silence (the mel front end's log floor, scaled). */
export function silenceValue(cfg: Pick<MelFlowConfig, 'offset' | 'scale'>, logFloor = LOG_SILENCE): number {
  return (logFloor - cfg.offset) / cfg.scale;
}

export class MelFlow {
  readonly cfg: MelFlowConfig;
  readonly params: Params;

  /** `initialize: false` skips drawing the initial weights (for restoring a checkpoint right after). */
  constructor(cfg: MelFlowConfig, o: { initialize?: boolean } = {}) {
    const levels = cfg.channels.length;
    if (cfg.frames % 2 ** (levels - 1) !== 0) throw new Error(`mel-flow: frames ${cfg.frames} must be divisible by ${2 ** (levels - 1)}`);
    if (cfg.channels.some((c) => c % cfg.groups !== 0)) throw new Error(`mel-flow: every channel count must be divisible by groups ${cfg.groups}`);
    this.cfg = cfg;
    this.params = new Params(cfg.seed, o);
    this.build();
  }

  // ---- parameters -------------------------------------------------------------------------

  private conv(name: string, cin: number, cout: number, kernel: number, zero = false): void {
    const bound = 1 / Math.sqrt(cin * kernel);
    this.params.create(`${name}.weight`, [kernel, cin, cout], zero ? { kind: 'zeros' } : { kind: 'uniform', bound });
    this.params.create(`${name}.bias`, [cout], zero ? { kind: 'zeros' } : { kind: 'uniform', bound });
  }

  private dense(name: string, cin: number, cout: number, zero = false): void {
    const bound = 1 / Math.sqrt(cin);
    this.params.create(`${name}.weight`, [cin, cout], zero ? { kind: 'zeros' } : { kind: 'uniform', bound });
    this.params.create(`${name}.bias`, [cout], { kind: 'zeros' });
  }

  private norm(name: string, c: number): void {
    this.params.create(`${name}.gamma`, [c], { kind: 'ones' });
    this.params.create(`${name}.beta`, [c], { kind: 'zeros' });
  }

  private block(name: string, cin: number, cout: number): void {
    this.norm(`${name}.norm1`, cin);
    this.conv(`${name}.conv1`, cin, cout, 3);
    this.dense(`${name}.film`, this.cfg.embed, 2 * cout, true);
    this.norm(`${name}.norm2`, cout);
    this.conv(`${name}.conv2`, cout, cout, 3, true);
    if (cin !== cout) this.conv(`${name}.skip`, cin, cout, 1);
  }

  private build(): void {
    const { channels: ch, blocks, embed, nMels } = this.cfg;
    this.dense('time.fc1', embed, embed);
    this.dense('time.fc2', embed, embed);
    this.params.create('class.embedding', [this.cfg.classes + 1, embed], { kind: 'normal', std: 1 });
    this.conv('in', nMels, ch[0] as number, 3);
    for (let l = 0; l < ch.length; l++) {
      const c = ch[l] as number;
      for (let b = 0; b < blocks; b++) this.block(`down${l}.${b}`, c, c);
      if (l < ch.length - 1) this.conv(`down${l}.resample`, c, ch[l + 1] as number, 3);
    }
    const bottom = ch[ch.length - 1] as number;
    for (let i = 0; i < this.cfg.bottomDilations.length; i++) this.block(`mid.${i}`, bottom, bottom);
    for (let l = ch.length - 1; l >= 0; l--) {
      const c = ch[l] as number;
      if (l < ch.length - 1) this.conv(`up${l}.resample`, ch[l + 1] as number, c, 3);
      for (let b = 0; b <= blocks; b++) this.block(`up${l}.${b}`, b === 0 ? 2 * c : c, c);
    }
    this.norm('out.norm', ch[0] as number);
    this.conv('out', ch[0] as number, nMels, 3, true);
  }

  // ---- forward ----------------------------------------------------------------------------

  private p(name: string): tf.Tensor {
    return this.params.get(name);
  }

  private convApply(name: string, x: T3, dilation = 1, stride = 1): T3 {
    const w = this.p(`${name}.weight`) as T3;
    const k = w.shape[0];
    const padding = (dilation * (k - 1)) >> 1;
    return conv1d(x, w, this.p(`${name}.bias`) as tf.Tensor1D, { dilation, stride, padding });
  }

  private denseApply(name: string, x: T2): T2 {
    return tf.add(matMul(x, this.p(`${name}.weight`) as T2), this.p(`${name}.bias`)) as T2;
  }

  /** GroupNorm over (time, channels of a group), then a per-channel affine map. */
  private groupNorm(name: string, x: T3): T3 {
    const [b, t, c] = x.shape;
    const g = this.cfg.groups;
    const xg = tf.reshape(x, [b, t, g, c / g]);
    const { mean, variance } = tf.moments(xg, [1, 3], true);
    const xn = tf.reshape(tf.div(tf.sub(xg, mean), tf.sqrt(tf.add(variance, 1e-5))), [b, t, c]);
    return tf.add(tf.mul(xn, this.p(`${name}.gamma`)), this.p(`${name}.beta`)) as T3;
  }

  private blockApply(name: string, x: T3, emb: T2, dilation = 1): T3 {
    const n1 = this.groupNorm(`${name}.norm1`, x);
    let h = this.convApply(`${name}.conv1`, tf.mul(n1, tf.sigmoid(n1)) as T3, dilation);
    const film = this.denseApply(`${name}.film`, emb); // [b, 2c]
    const c = h.shape[2];
    const scale = tf.expandDims(tf.slice(film, [0, 0], [-1, c]), 1);
    const shift = tf.expandDims(tf.slice(film, [0, c], [-1, c]), 1);
    h = tf.add(tf.mul(this.groupNorm(`${name}.norm2`, h), tf.add(scale, 1)), shift) as T3;
    h = this.convApply(`${name}.conv2`, tf.mul(h, tf.sigmoid(h)) as T3, dilation);
    const skip = this.params.has(`${name}.skip.weight`) ? this.convApply(`${name}.skip`, x) : x;
    return tf.add(h, skip) as T3;
  }

  /** Sinusoidal embedding of t ∈ [0, 1] (scaled by 1000, as diffusion models do). */
  private timeFeatures(t: tf.Tensor1D): T2 {
    const half = this.cfg.embed / 2;
    const freqs = tf.exp(tf.mul(tf.range(0, half), -Math.log(10000) / half));
    const args = tf.mul(tf.expandDims(tf.mul(t, 1000), 1), tf.expandDims(freqs, 0)) as T2;
    return tf.concat([tf.sin(args), tf.cos(args)], 1) as T2;
  }

  /** The conditioning vector of each example: MLP(time) + class embedding (null class = cfg.classes). */
  embed(t: tf.Tensor1D, label: tf.Tensor1D): T2 {
    const h = this.denseApply('time.fc1', this.timeFeatures(t));
    const te = this.denseApply('time.fc2', tf.mul(h, tf.sigmoid(h)) as T2);
    // one-hot × table rather than gather: gather's gradient needs UnsortedSegmentSum, which wasm lacks
    const ce = matMul(tf.oneHot(tf.cast(label, 'int32'), this.cfg.classes + 1).toFloat() as T2, this.p('class.embedding') as T2);
    return tf.add(te, ce) as T2;
  }

  /**
   * Velocity v(x_t, t, class): x [b, frames, nMels] in model space, t [b] in [0, 1], label [b] (int).
   * A 'data' model's network predicts the clean patch and v is derived from it (see `predict`).
   */
  velocity(x: T3, t: tf.Tensor1D, label: tf.Tensor1D): T3 {
    const { channels: ch, blocks } = this.cfg;
    const e = this.embed(t, label);
    const emb = tf.mul(e, tf.sigmoid(e)) as T2;
    let h = this.convApply('in', x);
    const skips: T3[] = [];
    for (let l = 0; l < ch.length; l++) {
      for (let b = 0; b < blocks; b++) h = this.blockApply(`down${l}.${b}`, h, emb);
      skips.push(h);
      if (l < ch.length - 1) h = this.convApply(`down${l}.resample`, h, 1, 2);
    }
    this.cfg.bottomDilations.forEach((d, i) => (h = this.blockApply(`mid.${i}`, h, emb, d)));
    for (let l = ch.length - 1; l >= 0; l--) {
      if (l < ch.length - 1) {
        const [b, t, c] = h.shape;
        // nearest ×2: every frame twice, as one concat (wasm's Tile and its gradient cost ~20× more)
        const e = tf.expandDims(h, 2);
        const up = tf.reshape(tf.concat([e, e], 2), [b, 2 * t, c]) as T3;
        h = this.convApply(`up${l}.resample`, up);
      }
      h = tf.concat([h, skips[l] as T3], 2) as T3;
      for (let b = 0; b <= blocks; b++) h = this.blockApply(`up${l}.${b}`, h, emb);
    }
    const o = this.groupNorm('out.norm', h);
    const out = this.convApply('out', tf.mul(o, tf.sigmoid(o)) as T3);
    if (this.cfg.predict !== 'data') return out;
    const gap = tf.reshape(tf.maximum(tf.sub(1, t), DATA_PREDICTION_MIN_GAP), [-1, 1, 1]);
    return tf.div(tf.sub(out, x), gap) as T3;
  }

  /**
   * The training loss for a batch of data patches x1: MSE between the predicted and the true
   * velocity x1 − x0 at x_t = (1 − t)·x0 + t·x1. noise, t and labels (with nulls) come from the caller.
   */
  loss(x1: T3, noise: T3, t: tf.Tensor1D, label: tf.Tensor1D): tf.Scalar {
    const tt = tf.reshape(t, [-1, 1, 1]);
    const xt = tf.add(tf.mul(tf.sub(1, tt), noise), tf.mul(tt, x1)) as T3;
    const v = this.velocity(xt, t, label);
    return tf.mean(tf.square(tf.sub(v, tf.sub(x1, noise))));
  }

  dispose(): void {
    this.params.dispose();
  }
}
