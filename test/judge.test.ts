/**
 * The evaluation that must be able to fail: "neither" sounds are what they claim, the memorisation
 * check scores a copy of a training clip ~1 and unrelated sound low, recognition counts what it says,
 * class kept compares reconstructions with originals, and the 3-way classifier trains and resumes.
 */
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIP_SAMPLES } from '../src/audio/constants';
import { DEFAULT_MEL, logMelSpectrogram } from '../src/audio/mel';
import { initBackend } from '../src/backend/index';
import { neitherClip, SHAPED_NEITHER, SYNTHETIC_NEITHER } from '../src/data/negatives';
import { classKept } from '../src/metrics/codec';
import {
  bestCrossCorrelation,
  closerThan,
  median,
  memorisationView,
  nearestTrainingSimilarity,
  probabilityGreater,
  recognition,
} from '../src/metrics/recognition';
import { SOUND_CLASSIFIER_PRESET, SoundClassifier } from '../src/models/sound-classifier';
import { trainSoundClassifier } from '../src/train/sound-classifier';
import { Rng } from '../src/util/rng';
import { rmsOf, tempDir, tone } from './helpers';

const dir = tempDir();

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

/** A meow-like test sound: a gliding harmonic stack with an envelope, on silence. */
function chirp(f0: number, seconds = 7.2, at = 1): Float32Array {
  const n = Math.round(seconds * 4000);
  const x = new Float32Array(n);
  const len = 4000;
  for (let i = 0; i < len; i++) {
    const t = i / 4000;
    const f = f0 * (1 + 0.3 * Math.sin(Math.PI * t));
    const env = Math.sin((Math.PI * i) / len);
    for (let h = 1; h <= 3; h++) x[at * 4000 + i] = (x[at * 4000 + i] as number) + (env / h) * Math.sin(2 * Math.PI * f * h * t);
  }
  return x;
}

describe('"neither" sounds', () => {
  it('every kind is finite, 7.2 s long and audible (silence excepted); shaped kinds need a source', () => {
    const rng = new Rng(1);
    const source = chirp(500);
    for (const kind of [...SYNTHETIC_NEITHER, ...SHAPED_NEITHER]) {
      const x = neitherClip(kind, CLIP_SAMPLES, rng, source);
      expect(x, kind).toHaveLength(CLIP_SAMPLES);
      expect(x.every(Number.isFinite), kind).toBe(true);
      const level = rmsOf(x);
      if (kind === 'silence') expect(level, kind).toBeLessThan(1e-2);
      else expect(level, kind).toBeGreaterThan(1e-4);
    }
    expect(() => neitherClip('blurred', CLIP_SAMPLES, rng)).toThrow(/needs a source recording/);
  });

  it('spectrum-shaped noise keeps the source’s average spectrum but not its time structure', () => {
    const source = chirp(600);
    const noise = neitherClip('spectrum-noise', CLIP_SAMPLES, new Rng(2), source);
    // same dominant band: the mel band with the most energy on average is within two bands of the source's
    const bandMeans = (x: Float32Array) => {
      const s = logMelSpectrogram(x, DEFAULT_MEL);
      return Array.from({ length: s.bins }, (_, m) => {
        let v = 0;
        for (let t = 0; t < s.frames; t++) v += Math.exp(s.data[t * s.bins + m] as number);
        return v;
      });
    };
    const a = bandMeans(source);
    const b = bandMeans(noise);
    expect(Math.abs(a.indexOf(Math.max(...a)) - b.indexOf(Math.max(...b)))).toBeLessThanOrEqual(2);
    // but it is not the source: its memorisation similarity to it is low
    expect(bestCrossCorrelation(memorisationView(noise), memorisationView(source))).toBeLessThan(0.8);
  });
});

