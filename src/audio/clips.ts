/**
 * Waveform utilities on mono Float32Arrays: normalisation, silence trimming, and cutting into the
 * thesis' fixed-length clips (28,800 samples = 7.2 s at 4 kHz).
 */
import type { Rng } from '../util/rng';
import { CLIP_SAMPLES } from './constants';

export function peak(x: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

export function rms(x: Float32Array): number {
  if (x.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s / x.length);
}

export const dbToGain = (db: number): number => 10 ** (db / 20);
export const gainToDb = (g: number): number => 20 * Math.log10(g);

export interface NormalizeOptions {
  /**
   * 'peak': scale so the peak hits `targetDb` dBFS (default −1). 'rms': scale so RMS hits `targetDb` (default −20),
   * limited so the peak stays below 0 dBFS.
   */
  mode: 'peak' | 'rms';
  targetDb?: number;
}

/** Scale to a peak or RMS level; silence (all zeros) is returned unchanged. */
export function normalize(x: Float32Array, options: NormalizeOptions = { mode: 'peak' }): Float32Array {
  const p = peak(x);
  if (p === 0) return Float32Array.from(x);
  let gain: number;
  if (options.mode === 'peak') gain = dbToGain(options.targetDb ?? -1) / p;
  else {
    gain = dbToGain(options.targetDb ?? -20) / rms(x);
    gain = Math.min(gain, 0.999 / p);
  }
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * gain;
  return out;
}

export interface TrimOptions {
  /** Frames quieter than this many dB below the loudest frame count as silence (default 40). */
  thresholdDb?: number;
  /** Frame length in seconds (default 0.02). */
  frameSeconds?: number;
  /** Silence kept on each side, in seconds (default 0.05). */
  padSeconds?: number;
}

/** Remove leading and trailing silence (frame RMS below the threshold relative to the loudest frame). */
export function trimSilence(x: Float32Array, sampleRate: number, options: TrimOptions = {}): Float32Array {
  const frame = Math.max(1, Math.round((options.frameSeconds ?? 0.02) * sampleRate));
  const pad = Math.round((options.padSeconds ?? 0.05) * sampleRate);
  const nFrames = Math.ceil(x.length / frame);
  const energies = new Float64Array(nFrames);
  let maxE = 0;
  for (let f = 0; f < nFrames; f++) {
    const e = rms(x.subarray(f * frame, Math.min(x.length, (f + 1) * frame)));
    energies[f] = e;
    maxE = Math.max(maxE, e);
  }
  if (maxE === 0) return new Float32Array(0);
  const thr = maxE * dbToGain(-(options.thresholdDb ?? 40));
  let first = 0;
  while (first < nFrames && energies[first] < thr) first++;
  let last = nFrames - 1;
  while (last > first && energies[last] < thr) last--;
  const a = Math.max(0, first * frame - pad);
  const b = Math.min(x.length, (last + 1) * frame + pad);
  return x.slice(a, b);
}

export type CropMode = 'start' | 'center' | 'random';

/**
 * Make a clip of exactly `length` samples. Longer input is cropped (at the start, the centre, or a
 * random offset); shorter input is zero-padded (placed at the start, the centre, or a random offset).
 */
export function cropOrPad(x: Float32Array, length: number = CLIP_SAMPLES, mode: CropMode = 'center', rng?: Rng): Float32Array {
  if (mode === 'random' && !rng) throw new Error("cropOrPad: mode 'random' needs an Rng");
  const slack = Math.abs(x.length - length);
  const offset = mode === 'start' ? 0 : mode === 'center' ? Math.floor(slack / 2) : (rng as Rng).int(slack + 1);
  if (x.length >= length) return x.slice(offset, offset + length);
  const out = new Float32Array(length);
  out.set(x, offset);
  return out;
}

export interface SegmentOptions {
  /** Clip length (default 28,800). */
  length?: number;
  /** Step between clip starts (default = length: no overlap). */
  hop?: number;
  /** A trailing part shorter than this fraction of `length` is dropped (default 0.25); longer ones are zero-padded. The first clip is always kept. */
  minFraction?: number;
}

/** Cut a recording into deterministic fixed-length clips (for evaluation and code extraction). */
export function segment(x: Float32Array, options: SegmentOptions = {}): Float32Array[] {
  const length = options.length ?? CLIP_SAMPLES;
  const hop = options.hop ?? length;
  const minLen = Math.ceil((options.minFraction ?? 0.25) * length);
  const clips: Float32Array[] = [];
  for (let start = 0; start === 0 || start < x.length; start += hop) {
    const part = x.subarray(start, start + length);
    if (start > 0 && part.length < minLen) break;
    clips.push(part.length === length ? part.slice() : cropOrPad(part, length, 'start'));
    if (start + length >= x.length) break;
  }
  return clips;
}
