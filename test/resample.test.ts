import { describe, expect, it } from 'vitest';
import { mixToMono, resample } from '../src/audio/resample';
import { rmsOf, tone } from './helpers';

const db = (x: number) => 20 * Math.log10(x);

describe('anti-aliasing resampler', () => {
  for (const from of [8000, 11025, 16000, 22050, 44100, 48000]) {
    it(`${from} Hz → 4 kHz: a 3 kHz tone vanishes, a 500 Hz tone keeps its level within 1 dB`, () => {
      const high = resample(tone(3000, from, 1, 0.5), from, 4000);
      const low = resample(tone(500, from, 1, 0.5), from, 4000);
      expect(low.length).toBe(4000);
      expect(high.length).toBe(4000);
      const ref = 0.5 / Math.SQRT2;
      // naive decimation would fold 3 kHz to 1 kHz at full level; it must be ≥ 60 dB down
      expect(db(rmsOf(high, 200) / ref)).toBeLessThan(-60);
      expect(Math.abs(db(rmsOf(low, 200) / ref))).toBeLessThan(1);
    });
  }

  it('the check above can fail: naive decimation lets 3 kHz through (aliased to 1 kHz)', () => {
    const x = tone(3000, 16000, 1, 0.5);
    const naive = Float32Array.from({ length: 4000 }, (_, i) => x[i * 4] as number);
    expect(db(rmsOf(naive, 200) / (0.5 / Math.SQRT2))).toBeGreaterThan(-1);
  });

  it('upsamples 4 kHz → 16 kHz keeping a 500 Hz tone', () => {
    const y = resample(tone(500, 4000, 1, 0.5), 4000, 16000);
    expect(y.length).toBe(16000);
    expect(Math.abs(db(rmsOf(y, 800) / (0.5 / Math.SQRT2)))).toBeLessThan(1);
  });

  it('same rate is a copy; bad rates throw', () => {
    const x = tone(100, 4000, 0.1);
    const y = resample(x, 4000, 4000);
    expect(y).toEqual(x);
    expect(y).not.toBe(x);
    expect(() => resample(x, 0, 4000)).toThrow(RangeError);
  });

  it('does not modify its input', () => {
    const x = tone(1900, 16000, 0.2);
    const before = Float32Array.from(x);
    resample(x, 16000, 4000);
    expect(x).toEqual(before);
  });

  it('mixes channels to mono by averaging', () => {
    const m = mixToMono([new Float32Array([1, 0.5, 0]), new Float32Array([0, 0.5, 1])]);
    expect(Array.from(m)).toEqual([0.5, 0.5, 0.5]);
  });
});
