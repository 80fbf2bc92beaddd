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

/**
 * A video's label from its frames' P(dog). A frame is a dog when P(dog) ≥ 0.5.
 * - 'median' (the thesis' rule): the median of the frames' 0/1 labels, i.e. the majority label.
 *   Tie rule (as many cat as dog frames): the mean P(dog) decides — dog when it is ≥ 0.5, else cat.
 * - 'mean': dog when the mean P(dog) ≥ 0.5.
 */
export function voteVideo(pDogs: readonly number[], vote: 'median' | 'mean' = 'median'): { label: number; meanDog: number } {
  if (pDogs.length === 0) throw new RangeError('voteVideo needs at least one frame');
  const meanDog = pDogs.reduce((a, b) => a + b, 0) / pDogs.length;
  const byMean = meanDog >= 0.5 ? 1 : 0;
  if (vote === 'mean') return { label: byMean, meanDog };
  const dogs = pDogs.filter((p) => predict(p).label === 1).length;
  const cats = pDogs.length - dogs;
  return { label: dogs > cats ? 1 : dogs < cats ? 0 : byMean, meanDog };
}

/** One label for a video from its frames' P(dog) (`times` in seconds), with the per-frame predictions. */
export function voteFrames(pDogs: readonly number[], times: readonly number[], vote: 'median' | 'mean' = 'median'): VoteResult {
  const { label, meanDog } = voteVideo(pDogs, vote);
  const frames = pDogs.map((pDog, i) => ({ time: times[i] ?? i, ...predict(pDog) }));
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
