/**
 * From recordings to the codec's fixed-length clips: random crops (with augmentation) for
 * training, deterministic segments for evaluation and code extraction.
 */
import { cropOrPad, normalize, segment, type NormalizeOptions } from '../audio/clips';
import { CLIP_SAMPLES } from '../audio/constants';
import type { Rng } from '../util/rng';
import { augment, type AugmentConfig } from './augment';

export interface ClipOptions {
  length?: number;
  /** Normalise each recording before cutting (default: peak to −1 dBFS); null keeps levels. */
  normalize?: NormalizeOptions | null;
}

const DEFAULT_NORMALIZE: NormalizeOptions = { mode: 'peak', targetDb: -1 };

/** One training clip: normalise, augment, then a random crop (or random placement if shorter). */
export function trainingClip(
  audio: Float32Array,
  rng: Rng,
  options: ClipOptions & { augment?: AugmentConfig | null; negatives?: readonly Float32Array[] } = {},
): Float32Array {
  const norm = options.normalize === undefined ? DEFAULT_NORMALIZE : options.normalize;
  let x = norm ? normalize(audio, norm) : audio;
  if (options.augment) x = augment(x, rng, options.augment, options.negatives ?? []);
  return cropOrPad(x, options.length ?? CLIP_SAMPLES, 'random', rng);
}

/**
 * Deterministic evaluation clips. `mode: 'center'`: one clip per recording (centre crop / centred
 * padding); `'segments'`: consecutive non-overlapping clips covering the recording.
 */
export function evaluationClips(audio: Float32Array, options: ClipOptions & { mode?: 'center' | 'segments' } = {}): Float32Array[] {
  const norm = options.normalize === undefined ? DEFAULT_NORMALIZE : options.normalize;
  const x = norm ? normalize(audio, norm) : audio;
  const length = options.length ?? CLIP_SAMPLES;
  return (options.mode ?? 'center') === 'center' ? [cropOrPad(x, length, 'center')] : segment(x, { length });
}
