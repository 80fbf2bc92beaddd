/**
 * Does a sound keep its class? — measured with the project's 3-way sound classifier
 * (cat / dog / neither, src/models/sound-classifier.ts), and is it new? — measured against the
 * training recordings.
 *
 * - `recognition`: the share of clips the classifier assigns to the asked class and the share it
 *   calls "neither" (noise-like). A generator of noise scores 0 recognised, ~1 neither.
 * - `judgeEmbedder`: the classifier's 32-dim embedding of 2-s windows (hop 1 s) as an FAD embedder,
 *   so FAD measures distance in a space that separates meows, barks and noise.
 * - `nearestTrainingSimilarity`: for a clip, the best normalised cross-correlation (Pearson) of its
 *   log-mel with any training recording over all time shifts (≥ 1 s of overlap, silence skipped). A copy of a training clip
 *   scores ~1. Compare generated clips with held-out real clips, which are themselves not copies
 *   but can be close (the data set has near-duplicates).
 * - `closerThan`: are generated clips closer to the training recordings than held-out clips are? The
 *   probability that a clip of one set is more similar to its nearest training recording than a clip
 *   of the other (Mann–Whitney), with a bootstrap interval: 0.5 when they are alike, 1 for copies.
 */
import { DEFAULT_MEL, logMelSpectrogram, type Spectrogram } from '../audio/mel';
import { SAMPLE_RATE } from '../audio/constants';
import { NEITHER, type SoundClassifier } from '../models/sound-classifier';
import { windows, type Embedder } from './embedders';
import * as tf from '@tensorflow/tfjs';
import { soundClassifierInput } from '../models/sound-classifier';
import { Rng } from '../util/rng';

export interface Recognition {
  clips: number;
  /** Share classified as the asked class. */
  recognised: number;
  /** Share classified as "neither". */
  neither: number;
  /** Predicted class per clip (0 cat, 1 dog, 2 neither). */
  predictions: number[];
}

export function recognition(judge: SoundClassifier, clips: readonly Float32Array[], asked: number | readonly number[]): Recognition {
  const predictions = judge.classify(clips);
  const want = (i: number) => (typeof asked === 'number' ? asked : (asked[i] as number));
  const n = Math.max(1, clips.length);
  return {
    clips: clips.length,
    recognised: predictions.filter((p, i) => p === want(i)).length / n,
    neither: predictions.filter((p) => p === NEITHER).length / n,
    predictions,
  };
}

/** The judge's embedding of 2-s windows (hop 1 s) of each clip, as an FAD embedder. */
export function judgeEmbedder(judge: SoundClassifier): Embedder {
  return {
    name: `sound-classifier embedding (${judge.cfg.embed} dims, 2-s windows, hop 1 s)`,
    async embed(clips) {
      const wins = clips.flatMap((c) => windows(c, SAMPLE_RATE, { windowSeconds: 2, hopSeconds: 1 }));
      const out: Float32Array[] = [];
      for (let i = 0; i < wins.length; i += 32) {
        const part = wins.slice(i, i + 32);
        const e = tf.tidy(() => judge.embedding(soundClassifierInput(part, judge.cfg)));
        const data = (await e.data()) as Float32Array;
        e.dispose();
        for (let k = 0; k < part.length; k++) out.push(data.slice(k * judge.cfg.embed, (k + 1) * judge.cfg.embed));
      }
      return out;
    },
  };
}

/** Log-mel pooled to 16 bands and every second frame: the memorisation view. */
export function memorisationView(audio: Float32Array): Spectrogram {
  const s = logMelSpectrogram(audio, DEFAULT_MEL);
  const bands = 16;
  const per = s.bins / bands;
  const frames = Math.floor(s.frames / 2);
  const data = new Float32Array(frames * bands);
  for (let t = 0; t < frames; t++) {
    for (let b = 0; b < bands; b++) {
      let v = 0;
      for (let f = 0; f < 2; f++) for (let k = 0; k < per; k++) v += s.data[(2 * t + f) * s.bins + b * per + k] as number;
      data[t * bands + b] = v / (2 * per);
    }
  }
  return { frames, bins: bands, data };
}

