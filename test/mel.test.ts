import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MEL,
  griffinLim,
  istft,
  logMelSpectrogram,
  logMelToAudio,
  magnitude,
  melCenters,
  melFilterbank,
  spectralConvergence,
  stft,
} from '../src/audio/mel';
import { tone } from './helpers';

describe('STFT', () => {
  it('inverts exactly (windowed overlap-add)', () => {
    const x = tone(330, 4000, 1);
    const y = istft(stft(x, DEFAULT_MEL), DEFAULT_MEL, x.length);
    let e = 0;
    for (let i = 0; i < x.length; i++) e = Math.max(e, Math.abs((x[i] as number) - (y[i] as number)));
    expect(e).toBeLessThan(1e-5);
  });
  it('has 1 + len/hop centred frames', () => {
    expect(stft(new Float32Array(28800), DEFAULT_MEL).frames).toBe(451);
  });
});

describe('log-mel front end', () => {
  it("puts a tone's energy in the mel band around its frequency", () => {
    const centers = melCenters(DEFAULT_MEL);
    for (const f of [250, 700, 1000, 1600]) {
      const m = logMelSpectrogram(tone(f, 4000, 1), DEFAULT_MEL);
      const mean = new Float64Array(m.bins);
      for (let t = 0; t < m.frames; t++) for (let b = 0; b < m.bins; b++) mean[b] = (mean[b] as number) + (m.data[t * m.bins + b] as number);
      const best = mean.indexOf(Math.max(...mean));
      // the loudest band's centre is within one band width of the tone
      const width = ((centers[Math.min(best + 1, m.bins - 1)] as number) - (centers[Math.max(best - 1, 0)] as number)) / 2;
      expect(Math.abs((centers[best] as number) - f)).toBeLessThanOrEqual(width);
    }
  });
  it('filterbank rows are non-negative triangles covering 0–2 kHz', () => {
    const fb = melFilterbank(DEFAULT_MEL);
    const bins = DEFAULT_MEL.nFft / 2 + 1;
    expect(fb.length).toBe(DEFAULT_MEL.nMels * bins);
    expect(Math.min(...fb)).toBeGreaterThanOrEqual(0);
    const hzOf = (k: number) => (k * DEFAULT_MEL.sampleRate) / DEFAULT_MEL.nFft;
    const centers = melCenters(DEFAULT_MEL);
    const firstBins: number[] = [];
    const lastBins: number[] = [];
    for (let m = 0; m < DEFAULT_MEL.nMels; m++) {
      const row = Array.from(fb.subarray(m * bins, (m + 1) * bins));
      const nz = row.flatMap((v, k) => (v > 0 ? [k] : []));
      expect(nz.length, `band ${m}`).toBeGreaterThan(0);
      const first = nz[0]!;
      const last = nz[nz.length - 1]!;
      firstBins.push(first);
      lastBins.push(last);
      // one contiguous support …
      expect(nz).toEqual(Array.from({ length: last - first + 1 }, (_, i) => first + i));
      // … rising up to the peak, falling after it (a triangle), the peak next to the band's centre frequency
      const peak = row.indexOf(Math.max(...row));
      for (let k = first; k < peak; k++) expect(row[k + 1]!, `band ${m} rises at bin ${k}`).toBeGreaterThanOrEqual(row[k]!);
      for (let k = peak; k < last; k++) expect(row[k + 1]!, `band ${m} falls at bin ${k}`).toBeLessThanOrEqual(row[k]!);
      expect(Math.abs(hzOf(peak) - centers[m]!)).toBeLessThanOrEqual(DEFAULT_MEL.sampleRate / DEFAULT_MEL.nFft);
      // Slaney normalisation: height 2 / (right − left edge) → area ≈ 1 in Hz·(per-bin) units
      const area = row.reduce((a, v) => a + v, 0) * (DEFAULT_MEL.sampleRate / DEFAULT_MEL.nFft);
      if (last - first >= 4) expect(area, `band ${m} area`).toBeCloseTo(1, 0);
    }
    // bands move up in frequency and together cover fMin … fMax = 0 … 2 kHz with no gap
    expect(DEFAULT_MEL.fMin).toBe(0);
    expect(DEFAULT_MEL.fMax).toBe(2000);
    for (let m = 1; m < DEFAULT_MEL.nMels; m++) {
      expect(firstBins[m]!).toBeGreaterThanOrEqual(firstBins[m - 1]!);
      expect(firstBins[m]!).toBeLessThanOrEqual(lastBins[m - 1]! + 1);
    }
    expect(hzOf(firstBins[0]!)).toBeLessThanOrEqual(DEFAULT_MEL.sampleRate / DEFAULT_MEL.nFft); // starts at the first non-DC bin
    expect(hzOf(lastBins[DEFAULT_MEL.nMels - 1]!)).toBeGreaterThan(1900); // reaches up to 2 kHz
    expect(hzOf(lastBins[DEFAULT_MEL.nMels - 1]!)).toBeLessThanOrEqual(2000);
  });
});

describe('Griffin–Lim', () => {
  const x = new Float32Array(8000);
  for (let i = 0; i < x.length; i++) {
    const env = Math.exp(-((((i % 2000) - 600) / 300) ** 2));
    x[i] = env * (0.5 * Math.sin((2 * Math.PI * 600 * i) / 4000) + 0.25 * Math.sin((2 * Math.PI * 1200 * i) / 4000));
  }
  it('recovers audio whose spectrogram is close to the original', () => {
    const y = griffinLim(magnitude(stft(x, DEFAULT_MEL)), DEFAULT_MEL, x.length, { iterations: 60 });
    expect(spectralConvergence(x, y, DEFAULT_MEL)).toBeLessThan(0.15);
  });
  it('turns a log-mel spectrogram back into audio with a close spectrogram', () => {
    const y = logMelToAudio(logMelSpectrogram(x, DEFAULT_MEL), x.length, DEFAULT_MEL, { iterations: 60 });
    expect(y.length).toBe(x.length);
    expect(spectralConvergence(x, y, DEFAULT_MEL)).toBeLessThan(0.35);
    // and its log-mel is close to the input's
    const a = logMelSpectrogram(x, DEFAULT_MEL).data;
    const b = logMelSpectrogram(y, DEFAULT_MEL).data;
    let num = 0;
    let den = 0;
    for (let i = 0; i < a.length; i++) {
      const ea = Math.exp(a[i] as number);
      num += (ea - Math.exp(b[i] as number)) ** 2;
      den += ea * ea;
    }
    expect(Math.sqrt(num / den)).toBeLessThan(0.3);
  });
});
