/**
 * Log-mel spectrogram front end and its inverse.
 *
 * The STFT and Griffin–Lim are in stft.ts (re-exported here). A mel filterbank
 * (Slaney mel scale and area normalisation, as librosa's default), natural-log compression.
 * The inverse maps mel back to a linear magnitude spectrogram with a non-negative least-squares fit
 * (multiplicative updates) and recovers phase with fast Griffin–Lim (Perraudin et al. 2013, momentum 0.99).
 *
 * Layout: a spectrogram is frame-major, `data[frame * bins + bin]` — the [time, channels] layout
 * the codecs' conv1d layers take.
 */
import { SAMPLE_RATE } from './constants';
import { type GriffinLimOptions, griffinLim, magnitude, type Spectrogram, type StftConfig, stft } from './stft';

export * from './stft';

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

/** Log of the front end's floor: the value of silence in a log-mel of DEFAULT_MEL. */
export const LOG_SILENCE = Math.log(DEFAULT_MEL.logFloor);

/** Energy of each frame: the sum of linear mel magnitudes (of a log-mel spectrogram). */
export function frameEnergy(spec: Spectrogram): Float32Array {
  const e = new Float32Array(spec.frames);
  for (let t = 0; t < spec.frames; t++) {
    let s = 0;
    for (let m = 0; m < spec.bins; m++) s += Math.exp(spec.data[t * spec.bins + m] as number);
    e[t] = s;
  }
  return e;
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

export function logMelToAudio(logMel: Spectrogram, length: number, cfg: MelConfig = DEFAULT_MEL, options: GriffinLimOptions = {}): Float32Array {
  const mel: Spectrogram = { frames: logMel.frames, bins: logMel.bins, data: logMel.data.map((v) => Math.exp(v)) };
  return griffinLim(melToMagnitude(mel, cfg), cfg, length, options);
}
