/** Reconstruction metrics on waveforms: mean squared error and scale-invariant SDR. */

export function mse(reference: Float32Array, estimate: Float32Array): number {
  if (reference.length !== estimate.length) throw new RangeError(`mse: lengths differ (${reference.length} vs ${estimate.length})`);
  let s = 0;
  for (let i = 0; i < reference.length; i++) s += (reference[i] - estimate[i]) ** 2;
  return s / Math.max(1, reference.length);
}

/**
 * Scale-invariant signal-to-distortion ratio in dB (Le Roux et al. 2019): the estimate is projected
 * on the (zero-mean) reference; SI-SDR = 10 log10(‖target‖² / ‖estimate − target‖²).
 * Silent references give NaN (undefined), which callers skip.
 */
export function siSdr(reference: Float32Array, estimate: Float32Array): number {
  if (reference.length !== estimate.length) throw new RangeError(`siSdr: lengths differ (${reference.length} vs ${estimate.length})`);
  const n = reference.length;
  let mr = 0;
  let me = 0;
  for (let i = 0; i < n; i++) {
    mr += reference[i];
    me += estimate[i];
  }
  mr /= n;
  me /= n;
  let dot = 0;
  let rr = 0;
  for (let i = 0; i < n; i++) {
    const r = reference[i] - mr;
    dot += r * (estimate[i] - me);
    rr += r * r;
  }
  if (rr === 0) return Number.NaN;
  const alpha = dot / rr;
  let target = 0;
  let noise = 0;
  for (let i = 0; i < n; i++) {
    const t = alpha * (reference[i] - mr);
    const e = estimate[i] - me - t;
    target += t * t;
    noise += e * e;
  }
  return 10 * Math.log10(Math.max(target, 1e-20) / Math.max(noise, 1e-20));
}

/** Mean of the finite values (NaN when there are none). */
export function finiteMean(xs: readonly number[]): number {
  const ok = xs.filter((x) => Number.isFinite(x));
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : Number.NaN;
}
