/**
 * The cat/dog head on a frozen backbone (the thesis fine-tuned a new head on ResNet-50): logistic
 * regression on standardised features, P(dog) = σ(w·(f − μ)/σ + b). Trained full-batch with Adam.
 */
import * as tf from '@tensorflow/tfjs';
import { Params } from '../models/nn';
import { Adam } from '../optim/adam';
import type { BackboneSpec } from './backbone-model';

export interface HeadConfig {
  format: 'soundtrack-lab/classifier-head';
  version: 1;
  backbone: BackboneSpec;
  featureDim: number;
  mean: number[];
  std: number[];
  classes: string[];
  l2: number;
}

export class ClassifierHead {
  readonly config: HeadConfig;
  readonly params: Params;

  constructor(config: HeadConfig, seed = 0) {
    this.config = config;
    this.params = new Params(seed);
    this.params.create('head.weight', [config.featureDim, 1], { kind: 'zeros' });
    this.params.create('head.bias', [1], { kind: 'zeros' });
  }

  private standardized(features: readonly Float32Array[]): tf.Tensor2D {
    const d = this.config.featureDim;
    const buf = new Float32Array(features.length * d);
    features.forEach((f, i) => {
      for (let k = 0; k < d; k++) buf[i * d + k] = (f[k] - this.config.mean[k]) / this.config.std[k];
    });
    return tf.tensor2d(buf, [features.length, d]);
  }

  private logits(x: tf.Tensor2D): tf.Tensor1D {
    return tf.reshape(tf.add(tf.matMul(x, this.params.get('head.weight') as tf.Tensor2D), this.params.get('head.bias')), [-1]) as tf.Tensor1D;
  }

  /** P(dog) per feature vector. */
  probDog(features: readonly Float32Array[]): number[] {
    return Array.from(tf.tidy(() => tf.sigmoid(this.logits(this.standardized(features))).dataSync()));
  }

  /**
   * Full-batch training; returns the loss after each step. Not the shared train/ loop: vision/ sits below train/, and a
   * logistic regression on cached features needs none of its batches, schedule, checkpoints or workers.
   */
  train(features: readonly Float32Array[], labels: readonly number[], options: { steps: number; learningRate: number }): number[] {
    const adam = new Adam();
    const vars = this.params.trainable();
    const byVar = new Map([...vars].map(([n, v]) => [v.name, n]));
    const x = this.standardized(features);
    const y = tf.tensor1d(labels.map(Number));
    const losses: number[] = [];
    for (let s = 0; s < options.steps; s++) {
      const { value, grads } = tf.variableGrads(() => {
        const bce = tf.losses.sigmoidCrossEntropy(y, this.logits(x));
        return tf.add(bce, tf.mul(this.config.l2, tf.sum(tf.square(this.params.get('head.weight'))))) as tf.Scalar;
      }, [...vars.values()]);
      adam.apply(vars, new Map(Object.entries(grads).map(([k, g]) => [byVar.get(k) as string, g])), options.learningRate);
      losses.push(value.dataSync()[0]);
      tf.dispose([value, Object.values(grads)]);
    }
    tf.dispose([x, y]);
    adam.dispose();
    return losses;
  }

  dispose(): void {
    this.params.dispose();
  }
}

/** Per-dimension mean and standard deviation of training features. */
export function featureStats(features: readonly Float32Array[]): { mean: number[]; std: number[] } {
  const d = (features[0] as Float32Array).length;
  const mean = new Array<number>(d).fill(0);
  const sq = new Array<number>(d).fill(0);
  for (const f of features) for (let k = 0; k < d; k++) mean[k] = mean[k] + f[k] / features.length;
  for (const f of features) for (let k = 0; k < d; k++) sq[k] = sq[k] + (f[k] - mean[k]) ** 2 / features.length;
  return { mean, std: sq.map((v) => Math.sqrt(v) || 1) };
}
