import { describe, expect, it } from 'vitest';
import { CLIP_SAMPLES, cropOrPad, normalize, peak, rms, segment, trimSilence } from '../src/audio/index';
import { Rng } from '../src/util/rng';
import { tone } from './helpers';

describe('normalisation', () => {
  it('peak mode hits the target peak; rms mode hits the target RMS without clipping', () => {
    const x = tone(440, 4000, 1, 0.1);
    expect(peak(normalize(x, { mode: 'peak', targetDb: -1 }))).toBeCloseTo(10 ** (-1 / 20), 4);
    expect(20 * Math.log10(rms(normalize(x, { mode: 'rms', targetDb: -20 })))).toBeCloseTo(-20, 3);
    const y = normalize(x, { mode: 'rms', targetDb: 0 }); // would need peak √2: limited
    expect(peak(y)).toBeLessThan(1);
  });
  it('leaves silence alone', () => {
    expect(Array.from(normalize(new Float32Array(5), { mode: 'rms' }))).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('silence trimming', () => {
  it('removes leading and trailing silence, keeping a margin', () => {
    const x = new Float32Array(4000 * 3);
    x.set(tone(440, 4000, 1), 4000);
    const y = trimSilence(x, 4000, { padSeconds: 0.05 });
    expect(y.length).toBeGreaterThanOrEqual(4000);
    expect(y.length).toBeLessThanOrEqual(4000 + 2 * 200 + 160);
  });
});

describe('clips of 28,800 samples', () => {
  it('crop/pad in start, centre and seeded random modes', () => {
    const long = Float32Array.from({ length: 40000 }, (_, i) => i);
    expect(cropOrPad(long, CLIP_SAMPLES, 'start')[0]).toBe(0);
    expect(cropOrPad(long, CLIP_SAMPLES, 'center')[0]).toBe(Math.floor((40000 - CLIP_SAMPLES) / 2));
    const a = cropOrPad(long, CLIP_SAMPLES, 'random', new Rng(1));
    const b = cropOrPad(long, CLIP_SAMPLES, 'random', new Rng(1));
    expect(a).toEqual(b);
    expect(a).toHaveLength(CLIP_SAMPLES);
    const short = new Float32Array(100).fill(1);
    const padded = cropOrPad(short, 1000, 'center');
    expect(padded).toHaveLength(1000);
    expect(padded[450]).toBe(1);
    expect(padded[0]).toBe(0);
    expect(() => cropOrPad(short, 1000, 'random')).toThrow(/Rng/);
  });
  it('segments deterministically, padding the last part and dropping a tiny tail', () => {
    const x = new Float32Array(CLIP_SAMPLES * 2 + 10000).fill(1);
    const clips = segment(x);
    expect(clips).toHaveLength(3);
    expect(clips.every((c) => c.length === CLIP_SAMPLES)).toBe(true);
    expect(clips[2]?.[10000]).toBe(0);
    expect(segment(new Float32Array(CLIP_SAMPLES + 100))).toHaveLength(1);
    expect(segment(new Float32Array(10))).toHaveLength(1);
  });
});
