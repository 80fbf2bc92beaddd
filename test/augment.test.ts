import { describe, expect, it } from 'vitest';
import { rms } from '../src/audio/clips';
import { augment, changeSpeed, DEFAULT_AUGMENT, mixAtSnr, shift } from '../src/data/augment';
import { Rng } from '../src/util/rng';
import { dominantFrequency, tone } from './helpers';

describe('augmentation', () => {
  it('is reproducible from the seed and differs across seeds', () => {
    const x = tone(600, 4000, 2);
    const noise = [tone(90, 4000, 1)];
    const a = augment(x, new Rng(1), DEFAULT_AUGMENT, noise);
    const b = augment(x, new Rng(1), DEFAULT_AUGMENT, noise);
    expect(a).toEqual(b);
    const others = [2, 3, 4, 5].map((s) => augment(x, new Rng(s), DEFAULT_AUGMENT, noise));
    expect(others.some((o) => o.length !== a.length || o.some((v, i) => v !== a[i]))).toBe(true);
    expect(x[10]).toBeCloseTo(0.5 * Math.sin((2 * Math.PI * 600 * 10) / 4000), 6); // input untouched
  });
  it('speed change by resampling shortens and raises pitch', () => {
    const y = changeSpeed(tone(500, 4000, 1), 1.25);
    expect(Math.abs(y.length - 3200)).toBeLessThanOrEqual(2);
    expect(dominantFrequency(y.subarray(200, 3000), 4000, [400, 500, 625, 750])).toBe(625);
  });
  it('mixes at the requested SNR', () => {
    const x = tone(500, 4000, 1);
    const n = tone(1300, 4000, 0.3);
    const y = mixAtSnr(x, n, 10, new Rng(0));
    const added = y.map((v, i) => v - (x[i] as number));
    expect(20 * Math.log10(rms(x) / rms(added))).toBeCloseTo(10, 1);
  });
  it('shifts without wrapping around', () => {
    expect(Array.from(shift(new Float32Array([1, 2, 3, 4]), 1))).toEqual([0, 1, 2, 3]);
    expect(Array.from(shift(new Float32Array([1, 2, 3, 4]), -2))).toEqual([3, 4, 0, 0]);
    expect(Array.from(shift(new Float32Array([1, 2]), 5))).toEqual([0, 0]);
  });
  it('keeps short recordings audible (shift is bounded by half the recording)', () => {
    const bark = tone(700, 4000, 0.15);
    for (let s = 0; s < 20; s++) expect(rms(augment(bark, new Rng(s), { shiftSeconds: 0.5 }))).toBeGreaterThan(0.1);
  });
});
