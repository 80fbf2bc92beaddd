/**
 * Seeded waveform augmentation for training on small data: speed/pitch change by resampling,
 * time shift, mixing with background sounds at a chosen SNR, random gain. Every random choice
 * comes from the Rng passed in, so a run (and a resumed run) sees the same augmented clips.
 */
import { dbToGain, rms } from '../audio/clips';
import { SAMPLE_RATE } from '../audio/constants';
import { resample } from '../audio/resample';
import type { Rng } from '../util/rng';

export interface AugmentConfig {
  /** Speed factor range; >1 is faster and higher. Applied with probability `speedProbability`. */
  speed?: readonly [number, number];
  speedProbability?: number;
  /** Shift by up to this many seconds either way (zero-filled, not circular). */
  shiftSeconds?: number;
  /** Mix a background sound at an SNR (dB) drawn from this range, with this probability. */
  mix?: { snrDb: readonly [number, number]; probability: number };
  /** Gain range in dB. */
  gainDb?: readonly [number, number];
}

/** The quick presets' augmentation. */
export const DEFAULT_AUGMENT: AugmentConfig = {
  speed: [0.9, 1.1],
  speedProbability: 0.5,
  shiftSeconds: 0.5,
  mix: { snrDb: [10, 30], probability: 0.3 },
  gainDb: [-6, 3],
};

export function changeSpeed(x: Float32Array, factor: number, sampleRate: number = SAMPLE_RATE): Float32Array {
  if (!(factor > 0)) throw new RangeError(`speed factor must be positive, got ${factor}`);
  if (factor === 1) return Float32Array.from(x);
  // Treat the samples as if recorded at sampleRate·factor and resample back: duration ÷ factor, pitch × factor.
  return resample(x, Math.round(sampleRate * factor), sampleRate);
}

/** Shift right (positive) or left (negative) by `samples`, filling with zeros. */
export function shift(x: Float32Array, samples: number): Float32Array {
  const out = new Float32Array(x.length);
  const k = Math.max(-x.length, Math.min(x.length, Math.trunc(samples)));
  if (k >= 0) out.set(x.subarray(0, x.length - k), k);
  else out.set(x.subarray(-k));
  return out;
}

/** Mix `noise` into `x` so that rms(x) / rms(noise) = snrDb; the noise is tiled or cropped to x's length at a random offset. */
export function mixAtSnr(x: Float32Array, noise: Float32Array, snrDb: number, rng: Rng): Float32Array {
  const out = Float32Array.from(x);
  const sx = rms(x);
  if (noise.length === 0 || sx === 0) return out;
  const offset = rng.int(noise.length);
  const tiled = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) tiled[i] = noise[(offset + i) % noise.length];
  const sn = rms(tiled);
  if (sn === 0) return out;
  const g = sx / (sn * dbToGain(snrDb));
  for (let i = 0; i < out.length; i++) out[i] = out[i] + g * tiled[i];
  return out;
}

export function augment(
  x: Float32Array,
  rng: Rng,
  cfg: AugmentConfig,
  negatives: readonly Float32Array[] = [],
  sampleRate: number = SAMPLE_RATE,
): Float32Array {
  let y: Float32Array = x;
  if (cfg.speed && rng.uniform() < (cfg.speedProbability ?? 1)) y = changeSpeed(y, rng.range(cfg.speed[0], cfg.speed[1]), sampleRate);
  if (cfg.shiftSeconds) {
    // at most half the recording, so a short bark is moved, never pushed out of its own clip
    const max = Math.min(cfg.shiftSeconds * sampleRate, y.length / 2);
    y = shift(y, Math.round(rng.range(-max, max)));
  }
  if (cfg.mix && negatives.length > 0 && rng.uniform() < cfg.mix.probability) {
    y = mixAtSnr(y, negatives[rng.int(negatives.length)] as Float32Array, rng.range(cfg.mix.snrDb[0], cfg.mix.snrDb[1]), rng);
  }
  if (cfg.gainDb) {
    const g = dbToGain(rng.range(cfg.gainDb[0], cfg.gainDb[1]));
    const out = y === x ? new Float32Array(y.length) : y;
    for (let i = 0; i < y.length; i++) out[i] = y[i] * g;
    y = out;
  }
  return y === x ? Float32Array.from(x) : y;
}
