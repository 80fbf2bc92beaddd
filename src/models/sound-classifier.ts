/**
 * SoundClassifier: the project's own judge of generated sound — cat, dog or *neither*.
 *
 * Why three classes: a cat/dog classifier has to put noise somewhere, so it calls broadband noise
 * "cat" half the time and a generator of noise scores 50 %. With "neither" (noise, tones, hum,
 * silence and sounds that keep a recording's spectrum or envelope but not its structure) noise is
 * called what it is. Trained by src/train/sound-classifier.ts on the training split only.
 *
 * Input: log-mel [batch, frames, 64] (DEFAULT_MEL, scaled like the generator's model space) of any
 * length; a 1-D convolutional stack over time (mel bands as channels) with two stride-2 reductions,
 * global mean + max pooling over time, a 32-dim embedding (used for FAD) and 3 logits. No I/O.
 */
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_MEL, LOG_SILENCE, logMelSpectrogram, type Spectrogram } from '../audio/mel';
import { conv1d } from '../ops/conv1d';
import { matMul } from '../ops/matmul';
import { Params } from './nn';

export const SOUND_CLASSES = ['cat', 'dog', 'neither'] as const;
export type SoundClass = (typeof SOUND_CLASSES)[number];
export const NEITHER = 2;

export interface SoundClassifierConfig {
  kind: 'sound-classifier';
  seed: number;
  nMels: number;
  /** Channels of the conv stack. */
  channels: number[];
  /** Width of the embedding layer. */
  embed: number;
  /** Log-mel scaling: input = (logMel − offset) / scale. */
  offset: number;
  scale: number;
  train: {
    steps: number;
    batchSize: number;
    learningRate: number;
    warmupSteps: number;
    clipNorm: number;
    weightDecay: number;
    dropout: number;
    /** SpecAugment: up to this many time masks of ≤ 40 frames and frequency masks of ≤ 8 bands per clip. */
    masks: number;
  };
}

export const SOUND_CLASSIFIER_PRESET: Omit<SoundClassifierConfig, 'seed'> = {
  kind: 'sound-classifier',
  nMels: 64,
  channels: [64, 96, 128],
  embed: 32,
  offset: -5.5,
  scale: 2.5,
  train: { steps: 1500, batchSize: 24, learningRate: 1e-3, warmupSteps: 50, clipNorm: 1, weightDecay: 0.05, dropout: 0.3, masks: 2 },
};

type T3 = tf.Tensor3D;
type T2 = tf.Tensor2D;

/** Log-mel input of a batch of clips, scaled as the classifier expects: [clips, frames, nMels]. */
export function soundClassifierInput(
  clips: readonly Float32Array[],
  cfg: Pick<SoundClassifierConfig, 'offset' | 'scale'>,
  /** Changes each log-mel in place before scaling (training-time masking). */
  augment?: (spec: Spectrogram, index: number) => void,
): tf.Tensor3D {
  const specs = clips.map((c) => logMelSpectrogram(c, DEFAULT_MEL));
  if (augment) specs.forEach(augment);
  const frames = Math.max(...specs.map((s) => s.frames));
  const bins = DEFAULT_MEL.nMels;
  const data = new Float32Array(clips.length * frames * bins).fill((LOG_SILENCE - cfg.offset) / cfg.scale);
  specs.forEach((s, i) => {
    for (let j = 0; j < s.data.length; j++) data[i * frames * bins + j] = ((s.data[j] as number) - cfg.offset) / cfg.scale;
  });
  return tf.tensor3d(data, [clips.length, frames, bins]);
}

export class SoundClassifier {
  readonly cfg: SoundClassifierConfig;
  readonly params: Params;

  constructor(cfg: SoundClassifierConfig) {
    this.cfg = cfg;
    this.params = new Params(cfg.seed);
    const p = this.params;
    let cin = cfg.nMels;
    cfg.channels.forEach((c, i) => {
      // per level: a k5 conv, then a dilated k3 conv; levels after the first start with stride 2
      for (const [name, k, ci] of [
        [`conv${i}a`, 5, cin],
        [`conv${i}b`, 3, c],
      ] as Array<[string, number, number]>) {
        const bound = 1 / Math.sqrt(ci * k);
        p.create(`${name}.weight`, [k, ci, c], { kind: 'uniform', bound });
        p.create(`${name}.bias`, [c], { kind: 'uniform', bound });
      }
      cin = c;
    });
    const pooled = 2 * cin;
    p.create('embed.weight', [pooled, cfg.embed], { kind: 'uniform', bound: 1 / Math.sqrt(pooled) });
    p.create('embed.bias', [cfg.embed], { kind: 'zeros' });
    p.create('out.weight', [cfg.embed, SOUND_CLASSES.length], { kind: 'uniform', bound: 1 / Math.sqrt(cfg.embed) });
    p.create('out.bias', [SOUND_CLASSES.length], { kind: 'zeros' });
  }

  private conv(name: string, x: T3, stride: number, dilation: number): T3 {
    const w = this.params.get(`${name}.weight`) as T3;
    const k = w.shape[0];
    return tf.relu(conv1d(x, w, this.params.get(`${name}.bias`) as tf.Tensor1D, { stride, dilation, padding: (dilation * (k - 1)) >> 1 }));
  }

  /** The 32-dim embedding of each input (after ReLU). `dropout`: rate during training (with a seed). */
  embedding(x: T3, dropout?: { rate: number; seed: number }): T2 {
    let h = x;
    this.cfg.channels.forEach((_, i) => {
      h = this.conv(`conv${i}a`, h, i === 0 ? 1 : 2, 1);
      h = this.conv(`conv${i}b`, h, 1, 2);
    });
    let pooled = tf.concat([tf.mean(h, 1), tf.max(h, 1)], 1) as T2;
    if (dropout && dropout.rate > 0) pooled = tf.dropout(pooled, dropout.rate, undefined, dropout.seed) as T2;
    return tf.relu(tf.add(matMul(pooled, this.params.get('embed.weight') as T2), this.params.get('embed.bias'))) as T2;
  }

  logits(x: T3, dropout?: { rate: number; seed: number }): T2 {
    return tf.add(matMul(this.embedding(x, dropout), this.params.get('out.weight') as T2), this.params.get('out.bias')) as T2;
  }

  /** Mean cross-entropy against integer labels. */
  loss(x: T3, labels: tf.Tensor1D, dropout?: { rate: number; seed: number }): tf.Scalar {
    const logits = this.logits(x, dropout);
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), SOUND_CLASSES.length).toFloat();
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  }

  /** Class probabilities of each clip (4 kHz audio; rows of 3: cat, dog, neither), in batches. */
  probabilities(clips: readonly Float32Array[], batch = 16): number[][] {
    const rows: number[][] = [];
    for (let i = 0; i < clips.length; i += batch) {
      const part = clips.slice(i, i + batch);
      rows.push(...tf.tidy(() => tf.softmax(this.logits(soundClassifierInput(part, this.cfg))).arraySync() as number[][]));
    }
    return rows;
  }

  /** The most likely class of each clip (0 cat, 1 dog, 2 neither). */
  classify(clips: readonly Float32Array[]): number[] {
    return this.probabilities(clips).map((r) => r.indexOf(Math.max(...r)));
  }

  dispose(): void {
    this.params.dispose();
  }
}
