/**
 * Compose a clip from generated sound events in the log-mel domain.
 *
 * The generator makes 2-s patches, each holding one bark or meow (or a few) on a quiet floor. A 7.2-s
 * clip is laid out like the recordings it learned from: events one after another with short pauses,
 * each cut to its active span (frames within `spanDb` of its loudest frame) and faded in and out with
 * raised-cosine ramps so no event starts or ends with a click; between events, a steady floor taken
 * from the events' own quietest frames (not digital silence). Overlaps combine by maximum in the
 * linear domain.
 */
import { frameEnergy, type Spectrogram } from './mel';
import type { Rng } from '../util/rng';

export interface ComposeOptions {
  /** Frames of the composed clip (451 for 7.2 s at hop 64 with centred frames). */
  frames: number;
  /** An event's active span: frames within this many dB of its loudest frame. Default 30. */
  spanDb?: number;
  /** Fade length in frames at each end of an event. Default 6. */
  fadeFrames?: number;
  /** Pause between events, in frames: [min, max]. Default [12, 40]. */
  gap?: [number, number];
  /** Latest start of the first event, in frames. Default 30. */
  firstStart?: number;
  /** Log value of silence (log of the mel front end's floor). */
  silence: number;
}

/** Active span [start, end) of an event patch: frames whose energy is within spanDb of the loudest. */
export function activeSpan(spec: Spectrogram, spanDb: number): [number, number] {
  const e = frameEnergy(spec);
  const peak = e.reduce((a, v) => Math.max(a, v), 0);
  const thr = peak * 10 ** (-spanDb / 20);
  let a = 0;
  while (a < spec.frames - 1 && (e[a] as number) < thr) a++;
  let b = spec.frames;
  while (b > a + 1 && (e[b - 1] as number) < thr) b--;
  return [a, b];
}

/** Raised-cosine gain of frame i of a span of n frames with fades of f frames. */
function fadeGain(i: number, n: number, f: number): number {
  const k = Math.min(i + 0.5, n - i - 0.5);
  return k >= f ? 1 : 0.5 - 0.5 * Math.cos((Math.PI * k) / f);
}

/** Per-band floor: the 10th percentile of each band over all event frames. */
function floorOf(events: readonly Spectrogram[], silence: number): Float32Array {
  const bins = events[0]?.bins ?? 0;
  const floor = new Float32Array(bins).fill(silence);
  for (let m = 0; m < bins; m++) {
    const v: number[] = [];
    for (const e of events) for (let t = 0; t < e.frames; t++) v.push(e.data[t * bins + m] as number);
    v.sort((x, y) => x - y);
    if (v.length) floor[m] = v[Math.floor(0.1 * (v.length - 1))] as number;
  }
  return floor;
}

/**
 * Lay events out in a clip of `o.frames` frames. Events are used in order until the clip is full
 * (an event that does not fit is cut, with a fade, if it is the first; otherwise layout stops).
 * Returns the clip's log-mel and where each event landed.
 */
export function composeEvents(
  events: readonly Spectrogram[],
  rng: Rng,
  o: ComposeOptions,
): { spec: Spectrogram; placed: Array<{ event: number; start: number; frames: number }> } {
  if (events.length === 0) throw new RangeError('composeEvents: no events');
  const bins = (events[0] as Spectrogram).bins;
  const spanDb = o.spanDb ?? 30;
  const fade = o.fadeFrames ?? 6;
  const [gMin, gMax] = o.gap ?? [12, 40];
  const floor = floorOf(events, o.silence);
  const lin = new Float32Array(o.frames * bins);
  for (let t = 0; t < o.frames; t++) for (let m = 0; m < bins; m++) lin[t * bins + m] = Math.exp(floor[m] as number);
  const placed: Array<{ event: number; start: number; frames: number }> = [];
  let at = rng.int((o.firstStart ?? 30) + 1);
  for (let i = 0; i < events.length && at < o.frames; i++) {
    const e = events[i] as Spectrogram;
    const [a, b] = activeSpan(e, spanDb);
    let n = b - a;
    if (at + n > o.frames) {
      if (placed.length > 0) break;
      n = o.frames - at;
    }
    for (let k = 0; k < n; k++) {
      const g = fadeGain(k, n, Math.min(fade, n / 2));
      for (let m = 0; m < bins; m++) {
        const fl = Math.exp(floor[m] as number);
        const v = fl + g * Math.max(0, Math.exp(e.data[(a + k) * bins + m] as number) - fl);
        const j = (at + k) * bins + m;
        lin[j] = Math.max(lin[j] as number, v);
      }
    }
    placed.push({ event: i, start: at, frames: n });
    at += n + gMin + rng.int(gMax - gMin + 1);
  }
  const data = lin.map((v) => Math.log(Math.max(v, Math.exp(o.silence))));
  return { spec: { frames: o.frames, bins, data }, placed };
}

/**
 * The clip-length model: how long a recording of a class is, as `count` evenly spaced quantiles of
 * the training recordings' lengths in seconds (count ≥ 2; [] when there are none). Half the
 * recordings of the thesis' data set are shorter than a clip and sit centred in it on digital
 * silence, so clips filled end to end with events do not look like the data.
 */
export function lengthQuantiles(seconds: readonly number[], count = 11): number[] {
  if (count < 2) throw new RangeError(`lengthQuantiles: count must be ≥ 2, got ${count}`);
  if (seconds.length === 0) return [];
  const s = [...seconds].sort((a, b) => a - b);
  return Array.from({ length: count }, (_, i) => {
    const pos = (i / (count - 1)) * (s.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(s.length - 1, lo + 1);
    return (s[lo] as number) + (pos - lo) * ((s[hi] as number) - (s[lo] as number));
  });
}

/**
 * A length drawn from the clip-length model: inverse CDF, linear between the quantiles (a smooth
 * distribution over the range of the training lengths, not one of them). Null when the model is empty.
 */
export function sampleLength(quantiles: readonly number[], rng: Rng): number | null {
  if (quantiles.length === 0) return null;
  if (quantiles.length === 1) return quantiles[0] as number;
  const pos = rng.uniform() * (quantiles.length - 1);
  const lo = Math.min(quantiles.length - 2, Math.floor(pos));
  return (quantiles[lo] as number) + (pos - lo) * ((quantiles[lo + 1] as number) - (quantiles[lo] as number));
}
