/**
 * Short-time Fourier transform and back: STFT with fft.js (periodic Hann window, centred frames with
 * reflect padding), its inverse by overlap-add, and phase recovery from magnitudes by fast Griffin–Lim
 * (Perraudin et al. 2013, momentum 0.99). Used by the log-mel front end (mel.ts).
 *
 * Layout: a spectrogram is frame-major, `data[frame * bins + bin]`.
 */
import FFT from 'fft.js';
import { Rng } from '../util/rng';

export interface StftConfig {
  nFft: number;
  hop: number;
  /** Centre frames on their time (pad nFft/2 by reflection on both sides). */
  center: boolean;
}

export interface Spectrogram {
  frames: number;
  bins: number;
  /** frame-major: data[frame * bins + bin] */
  data: Float32Array;
}

export interface ComplexSpectrogram {
  frames: number;
  bins: number;
  re: Float32Array;
  im: Float32Array;
}

interface FftLike {
  createComplexArray(): number[];
  realTransform(out: number[], data: ArrayLike<number>): void;
  completeSpectrum(spectrum: number[]): void;
  inverseTransform(out: number[], data: ArrayLike<number>): void;
}
const FftCtor = FFT as unknown as new (size: number) => FftLike;
const fftCache = new Map<number, FftLike>();
function fftOf(n: number): FftLike {
  if (n < 2 || (n & (n - 1)) !== 0) throw new RangeError(`nFft must be a power of two ≥ 2, got ${n}`);
  let f = fftCache.get(n);
  if (!f) {
    f = new FftCtor(n);
    fftCache.set(n, f);
  }
  return f;
}

/** Periodic Hann window (as used for STFT analysis). */
export function hann(n: number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

function reflectPad(x: Float32Array, pad: number): Float32Array {
  const out = new Float32Array(x.length + 2 * pad);
  out.set(x, pad);
  for (let i = 0; i < pad; i++) {
    // reflect without repeating the edge sample; fall back to edge repeat for very short input
    const l = x.length > 1 ? Math.min(x.length - 1, i + 1) : 0;
    const r = x.length > 1 ? Math.max(0, x.length - 2 - i) : 0;
    out[pad - 1 - i] = x[l];
    out[pad + x.length + i] = x[r];
  }
  return out;
}

export function frameCount(length: number, cfg: StftConfig): number {
  const padded = cfg.center ? length + 2 * Math.floor(cfg.nFft / 2) : length;
  return padded < cfg.nFft ? 0 : 1 + Math.floor((padded - cfg.nFft) / cfg.hop);
}

export function stft(x: Float32Array, cfg: StftConfig): ComplexSpectrogram {
  const n = cfg.nFft;
  const bins = n / 2 + 1;
  const input = cfg.center ? reflectPad(x, Math.floor(n / 2)) : x;
  const frames = frameCount(x.length, cfg);
  const win = hann(n);
  const f = fftOf(n);
  const buf = new Float32Array(n);
  const out = f.createComplexArray();
  const re = new Float32Array(frames * bins);
  const im = new Float32Array(frames * bins);
  for (let t = 0; t < frames; t++) {
    const start = t * cfg.hop;
    for (let i = 0; i < n; i++) buf[i] = (input[start + i] ?? 0) * win[i];
    f.realTransform(out, buf);
    for (let k = 0; k < bins; k++) {
      re[t * bins + k] = out[2 * k];
      im[t * bins + k] = out[2 * k + 1];
    }
  }
  return { frames, bins, re, im };
}

/** Inverse STFT by windowed overlap-add; `length` is the output length (the original signal's). */
export function istft(spec: ComplexSpectrogram, cfg: StftConfig, length: number): Float32Array {
  const n = cfg.nFft;
  const { frames, bins } = spec;
  if (bins !== n / 2 + 1) throw new RangeError(`istft: ${bins} bins do not match nFft ${n}`);
  const win = hann(n);
  const f = fftOf(n);
  const total = n + cfg.hop * (frames - 1);
  const y = new Float64Array(total);
  const env = new Float64Array(total);
  const full = f.createComplexArray();
  const time = f.createComplexArray();
  for (let t = 0; t < frames; t++) {
    for (let k = 0; k < bins; k++) {
      full[2 * k] = spec.re[t * bins + k];
      full[2 * k + 1] = spec.im[t * bins + k];
    }
    for (let k = bins; k < n; k++) {
      // Hermitian symmetry of a real signal's spectrum
      full[2 * k] = full[2 * (n - k)];
      full[2 * k + 1] = -full[2 * (n - k) + 1];
    }
    f.inverseTransform(time, full);
    const start = t * cfg.hop;
    for (let i = 0; i < n; i++) {
      const w = win[i];
      y[start + i] = y[start + i] + time[2 * i] * w;
      env[start + i] = env[start + i] + w * w;
    }
  }
  const offset = cfg.center ? Math.floor(n / 2) : 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const j = i + offset;
    if (j >= total) break;
    const e = env[j];
    out[i] = e > 1e-8 ? y[j] / e : 0;
  }
  return out;
}

