/**
 * "Neither" sounds: what the 3-way sound classifier (src/models/sound-classifier.ts) must not call a
 * cat or a dog. Two families:
 * - synthetic: white / pink / brown noise, band-limited noise, tones with harmonics, sweeps, clicks,
 *   silence (with a trace of noise), mains hum — each with random level and envelope;
 * - hard negatives made from a real recording, keeping one of its statistics and destroying its
 *   structure: noise with the recording's average spectrum, noise with its amplitude envelope, and
 *   its spectrogram blurred over time and frequency then resynthesised with random phase.
 * A generator that outputs noise, or noise shaped like the data, is caught by these.
 */
import { normalize } from '../audio/clips';
import { SAMPLE_RATE } from '../audio/constants';
import { istft, stft, type ComplexSpectrogram, type StftConfig } from '../audio/mel';
import type { Rng } from '../util/rng';

export const SYNTHETIC_NEITHER = ['white', 'pink', 'brown', 'band', 'tone', 'sweep', 'clicks', 'silence', 'hum'] as const;
export const SHAPED_NEITHER = ['spectrum-noise', 'envelope-noise', 'blurred'] as const;
export type NeitherKind = (typeof SYNTHETIC_NEITHER)[number] | (typeof SHAPED_NEITHER)[number];

const STFT: StftConfig = { nFft: 256, hop: 64, center: true };

function white(n: number, rng: Rng): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.normal();
  return x;
}

/** Pink noise by Paul Kellet's economy filter; brown by a leaky integrator. */
function coloured(n: number, rng: Rng, colour: 'pink' | 'brown'): Float32Array {
  const x = new Float32Array(n);
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  let y = 0;
  for (let i = 0; i < n; i++) {
    const w = rng.normal();
    if (colour === 'pink') {
      b0 = 0.99765 * b0 + w * 0.099046;
      b1 = 0.963 * b1 + w * 0.2965164;
      b2 = 0.57 * b2 + w * 1.0526913;
      x[i] = b0 + b1 + b2 + w * 0.1848;
    } else {
      y = 0.995 * y + w * 0.1;
      x[i] = y;
    }
  }
  return x;
}

/** Multiply every STFT frame's magnitude by a per-bin gain (frame-major gains, or one row for all frames). */
function shapeSpectrum(x: Float32Array, gain: (frame: number, bin: number) => number): Float32Array {
  const s = stft(x, STFT);
  for (let t = 0; t < s.frames; t++) {
    for (let k = 0; k < s.bins; k++) {
      const g = gain(t, k);
      const i = t * s.bins + k;
      s.re[i] = (s.re[i] as number) * g;
      s.im[i] = (s.im[i] as number) * g;
    }
  }
  return istft(s, STFT, x.length);
}

/** A slow random envelope in [0, 1]: a few random segments, or constant. */
function envelope(n: number, rng: Rng): Float32Array {
  const e = new Float32Array(n).fill(1);
  if (rng.uniform() < 0.4) return e;
  const pieces = 1 + rng.int(5);
  e.fill(0);
  for (let p = 0; p < pieces; p++) {
    const len = Math.floor(n * rng.range(0.05, 0.4));
    const start = rng.int(Math.max(1, n - len));
    for (let i = 0; i < len; i++) e[start + i] = Math.max(e[start + i] as number, Math.sin((Math.PI * i) / len));
  }
  return e;
}

function synthetic(kind: (typeof SYNTHETIC_NEITHER)[number], n: number, rng: Rng): Float32Array {
  const sr = SAMPLE_RATE;
  switch (kind) {
    case 'white':
      return white(n, rng);
    case 'pink':
    case 'brown':
      return coloured(n, rng, kind);
    case 'band': {
      const lo = rng.range(0, 1800);
      const hi = Math.min(2000, lo + rng.range(50, 800));
      return shapeSpectrum(white(n, rng), (_, k) => {
        const f = (k * sr) / STFT.nFft;
        return f >= lo && f <= hi ? 1 : 0.01;
      });
    }
    case 'tone': {
      const f0 = rng.range(80, 1500);
      const harmonics = 1 + rng.int(5);
      const x = new Float32Array(n);
      for (let h = 1; h <= harmonics; h++) {
        if (f0 * h >= sr / 2) break;
        const a = 1 / h;
        const ph = rng.range(0, 2 * Math.PI);
        for (let i = 0; i < n; i++) x[i] = (x[i] as number) + a * Math.sin((2 * Math.PI * f0 * h * i) / sr + ph);
      }
      return x;
    }
    case 'sweep': {
      const f1 = rng.range(50, 1900);
      const f2 = rng.range(50, 1900);
      const x = new Float32Array(n);
      let ph = 0;
      for (let i = 0; i < n; i++) {
        ph += (2 * Math.PI * (f1 + ((f2 - f1) * i) / n)) / sr;
        x[i] = Math.sin(ph);
      }
      return x;
    }
    case 'clicks': {
      const x = new Float32Array(n);
      const rate = rng.range(1, 40); // clicks per second
      for (let i = 0; i < n; i++)
        if (rng.uniform() < rate / sr) for (let j = 0; j < 8 && i + j < n; j++) x[i + j] = (rng.uniform() < 0.5 ? -1 : 1) * (1 - j / 8);
      return x;
    }
    case 'silence': {
      const x = white(n, rng);
      const a = 10 ** (rng.range(-90, -50) / 20);
      return x.map((v) => v * a);
    }
    case 'hum': {
      const mains = rng.uniform() < 0.5 ? 50 : 60;
      const x = new Float32Array(n);
      for (let h = 1; h <= 8; h++) {
        const a = rng.range(0.1, 1) / h;
        for (let i = 0; i < n; i++) x[i] = (x[i] as number) + a * Math.sin((2 * Math.PI * mains * h * i) / sr);
      }
      return x;
    }
  }
}

