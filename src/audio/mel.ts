/**
 * Log-mel spectrogram front end and its inverse.
 *
 * STFT with fft.js (periodic Hann window, centred frames with reflect padding), a mel filterbank
 * (Slaney mel scale and area normalisation, as librosa's default), natural-log compression.
 * The inverse maps mel back to a linear magnitude spectrogram with a non-negative least-squares fit
 * (multiplicative updates) and recovers phase with fast Griffin–Lim (Perraudin et al. 2013, momentum 0.99).
 *
 * Layout: a spectrogram is frame-major, `data[frame * bins + bin]` — the [time, channels] layout
 * the codecs' conv1d layers take.
 */
import FFT from 'fft.js';
import { Rng } from '../util/rng';
import { SAMPLE_RATE } from './constants';

export interface StftConfig {
  nFft: number;
  hop: number;
  /** Centre frames on their time (pad nFft/2 by reflection on both sides). */
  center: boolean;
}

export interface MelConfig extends StftConfig {
  sampleRate: number;
  nMels: number;
  fMin: number;
  fMax: number;
  /** 1: mel of magnitudes; 2: mel of power. */
  power: 1 | 2;
  /** log(max(mel, floor)). */
  logFloor: number;
}

/** Defaults for 4 kHz audio: 64 ms windows, 16 ms hop, 64 mel bands over 0–2 kHz. */
export const DEFAULT_MEL: MelConfig = {
  sampleRate: SAMPLE_RATE,
  nFft: 256,
  hop: 64,
  center: true,
  nMels: 64,
  fMin: 0,
  fMax: SAMPLE_RATE / 2,
  power: 1,
  logFloor: 1e-5,
};

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
const F_SP = 200 / 3;
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOG_STEP = Math.log(6.4) / 27;

export function hzToMel(hz: number): number {
  return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP : hz / F_SP;
}

export function melToHz(mel: number): number {
  return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : F_SP * mel;
}

/** Centre frequencies (Hz) of the mel bands, `nMels + 2` edges → `nMels` centres. */
export function melCenters(cfg: Pick<MelConfig, 'nMels' | 'fMin' | 'fMax'>): Float64Array {
  const lo = hzToMel(cfg.fMin);
  const hi = hzToMel(cfg.fMax);
  const c = new Float64Array(cfg.nMels);
  for (let m = 0; m < cfg.nMels; m++) c[m] = melToHz(lo + ((hi - lo) * (m + 1)) / (cfg.nMels + 1));
  return c;
}

/** Triangular mel filterbank, Slaney-normalised (each filter has unit area). Row-major [nMels × bins]. */
export function melFilterbank(cfg: Pick<MelConfig, 'sampleRate' | 'nFft' | 'nMels' | 'fMin' | 'fMax'>): Float32Array {
  const bins = cfg.nFft / 2 + 1;
  const lo = hzToMel(cfg.fMin);
  const hi = hzToMel(cfg.fMax);
  const edges = new Float64Array(cfg.nMels + 2);
  for (let i = 0; i < edges.length; i++) edges[i] = melToHz(lo + ((hi - lo) * i) / (cfg.nMels + 1));
  const fb = new Float32Array(cfg.nMels * bins);
  for (let m = 0; m < cfg.nMels; m++) {
    const l = edges[m];
    const c = edges[m + 1];
    const r = edges[m + 2];
    const norm = 2 / (r - l);
    for (let k = 0; k < bins; k++) {
      const hz = (k * cfg.sampleRate) / cfg.nFft;
      const w = Math.max(0, Math.min((hz - l) / (c - l), (r - hz) / (r - c)));
      fb[m * bins + k] = w * norm;
    }
  }
  return fb;
}

function applyFilterbank(spec: Spectrogram, fb: Float32Array, nMels: number): Spectrogram {
  const { frames, bins } = spec;
  const out = new Float32Array(frames * nMels);
  for (let t = 0; t < frames; t++) {
    for (let m = 0; m < nMels; m++) {
      let s = 0;
      for (let k = 0; k < bins; k++) s += fb[m * bins + k] * spec.data[t * bins + k];
      out[t * nMels + m] = s;
    }
  }
  return { frames, bins: nMels, data: out };
}

