/**
 * Event patches: the training data of the log-mel generator (src/models/mel-flow.ts).
 *
 * Many recordings of the thesis' data set are short and mostly silence around one or two barks or
 * meows. Training on whole 7.2-s clips spends most of the model on silence; training on fixed-size
 * windows placed on the loud part (the loudest of a few random starts) spends it on the events.
 * A recording is peak-normalised, turned into a log-mel spectrogram once, and patches are cut from it.
 */
import { normalize } from '../audio/clips';
import { DEFAULT_MEL, logMelSpectrogram, type MelConfig, type Spectrogram } from '../audio/mel';
import type { Rng } from '../util/rng';

/** The log-mel spectrogram of a recording, peak-normalised to −1 dBFS first (frame-major [frames, bands]). */
export function recordingLogMel(audio: Float32Array, cfg: MelConfig = DEFAULT_MEL): Spectrogram {
  return logMelSpectrogram(normalize(audio, { mode: 'peak', targetDb: -1 }), cfg);
}

export interface PatchOptions {
  /** Frames per patch. */
  frames: number;
  /** Candidates drawn; the loudest one wins (1 = a uniformly random window). Default 3. */
  candidates?: number;
  /** Value of a frame outside the recording (log of the mel floor). */
  silence: number;
}

/**
 * A window of `frames` frames of `spec`: the loudest of `candidates` random starts. A recording
 * shorter than the window is placed at a random offset on a silent floor.
 */
export function eventPatch(spec: Spectrogram, energy: Float32Array, rng: Rng, o: PatchOptions): Float32Array {
  const { frames, silence } = o;
  const bins = spec.bins;
  const out = new Float32Array(frames * bins).fill(silence);
  if (spec.frames <= frames) {
    const at = rng.int(frames - spec.frames + 1);
    out.set(spec.data, at * bins);
    return out;
  }
  // prefix sums of energy to score candidate windows in O(1)
  const cum = new Float64Array(spec.frames + 1);
  for (let t = 0; t < spec.frames; t++) cum[t + 1] = (cum[t] as number) + (energy[t] as number);
  let best = 0;
  let bestScore = -1;
  for (let c = 0; c < (o.candidates ?? 3); c++) {
    const s = rng.int(spec.frames - frames + 1);
    const score = (cum[s + frames] as number) - (cum[s] as number);
    if (score > bestScore) {
      bestScore = score;
      best = s;
    }
  }
  out.set(spec.data.subarray(best * bins, (best + frames) * bins));
  return out;
}

/**
 * Shift a log-mel patch by a gain in dB (additive in the log domain), never below the silence floor.
 * `scale`: the patch is log-mel divided by this (a model's scaled space).
 */
export function gainPatch(patch: Float32Array, db: number, silence: number, scale = 1): Float32Array {
  const add = ((db / 20) * Math.LN10) / scale;
  return patch.map((v) => Math.max(silence, v + add));
}
