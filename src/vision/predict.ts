/**
 * The classifier's maths without file I/O (shared by the Node classifier in src/vision/classifier.ts
 * and the browser page): backbone features → head → P(dog) per image, and the vote over a video's
 * frames — the median label (the thesis' rule; a tie goes to the mean probability) or the mean
 * probability.
 */
import { InputError } from '../util/errors';
import type { Backbone, RgbImage } from './backbone-model';
import type { ClassifierHead } from './head';

export const CLASS_NAMES = ['cat', 'dog'] as const;

export interface Prediction {
  label: number;
  className: string;
  /** Probability of the predicted class. */
  probability: number;
  pDog: number;
}

export interface FramePrediction extends Prediction {
  /** Seconds into the video. */
  time: number;
}

export interface VoteResult extends Prediction {
  vote: 'median' | 'mean';
  frames: FramePrediction[];
  /** Share of frames whose label is the video's. */
  agreement: number;
}

export function predict(pDog: number): Prediction {
  const label = pDog >= 0.5 ? 1 : 0;
  return { label, className: CLASS_NAMES[label] as string, probability: label ? pDog : 1 - pDog, pDog };
}

/** P(dog) of RGB images at the backbone's input size: the head on the backbone's features, or the zero-shot ImageNet vote without a head. */
export function probDog(backbone: Backbone, head: ClassifierHead | null, images: readonly RgbImage[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < images.length; i += 16) {
    const part = images.slice(i, i + 16);
    if (head) out.push(...head.probDog(backbone.features(part)));
    else {
      const z = backbone.zeroShotDog(part);
      if (!z)
        throw new InputError(backbone.spec.source, 'bad-argument', 'this backbone is no ImageNet classifier; train a head first (npm run train:classifier)');
      out.push(...z);
    }
  }
  return out;
}

/** One label for a video from its frames' P(dog) (`times` in seconds). */
export function voteFrames(pDogs: readonly number[], times: readonly number[], vote: 'median' | 'mean' = 'median'): VoteResult {
  if (pDogs.length === 0) throw new RangeError('voteFrames: no frames');
  const frames = pDogs.map((pDog, i) => ({ time: times[i] ?? i, ...predict(pDog) }));
  const meanDog = pDogs.reduce((a, b) => a + b, 0) / pDogs.length;
  let label: number;
  if (vote === 'mean') label = meanDog >= 0.5 ? 1 : 0;
  else {
    // median of 0/1 labels = the majority; a tie goes to the larger mean probability
    const dogs = frames.filter((f) => f.label === 1).length;
    label = dogs * 2 > frames.length ? 1 : dogs * 2 < frames.length ? 0 : meanDog >= 0.5 ? 1 : 0;
  }
  return {
    label,
    className: CLASS_NAMES[label] as string,
    probability: label ? meanDog : 1 - meanDog,
    pDog: meanDog,
    vote,
    frames,
    agreement: frames.filter((f) => f.label === label).length / frames.length,
  };
}