describe('memorisation check', () => {
  it('a copy of a training clip, even shifted in time, scores ~1; other sounds score clearly less', () => {
    const train = [chirp(500, 9, 3), chirp(900, 5, 1)].map(memorisationView);
    const copy = chirp(500, 7.2, 1); // the same event 2 s earlier, in a shorter clip
    const other = tone(300, 4000, 7.2, 0.5);
    const noise = neitherClip('white', CLIP_SAMPLES, new Rng(3));
    const [c, o, n] = nearestTrainingSimilarity([copy, other, noise], train);
    expect(c).toBeGreaterThan(0.97);
    expect(o).toBeLessThan(0.9);
    expect(n).toBeLessThan(0.9);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});

describe('closer to the training recordings than held-out clips?', () => {
  const heldOut = Array.from({ length: 19 }, (_, i) => 0.7 + 0.012 * i); // 0.70 … 0.92

  it('P(closer) counts pairs, ties half: 1 when every clip is closer, 0 when none is, 0.5 for the same values', () => {
    expect(probabilityGreater([2, 3], [1])).toBe(1);
    expect(probabilityGreater([0], [1, 2])).toBe(0);
    expect(probabilityGreater([1, 2], [1, 2])).toBe(0.5);
    expect(probabilityGreater([3, 1], [2])).toBe(0.5);
    expect(probabilityGreater([], [1])).toBeNaN();
  });

  it('copies of training recordings are flagged (p = 1, whole interval above 0.5); clips like the held-out ones are not; clearly further ones score below 0.5', () => {
    const copies = closerThan(Array(32).fill(0.99), heldOut);
    expect(copies).toEqual({ p: 1, low: 1, high: 1 });
    const alike = closerThan([...heldOut, ...heldOut.map((v) => v + 0.001)], heldOut);
    expect(alike.p).toBeGreaterThan(0.45);
    expect(alike.p).toBeLessThan(0.55);
    expect(alike.low).toBeLessThan(0.5);
    expect(alike.high).toBeGreaterThan(0.5);
    const further = closerThan(
      heldOut.map((v) => v - 0.15),
      heldOut,
    );
    expect(further.high).toBeLessThan(0.5);
    // the interval holds the estimate and is reproducible from its seed
    for (const c of [alike, further]) expect(c.low <= c.p && c.p <= c.high).toBe(true);
    expect(closerThan([...heldOut, 0.95], heldOut, { seed: 4 })).toEqual(closerThan([...heldOut, 0.95], heldOut, { seed: 4 }));
  });
});

describe('recognition and class kept', () => {
  /** A judge whose answer is fixed per clip (by the clip's first sample), to test the bookkeeping. */
  const fixed = (answers: Map<number, number>): SoundClassifier => {
    const j = new SoundClassifier({ ...SOUND_CLASSIFIER_PRESET, seed: 0 });
    j.classify = (clips) => clips.map((c) => answers.get(c[0] as number) ?? 2);
    return j;
  };
  const clip = (id: number) => new Float32Array([id, 0, 0]);

  it('recognised = share predicted as asked, neither = share predicted "neither"', () => {
    const judge = fixed(
      new Map([
        [1, 0],
        [2, 1],
        [3, 2],
        [4, 0],
      ]),
    );
    const r = recognition(judge, [clip(1), clip(2), clip(3), clip(4)], 0);
    expect(r.recognised).toBe(0.5);
    expect(r.neither).toBe(0.25);
    expect(r.predictions).toEqual([0, 1, 2, 0]);
    const per = recognition(judge, [clip(1), clip(2)], [0, 1]);
    expect(per.recognised).toBe(1);
    judge.dispose();
  });

  it('class kept counts only originals the judge recognises, and compares their reconstructions', () => {
    // originals 1,2,3 (labels 0,1,0): recognised 1 and 2; reconstructions 11 (→0 kept), 12 (→ neither), 13 (→0, original not recognised)
    const judge = fixed(
      new Map([
        [1, 0],
        [2, 1],
        [3, 1],
        [11, 0],
        [12, 2],
        [13, 0],
      ]),
    );
    const k = classKept(judge, [clip(1), clip(2), clip(3)], [clip(11), clip(12), clip(13)], [0, 1, 0]);
    expect(k.originals).toBeCloseTo(2 / 3, 10);
    expect(k.kept).toBe(0.5);
    expect(k.reconstructions).toBeCloseTo(2 / 3, 10);
    expect(k.neither).toBeCloseTo(1 / 3, 10);
    judge.dispose();
  });
});

describe('3-way sound classifier training', () => {
  it('trains on the embedded data, validates on held-out clips and "neither" clips, and resumes exactly', async () => {
    const straight = await trainSoundClassifier({ data: 'embedded', out: path.join(dir, 'a'), steps: 4, quiet: true, checkpointEvery: 2, validateEvery: 4 });
    expect(Object.keys(straight.validation).sort()).toEqual(['val_acc_neither', 'val_acc_real']);
    for (const v of Object.values(straight.validation)) expect(v >= 0 && v <= 1).toBe(true);
    await trainSoundClassifier({ data: 'embedded', out: path.join(dir, 'b'), steps: 4, quiet: true, checkpointEvery: 2, stopAfter: 2 });
    const resumed = await trainSoundClassifier({ data: 'embedded', out: path.join(dir, 'b'), resume: true, quiet: true });
    expect(resumed.metrics.loss).toBe(straight.metrics.loss);
  }, 240_000);
});