/** Mel spectrogram (linear amplitude), frame-major [frames × nMels]. */
export function melSpectrogram(x: Float32Array, cfg: MelConfig = DEFAULT_MEL): Spectrogram {
  const mag = magnitude(stft(x, cfg));
  if (cfg.power === 2) for (let i = 0; i < mag.data.length; i++) mag.data[i] = mag.data[i] ** 2;
  return applyFilterbank(mag, melFilterbank(cfg), cfg.nMels);
}

/** log(max(mel, floor)), frame-major [frames × nMels]. */
export function logMelSpectrogram(x: Float32Array, cfg: MelConfig = DEFAULT_MEL): Spectrogram {
  const mel = melSpectrogram(x, cfg);
  for (let i = 0; i < mel.data.length; i++) mel.data[i] = Math.log(Math.max(mel.data[i], cfg.logFloor));
  return mel;
}

/**
 * Invert the mel filterbank: the non-negative linear spectrogram S minimising ‖M·S − mel‖², found with
 * Lee–Seung multiplicative updates (NNLS). Returns magnitudes (power 1) whatever `cfg.power` is.
 */
export function melToMagnitude(mel: Spectrogram, cfg: MelConfig = DEFAULT_MEL, iterations = 100): Spectrogram {
  const bins = cfg.nFft / 2 + 1;
  const nMels = cfg.nMels;
  if (mel.bins !== nMels) throw new RangeError(`melToMagnitude: got ${mel.bins} mel bands, config has ${nMels}`);
  const fb = melFilterbank(cfg);
  // Gram matrix MᵀM [bins × bins] and MᵀY per frame
  const gram = new Float64Array(bins * bins);
  for (let m = 0; m < nMels; m++) {
    for (let i = 0; i < bins; i++) {
      const a = fb[m * bins + i];
      if (a === 0) continue;
      for (let j = 0; j < bins; j++) gram[i * bins + j] = gram[i * bins + j] + a * fb[m * bins + j];
    }
  }
  // MᵀM is banded (each filter overlaps only its neighbours): keep the non-zero span of each row.
  const bandStart = new Int32Array(bins);
  const bandEnd = new Int32Array(bins);
  for (let i = 0; i < bins; i++) {
    let a = 0;
    while (a < bins && gram[i * bins + a] === 0) a++;
    let b = bins;
    while (b > a && gram[i * bins + b - 1] === 0) b--;
    bandStart[i] = a;
    bandEnd[i] = b;
  }
  const out = new Float32Array(mel.frames * bins);
  const mty = new Float64Array(bins);
  const s = new Float64Array(bins);
  const gs = new Float64Array(bins);
  for (let t = 0; t < mel.frames; t++) {
    mty.fill(0);
    for (let m = 0; m < nMels; m++) {
      const y = Math.max(0, mel.data[t * nMels + m]);
      for (let k = 0; k < bins; k++) mty[k] = mty[k] + fb[m * bins + k] * y;
    }
    for (let k = 0; k < bins; k++) s[k] = mty[k] + 1e-12;
    for (let it = 0; it < iterations; it++) {
      for (let i = 0; i < bins; i++) {
        let acc = 0;
        const end = bandEnd[i];
        for (let j = bandStart[i]; j < end; j++) acc += gram[i * bins + j] * s[j];
        gs[i] = acc;
      }
      for (let k = 0; k < bins; k++) s[k] = (s[k] * mty[k]) / (gs[k] + 1e-12);
    }
    for (let k = 0; k < bins; k++) out[t * bins + k] = cfg.power === 2 ? Math.sqrt(s[k]) : s[k];
  }
  return { frames: mel.frames, bins, data: out };
}

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
export function logMelToAudio(logMel: Spectrogram, length: number, cfg: MelConfig = DEFAULT_MEL, options: GriffinLimOptions = {}): Float32Array {
  const mel: Spectrogram = { frames: logMel.frames, bins: logMel.bins, data: logMel.data.map((v) => Math.exp(v)) };
  return griffinLim(melToMagnitude(mel, cfg), cfg, length, options);
}

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