export function magnitude(spec: ComplexSpectrogram): Spectrogram {
  const data = new Float32Array(spec.re.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.hypot(spec.re[i], spec.im[i]);
  return { frames: spec.frames, bins: spec.bins, data };
}

// Slaney mel scale: linear below 1 kHz, logarithmic above (librosa's default, htk=False).

export interface GriffinLimOptions {
  iterations?: number;
  /** Fast Griffin–Lim momentum (0 = classic Griffin–Lim). Default 0.99. */
  momentum?: number;
  /** Seed for the initial random phase. Default 0. */
  seed?: number;
}

/** Recover a waveform of `length` samples from a magnitude spectrogram by (fast) Griffin–Lim. */
export function griffinLim(mag: Spectrogram, cfg: StftConfig, length: number, options: GriffinLimOptions = {}): Float32Array {
  const iterations = options.iterations ?? 60;
  const alpha = options.momentum ?? 0.99;
  const rng = new Rng(options.seed ?? 0);
  const n = mag.data.length;
  const angRe = new Float32Array(n);
  const angIm = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const ph = 2 * Math.PI * rng.uniform();
    angRe[i] = Math.cos(ph);
    angIm[i] = Math.sin(ph);
  }
  const spec: ComplexSpectrogram = { frames: mag.frames, bins: mag.bins, re: new Float32Array(n), im: new Float32Array(n) };
  const setSpec = () => {
    for (let i = 0; i < n; i++) {
      spec.re[i] = mag.data[i] * angRe[i];
      spec.im[i] = mag.data[i] * angIm[i];
    }
  };
  let prevRe: Float32Array = new Float32Array(n);
  let prevIm: Float32Array = new Float32Array(n);
  for (let it = 0; it < iterations; it++) {
    setSpec();
    const rebuilt = stft(istft(spec, cfg, length), cfg);
    const k = alpha / (1 + alpha);
    for (let i = 0; i < n; i++) {
      const re = rebuilt.re[i] - k * prevRe[i];
      const im = rebuilt.im[i] - k * prevIm[i];
      const norm = Math.hypot(re, im) + 1e-16;
      angRe[i] = re / norm;
      angIm[i] = im / norm;
    }
    prevRe = rebuilt.re;
    prevIm = rebuilt.im;
  }
  setSpec();
  return istft(spec, cfg, length);
}

/** Turn a log-mel spectrogram back into audio: exp → NNLS mel inversion → Griffin–Lim. */

/** Spectral convergence ‖|S(a)| − |S(b)|‖_F / ‖|S(a)|‖_F, a standard Griffin–Lim quality measure. */
export function spectralConvergence(reference: Float32Array, estimate: Float32Array, cfg: StftConfig): number {
  const a = magnitude(stft(reference, cfg)).data;
  const b = magnitude(stft(estimate, cfg)).data;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += a[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-20));
}