/** Box blur of a magnitude spectrogram over ±ft frames and ±fk bins. */
function blurMagnitude(s: ComplexSpectrogram, ft: number, fk: number): Float32Array {
  const mag = new Float32Array(s.frames * s.bins);
  for (let i = 0; i < mag.length; i++) mag[i] = Math.hypot(s.re[i] as number, s.im[i] as number);
  const out = new Float32Array(mag.length);
  for (let t = 0; t < s.frames; t++) {
    for (let k = 0; k < s.bins; k++) {
      let sum = 0;
      let cnt = 0;
      for (let dt = -ft; dt <= ft; dt++) {
        const tt = t + dt;
        if (tt < 0 || tt >= s.frames) continue;
        for (let dk = -fk; dk <= fk; dk++) {
          const kk = k + dk;
          if (kk < 0 || kk >= s.bins) continue;
          sum += mag[tt * s.bins + kk] as number;
          cnt++;
        }
      }
      out[t * s.bins + k] = sum / cnt;
    }
  }
  return out;
}

function shaped(kind: (typeof SHAPED_NEITHER)[number], source: Float32Array, rng: Rng): Float32Array {
  const n = source.length;
  if (kind === 'envelope-noise') {
    // RMS envelope over 32-ms windows, imposed on white noise
    const w = 64;
    const env = new Float32Array(n);
    let acc = 0;
    for (let i = 0; i < n + w; i++) {
      if (i < n) acc += (source[i] as number) ** 2;
      if (i >= w * 2) acc -= (source[i - w * 2] as number) ** 2;
      if (i >= w && i - w < n) env[i - w] = Math.sqrt(Math.max(0, acc) / (2 * w));
    }
    const x = white(n, rng);
    return x.map((v, i) => v * (env[i] as number));
  }
  const s = stft(source, STFT);
  if (kind === 'spectrum-noise') {
    const avg = new Float32Array(s.bins);
    for (let t = 0; t < s.frames; t++)
      for (let k = 0; k < s.bins; k++) avg[k] = (avg[k] as number) + Math.hypot(s.re[t * s.bins + k] as number, s.im[t * s.bins + k] as number) / s.frames;
    const env = envelope(n, rng);
    return shapeSpectrum(white(n, rng), (_, k) => avg[k] as number).map((v, i) => v * (env[i] as number));
  }
  // blurred: coarse time–frequency shape, random phase
  const blurred = blurMagnitude(s, 4 + rng.int(8), 3 + rng.int(6));
  for (let i = 0; i < blurred.length; i++) {
    const ph = rng.range(0, 2 * Math.PI);
    s.re[i] = (blurred[i] as number) * Math.cos(ph);
    s.im[i] = (blurred[i] as number) * Math.sin(ph);
  }
  return istft(s, STFT, n);
}

/**
 * One "neither" clip of `n` samples at 4 kHz, peak-normalised to a random level (−30…−1 dBFS; silence
 * stays quiet). Shaped kinds need a `source` recording (cropped/padded to n by the caller).
 */
export function neitherClip(kind: NeitherKind, n: number, rng: Rng, source?: Float32Array): Float32Array {
  let x: Float32Array;
  if ((SHAPED_NEITHER as readonly string[]).includes(kind)) {
    if (!source) throw new Error(`neitherClip: '${kind}' needs a source recording`);
    x = shaped(kind as (typeof SHAPED_NEITHER)[number], source, rng);
  } else {
    x = synthetic(kind as (typeof SYNTHETIC_NEITHER)[number], n, rng);
    if (kind !== 'silence' && kind !== 'white' && kind !== 'hum') {
      const env = envelope(n, rng);
      x = x.map((v, i) => v * (env[i] as number));
    }
  }
  if (kind === 'silence') return x;
  return normalize(x, { mode: 'peak', targetDb: rng.range(-30, -1) });
}

/** A random kind: half synthetic, half shaped from a recording (when one is given). */
export function randomNeitherKind(rng: Rng, haveSource: boolean): NeitherKind {
  if (haveSource && rng.uniform() < 0.5) return SHAPED_NEITHER[rng.int(SHAPED_NEITHER.length)] as NeitherKind;
  return SYNTHETIC_NEITHER[rng.int(SYNTHETIC_NEITHER.length)] as NeitherKind;
}