/**
 * Best normalised cross-correlation of `a` with `b` over all time shifts with at least `minOverlap`
 * frames (view frames: 32 ms each): the Pearson correlation of the overlapping parts. Overlaps where
 * either side is flat (silence against silence) are skipped — they say nothing about copying.
 */
export function bestCrossCorrelation(a: Spectrogram, b: Spectrogram, minOverlap = 31): number {
  const bins = a.bins;
  let best = -1;
  const need = Math.min(minOverlap, a.frames, b.frames);
  for (let shift = -(b.frames - need); shift <= a.frames - need; shift++) {
    // a frame t aligns with b frame t − shift
    const t0 = Math.max(0, shift);
    const t1 = Math.min(a.frames, b.frames + shift);
    const n = (t1 - t0) * bins;
    if (t1 - t0 < need) continue;
    let sa = 0;
    let sb = 0;
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let t = t0; t < t1; t++) {
      const ia = t * bins;
      const ib = (t - shift) * bins;
      for (let k = 0; k < bins; k++) {
        const x = a.data[ia + k] as number;
        const y = b.data[ib + k] as number;
        sa += x;
        sb += y;
        ab += x * y;
        aa += x * x;
        bb += y * y;
      }
    }
    const va = aa - (sa * sa) / n;
    const vb = bb - (sb * sb) / n;
    if (va < 1e-3 * n || vb < 1e-3 * n) continue; // flat: silence
    const c = (ab - (sa * sb) / n) / Math.sqrt(va * vb);
    if (c > best) best = c;
  }
  return best;
}

/** For each clip, its best cross-correlation with any of the training recordings. */
export function nearestTrainingSimilarity(clips: readonly Float32Array[], training: readonly Spectrogram[]): number[] {
  return clips.map((c) => {
    const v = memorisationView(c);
    let best = -1;
    for (const t of training) best = Math.max(best, bestCrossCorrelation(v, t));
    return best;
  });
}

/** P(a > b) + ½·P(a = b) over all pairs (the Mann–Whitney U statistic divided by |a|·|b|). */
export function probabilityGreater(a: readonly number[], b: readonly number[]): number {
  if (a.length === 0 || b.length === 0) return Number.NaN;
  let u = 0;
  for (const x of a) for (const y of b) u += x > y ? 1 : x === y ? 0.5 : 0;
  return u / (a.length * b.length);
}

export interface Closeness {
  /** P(a clip of the first set is closer to the training recordings than one of the second); ties count half. */
  p: number;
  /** 95 % bootstrap interval of p (both sets resampled with replacement). */
  low: number;
  high: number;
}

/**
 * How much closer to the training recordings clips `a` are than clips `b`, from their nearest-training
 * similarities: p = 0.5 when the two sets are alike, 1 when every clip of `a` is closer (copies of
 * training recordings), with a seeded 95 % percentile-bootstrap interval. "No closer" = p ≤ 0.5 or an
 * interval that holds 0.5.
 */
export function closerThan(a: readonly number[], b: readonly number[], o: { reps?: number; seed?: number | string } = {}): Closeness {
  const p = probabilityGreater(a, b);
  const reps = o.reps ?? 2000;
  const rng = new Rng(`closer-than/${o.seed ?? 0}`);
  const draw = (xs: readonly number[]) => Array.from({ length: xs.length }, () => xs[rng.int(xs.length)] as number);
  const boot = Array.from({ length: reps }, () => probabilityGreater(draw(a), draw(b))).sort((x, y) => x - y);
  const at = (q: number) => boot[Math.min(reps - 1, Math.max(0, Math.round(q * (reps - 1))))] as number;
  return { p, low: at(0.025), high: at(0.975) };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
