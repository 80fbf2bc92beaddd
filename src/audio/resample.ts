/**
 * Band-limited resampling with an anti-aliasing low-pass filter (wave-resampler: windowed-sinc
 * interpolation after a Butterworth IIR low-pass at the new Nyquist frequency). Not decimation:
 * content above the target Nyquist frequency is removed before it can alias.
 */
import * as waveResampler from 'wave-resampler';
import { cjsExport } from '../util/interop';

type ResampleFn = (samples: ArrayLike<number>, from: number, to: number, details?: object) => ArrayLike<number>;
const resampleImpl = cjsExport<ResampleFn>(waveResampler, 'resample');

export function resample(x: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (!(fromRate > 0) || !(toRate > 0)) throw new RangeError(`resample: sample rates must be positive (got ${fromRate} → ${toRate})`);
  if (fromRate === toRate) return Float32Array.from(x);
  if (x.length === 0) return new Float32Array(0);
  // wave-resampler low-pass filters its input in place: hand it a copy (inputs may be cached audio).
  const y = resampleImpl(Float64Array.from(x), fromRate, toRate, { method: 'sinc', LPF: true, LPFType: 'IIR' });
  return Float32Array.from(y);
}

/** Average the channels into one. */
export function mixToMono(channels: readonly Float32Array[]): Float32Array {
  if (channels.length === 0) return new Float32Array(0);
  if (channels.length === 1) return Float32Array.from(channels[0] as Float32Array);
  const n = Math.min(...channels.map((c) => c.length));
  const out = new Float32Array(n);
  for (const c of channels) for (let i = 0; i < n; i++) out[i] = out[i] + c[i];
  const k = 1 / channels.length;
  for (let i = 0; i < n; i++) out[i] = out[i] * k;
  return out;
}
