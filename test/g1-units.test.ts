/**
 * Exact checks of the generator's event layout, the event patches and the evaluation's views, written
 * against values computed here by hand (the survivors of the first mutation run of these files).
 */
import * as tf from '@tensorflow/tfjs';
import { saveTinyMelFlow } from './helpers';
import { beforeAll, describe, expect, it } from 'vitest';
import { activeSpan, composeEvents } from '../src/audio/compose';
import { DEFAULT_MEL, frameEnergy, logMelSpectrogram, type Spectrogram } from '../src/audio/mel';
import { initBackend } from '../src/backend/index';
import { eventPatch, gainPatch, recordingLogMel } from '../src/data/events';
import { bestCrossCorrelation, judgeEmbedder, median, memorisationView } from '../src/metrics/recognition';
import { SOUND_CLASSIFIER_PRESET, SoundClassifier, soundClassifierInput } from '../src/models/sound-classifier';
import { Rng } from '../src/util/rng';
import { CLIP_SAMPLES, SAMPLE_RATE } from '../src/audio/constants';
import { evaluationClips } from '../src/data/batches';
import { loadExamples, splitDataset } from '../src/data/dataset';
import { neitherClip } from '../src/data/negatives';
import { openDataset } from '../src/data/open';
import { loadGenerator, loadJudge, type SoundGenerator } from '../src/pipeline/generators';
import { pairField, refuseUntrainedTimes, type TimedModel } from '../src/sample/mel-flow';
import { MelFlow, melFlowPreset } from '../src/models/mel-flow';
import { shippedPath } from '../src/pipeline/models';
import { measuredReports } from '../src/study/06-generate';
import { findCheckpoint } from '../src/checkpoint/checkpoint';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatSamplingScores, scoreSamplingOnTraining } from '../src/pipeline/tune-sampling';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

const spec = (frames: number, bins: number, f: (t: number, m: number) => number): Spectrogram => {
  const data = new Float32Array(frames * bins);
  for (let t = 0; t < frames; t++) for (let m = 0; m < bins; m++) data[t * bins + m] = f(t, m);
  return { frames, bins, data };
};
const SILENCE = Math.log(1e-5);

describe('event layout, exactly', () => {
  it('the active span reaches the first and the last frame when those are the loud ones', () => {
    expect(
      activeSpan(
        spec(10, 2, (t) => (t === 9 ? 0 : -20)),
        30,
      ),
    ).toEqual([9, 10]);
    expect(
      activeSpan(
        spec(10, 2, (t) => (t === 0 ? 0 : -20)),
        30,
      ),
    ).toEqual([0, 1]);
    expect(
      activeSpan(
        spec(10, 2, (t) => (t === 0 || t === 9 ? 0 : -20)),
        30,
      ),
    ).toEqual([0, 10]);
    // a frame exactly at the threshold is inside: energy 2e^v vs peak 2 → v = −spanDb/20·ln 10
    const edge = -1.5 * Math.LN10; // 30 dB below
    expect(
      activeSpan(
        spec(5, 2, (t) => (t === 2 ? 0 : t === 4 ? edge + 1e-6 : -20)),
        30,
      ),
    ).toEqual([2, 5]);
  });

  it('fades are raised cosines over `fadeFrames` at both ends, applied above the floor', () => {
    // one event: floor e^−9 (its quiet frames), plateau e^0 on frames 10…29 (n = 20)
    const ev = spec(40, 1, (t) => (t >= 10 && t < 30 ? 0 : -9));
    const { spec: clip, placed } = composeEvents([ev], new Rng(1), { frames: 60, silence: SILENCE, fadeFrames: 4, firstStart: 0, spanDb: 30 });
    expect(placed).toEqual([{ event: 0, start: 0, frames: 20 }]);
    const floor = Math.exp(-9);
    for (let k = 0; k < 20; k++) {
      const d = Math.min(k + 0.5, 20 - k - 0.5);
      const g = d >= 4 ? 1 : 0.5 - 0.5 * Math.cos((Math.PI * d) / 4);
      expect(Math.exp(clip.data[k] as number)).toBeCloseTo(floor + g * (1 - floor), 5);
    }
    for (let t = 20; t < 60; t++) expect(clip.data[t]).toBeCloseTo(-9, 5);
  });

  it('defaults: spans within 30 dB, fades of 6, gaps 12–40, first start ≤ 30; no events is an error', () => {
    const ev = [0, 1, 2, 3].map(() => spec(30, 2, (t) => (t >= 5 && t < 25 ? 0 : -12)));
    for (let seed = 0; seed < 6; seed++) {
      const { placed } = composeEvents(ev, new Rng(seed), { frames: 200, silence: SILENCE });
      expect(placed[0]?.start).toBeLessThanOrEqual(30);
      for (const p of placed) expect(p.frames).toBe(20);
      for (let i = 1; i < placed.length; i++) {
        const gap = (placed[i]?.start as number) - ((placed[i - 1]?.start as number) + 20);
        expect(gap).toBeGreaterThanOrEqual(12);
        expect(gap).toBeLessThanOrEqual(40);
      }
    }
    expect(() => composeEvents([], new Rng(0), { frames: 10, silence: SILENCE })).toThrow('composeEvents: no events');
  });

  it('a first event longer than the clip is cut to fit (with its fade-out); a later one that does not fit is left out', () => {
    const long = spec(100, 1, (t) => (t < 90 ? 0 : -9)); // floor e^−9 (its last 10 frames), span 90 frames
    const { placed, spec: clip } = composeEvents([long, long], new Rng(2), { frames: 50, silence: SILENCE, firstStart: 0 });
    expect(placed).toEqual([{ event: 0, start: 0, frames: 50 }]);
    expect(clip.frames).toBe(50);
    expect(clip.data[49] as number).toBeLessThan(-1); // faded out at the cut
    const short = spec(30, 1, (t) => (t < 30 ? 0 : -9));
    const two = composeEvents([short, short], new Rng(3), { frames: 45, silence: SILENCE, firstStart: 0, gap: [12, 12] });
    expect(two.placed.map((p) => p.event)).toEqual([0]);
  });

  it('the floor between events is each band’s 10th percentile over all event frames', () => {
    // band 0 takes the values −10, −9.9, … over 20 frames; the 10th percentile (index ⌊0.1·19⌋ = 1) is −9.9
    const ev = spec(20, 2, (t, m) => (m === 0 ? -10 + 0.1 * t : t === 10 ? 0 : -8));
    const { spec: clip, placed } = composeEvents([ev], new Rng(5), { frames: 80, silence: SILENCE, spanDb: 10 });
    const after = (placed[0]?.start as number) + (placed[0]?.frames as number);
    expect(clip.data[(after + 5) * 2] as number).toBeCloseTo(-9.9, 4);
    expect(clip.data[(after + 5) * 2 + 1] as number).toBeCloseTo(-8, 4);
  });
});

describe('event patches, exactly', () => {
  it('a recording’s log-mel does not depend on its level (peak-normalised first)', () => {
    const x = Float32Array.from({ length: 4000 }, (_, i) => Math.sin(i / 3) * Math.sin(i / 700));
    const a = recordingLogMel(x.map((v) => 0.01 * v));
    const b = recordingLogMel(x.map((v) => 0.7 * v));
    const ref = logMelSpectrogram(
      x.map((v) => v * (10 ** (-1 / 20) / Math.max(...x.map(Math.abs)))),
      DEFAULT_MEL,
    );
    for (let i = 0; i < a.data.length; i += 97) {
      expect(a.data[i]).toBeCloseTo(b.data[i] as number, 2);
      expect(a.data[i]).toBeCloseTo(ref.data[i] as number, 2);
    }
  });

  it('frame energy is the sum of linear mel values of the frame', () => {
    const s = spec(3, 2, (t, m) => Math.log(t + 1 + 10 * m));
    const e = frameEnergy(s);
    [12, 14, 16].forEach((v, t) => expect(e[t]).toBeCloseTo(v, 4));
  });

  it('with many candidates the window is exactly the loud block, wherever it is', () => {
    for (const at of [0, 40, 80]) {
      const rec = spec(100, 1, (t) => (t >= at && t < at + 20 ? 0 : -10));
      const p = eventPatch(rec, frameEnergy(rec), new Rng(at), { frames: 20, silence: SILENCE, candidates: 2000 });
      expect(Array.from(p)).toEqual(new Array(20).fill(0));
    }
  });

  it('gain in a scaled space: −20 dB is −ln 10 / scale', () => {
    expect(gainPatch(new Float32Array([0]), -20, -100, 2)[0]).toBeCloseTo(-Math.LN10 / 2, 6);
  });
});

describe('evaluation views, exactly', () => {
  it('the memorisation view is the mean of 2 frames × 4 bands of the log-mel', () => {
    const x = Float32Array.from({ length: 8000 }, (_, i) => Math.sin(i / 5) + 0.3 * Math.sin(i / 2.1));
    const s = logMelSpectrogram(x, DEFAULT_MEL);
    const v = memorisationView(x);
    expect(v.bins).toBe(16);
    expect(v.frames).toBe(Math.floor(s.frames / 2));
    for (const [t, b] of [
      [0, 0],
      [3, 7],
      [v.frames - 1, 15],
    ] as Array<[number, number]>) {
      let sum = 0;
      for (let f = 0; f < 2; f++) for (let k = 0; k < 4; k++) sum += s.data[(2 * t + f) * s.bins + 4 * b + k] as number;
      expect(v.data[t * 16 + b]).toBeCloseTo(sum / 8, 4);
    }
  });

  it('cross-correlation finds a match at either extreme shift, never scores flat overlaps, and keeps the best', () => {
    const rng = new Rng(9);
    const rand = (frames: number) => spec(frames, 4, () => rng.normal());
    const a = rand(60);
    const b = rand(80);
    // b's last 31 frames = a's first 31 frames: only the most negative shift aligns them
    const tail = spec(80, 4, (t, m) => (t >= 49 ? (a.data[(t - 49) * 4 + m] as number) : (b.data[t * 4 + m] as number)));
    expect(bestCrossCorrelation(a, tail)).toBeCloseTo(1, 6);
    // a's last 31 frames = b's first 31 frames: only the most positive shift aligns them
    const head = spec(80, 4, (t, m) => (t < 31 ? (a.data[(29 + t) * 4 + m] as number) : (b.data[t * 4 + m] as number)));
    expect(bestCrossCorrelation(a, head)).toBeCloseTo(1, 6);
    // unrelated noise stays low; flat against anything is never scored (−1 = no valid overlap)
    expect(bestCrossCorrelation(a, b)).toBeLessThan(0.6);
    const flat = spec(60, 4, () => -11.5);
    expect(bestCrossCorrelation(flat, b)).toBe(-1);
    expect(bestCrossCorrelation(a, flat)).toBe(-1);
    // shorter than the minimum overlap: the whole of the shorter one must overlap
    const short = spec(10, 4, (t, m) => a.data[(20 + t) * 4 + m] as number);
    expect(bestCrossCorrelation(a, short)).toBeCloseTo(1, 6);
    expect(median([])).toBeNaN();
  });

  it('the judge embedder: one 32-dim row per 2-s window (hop 1 s), in clip order, equal to the judge’s own embedding', async () => {
    const judge = new SoundClassifier({ ...SOUND_CLASSIFIER_PRESET, seed: 3 });
    try {
      const rng = new Rng(4);
      const clips = Array.from({ length: 6 }, () => Float32Array.from({ length: 28_800 }, () => 0.1 * rng.normal()));
      const rows = await judgeEmbedder(judge).embed(clips);
      expect(rows).toHaveLength(6 * 6); // (7.2 − 2) / 1 + 1 = 6 windows per clip; > 32 rows: two batches
      for (const r of rows) expect(r).toHaveLength(32);
      const last = clips[5]?.subarray(5 * 4000, 5 * 4000 + 8000) as Float32Array;
      const direct = tf.tidy(() => judge.embedding(soundClassifierInput([last], judge.cfg)).dataSync());
      for (let k = 0; k < 32; k++) expect(rows[35]?.[k]).toBeCloseTo(direct[k] as number, 5);
    } finally {
      judge.dispose();
    }
  });
});

describe('tuning sampling settings on the training recordings', () => {
  /** A stand-in generator: copies of its own training recordings (centre 7.2 s), or white noise. */
  async function stub(kind: 'copies' | 'noise', trainIds: string[] | null, seeds: string[]): Promise<SoundGenerator> {
    const ds = await openDataset('embedded');
    const train = await loadExamples(ds.items.filter((i) => (trainIds ?? []).includes(i.id)));
    return {
      kind: 'mel-flow',
      sampleRate: SAMPLE_RATE,
      clipSamples: CLIP_SAMPLES,
      sources: { generator: `stub ${kind}` },
      trainIds,
      async generate(label, o) {
        seeds.push(String(o.seed));
        const own = train.filter((e) => e.label === label).map((e) => evaluationClips(e.audio, { mode: 'center' })[0] as Float32Array);
        const n = o.clips ?? 1;
        const clips = Array.from({ length: n }, (_, i) =>
          kind === 'copies' ? (own[i % own.length] as Float32Array) : neitherClip('white', CLIP_SAMPLES, new Rng(i)),
        );
        return { clips, stages: {} };
      },
      dispose: () => undefined,
    };
  }

  it('copies of the training recordings score FAD ≈ 0 against them, white noise far and "neither"; seeds are not eval:generation’s', async () => {
    const ds = await openDataset('embedded');
    const split = splitDataset(ds, { seed: 0 });
    const ids = split.train.filter((i) => i.label < 2).map((i) => i.id);
    const perClass = Math.min(...[0, 1].map((l) => split.train.filter((i) => i.label === l).length));
    const { judge } = await loadJudge();
    try {
      const seeds: string[] = [];
      const candidates = [{ name: 'a', options: {} }];
      const copies = await scoreSamplingOnTraining(await stub('copies', ids, seeds), judge, { data: 'embedded', perClass, candidates });
      const noise = await scoreSamplingOnTraining(await stub('noise', ids, seeds), judge, { data: 'embedded', perClass, candidates });
      expect(copies[0]?.perClass.map((p) => p.className)).toEqual(['cat', 'dog']);
      // the cat set is exactly the training cats (equal counts); dogs are the first `perClass` of them
      expect(copies[0]?.perClass[0]?.fadVsTraining).toBeLessThan(1e-3);
      expect(noise[0]?.fadSum).toBeGreaterThan(10 * ((copies[0]?.fadSum ?? 0) + 1));
      for (const p of noise[0]?.perClass ?? []) expect(p.neither).toBeGreaterThanOrEqual(0.75);
      expect(copies[0]?.fadSum).toBeCloseTo(
        (copies[0]?.perClass ?? []).reduce((s, p) => s + p.fadVsTraining, 0),
        9,
      );
      expect(seeds.every((s) => s.includes('/tune/') && !s.includes('/eval/'))).toBe(true);
      const table = formatSamplingScores(noise);
      expect(table.split('\n')).toHaveLength(3);
      expect(table).toMatch(/^\| settings \| FAD vs training \(sum\) \| cat: FAD/);
      await expect(scoreSamplingOnTraining(await stub('copies', null, seeds), judge, { data: 'embedded', perClass, candidates })).rejects.toThrow(
        /does not record the recordings it trained on/,
      );
    } finally {
      judge.dispose();
    }
  }, 180_000);
});

describe('the default generator: a pair of experts', () => {
  it("loads the shipped pair by default; 'none' or an explicit --model alone is one model; a late expert of another shape is refused", async () => {
    const pair = await loadGenerator('mel-flow');
    try {
      expect(Object.keys(pair.sources)).toEqual(['generator', 'late']);
      expect(pair.sources.late).toBe(await findCheckpoint(shippedPath('generatorLate')));
    } finally {
      pair.dispose();
    }
    for (const paths of [{ late: 'none' }, { generator: shippedPath('generator') }]) {
      const one = await loadGenerator('mel-flow', paths);
      expect(Object.keys(one.sources)).toEqual(['generator']);
      one.dispose();
    }
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'late-'));
    await saveTinyMelFlow(path.join(root, 'tiny'), 1, 'wasm');
    const before = tf.memory().numTensors;
    await expect(loadGenerator('mel-flow', { late: path.join(root, 'tiny') })).rejects.toThrow(
      /tiny.*: the late expert's frames is 32, the generator's 128: not a pair/,
    );
    expect(tf.memory().numTensors).toBe(before); // both half-loaded models disposed
  }, 60_000);
});

describe('experts trained on part of the flow (train.timeRange)', () => {
  const at = (timeRange: [number, number] | undefined, dir: string): TimedModel => ({
    model: { cfg: { train: { ...melFlowPreset('tiny', 0).train, ...(timeRange ? { timeRange } : {}) } } },
    dir,
  });
  it('are asked only for the times they trained on: one line naming the expert, its range and the switch', () => {
    const early = at([0, 0.5], 'E');
    const late = at([0.5, 1], 'L');
    expect(() => refuseUntrainedTimes(early, late, 0.5)).not.toThrow();
    expect(() => refuseUntrainedTimes(early, late, 0.6)).toThrow(
      /^E: the early expert was trained on flow times \[0, 0\.5\) only; a switch at 0\.6 asks it for \[0, 0\.6\)$/,
    );
    expect(() => refuseUntrainedTimes(early, late, 0.4)).toThrow(
      /^L: the late expert was trained on flow times \[0\.5, 1\) only; a switch at 0\.4 asks it for \[0\.4, 1\]$/,
    );
    expect(() => refuseUntrainedTimes(early, null, 0.5)).toThrow(/^E: trained only on flow times \[0, 0\.5\): it needs a late expert/);
    expect(() => refuseUntrainedTimes(at([0.1, 1], 'F'), null, 0.5)).toThrow(/^F: trained only on flow times \[0\.1, 1\)/);
    expect(() => refuseUntrainedTimes(at([0, 0.9], 'F'), null, 0.5)).toThrow(/^F: trained only/);
    // whole-range models (runs from before the field) go anywhere
    const whole = at(undefined, 'W');
    for (const s of [0, 0.3, 0.5, 1]) expect(() => refuseUntrainedTimes(whole, at(undefined, 'W2'), s)).not.toThrow();
    expect(() => refuseUntrainedTimes(whole, null, 0.5)).not.toThrow();
    expect(() => refuseUntrainedTimes(whole, late, 0.5)).not.toThrow();
    expect(() => refuseUntrainedTimes(early, whole, 0.5)).not.toThrow();
    expect(() => refuseUntrainedTimes(at([0, 0.6], 'E'), at([0.4, 1], 'L'), 0.55)).not.toThrow();
    expect(() => refuseUntrainedTimes(at([0.1, 0.6], 'E'), whole, 0.5)).toThrow(/^E: the early expert/);
    expect(() => refuseUntrainedTimes(early, at([0.5, 0.9], 'L'), 0.5)).toThrow(/^L: the late expert/);
  });

  it('pairField refuses a late expert with other log-mel scaling (the web page builds its field with it, not through the loader)', () => {
    const tiny = melFlowPreset('tiny', 0);
    const early = new MelFlow(tiny);
    const late = new MelFlow({ ...tiny, seed: 1, scale: tiny.scale * 2 });
    try {
      expect(() => pairField({ model: early, dir: 'E' }, { model: late, dir: 'L' })).toThrow(
        /^L: the late expert's scale is 5, the generator's 2\.5: not a pair$/,
      );
      const same = new MelFlow({ ...tiny, seed: 2 });
      expect(pairField({ model: early, dir: 'E' }, { model: same, dir: 'S' }).guidance).toBe(3);
      same.dispose();
    } finally {
      early.dispose();
      late.dispose();
    }
  });

  it('the switch defaults to where the late expert starts training', async () => {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'ranges-'));
    await saveTinyMelFlow(path.join(root, 'early'), 1, 'wasm', [0, 0.5]);
    await saveTinyMelFlow(path.join(root, 'late'), 2, 'wasm', [0.6, 1]);
    const g = await loadGenerator('mel-flow', { generator: path.join(root, 'early'), late: path.join(root, 'late') });
    try {
      // a switch at 0.6 (the late expert's start) leaves [0.5, 0.6) to nobody
      await expect(g.generate(0, { seed: 1, steps: 2 })).rejects.toThrow(
        /early.*: the early expert was trained on flow times \[0, 0\.5\) only; a switch at 0\.6/,
      );
      const ok = await g.generate(0, { seed: 1, steps: 2, switchAt: 0.5 }).catch((e: Error) => e);
      expect(ok instanceof Error ? ok.message : '').toMatch(/late.*: the late expert was trained on flow times \[0\.6, 1\) only; a switch at 0\.5/);
    } finally {
      g.dispose();
    }
    await saveTinyMelFlow(path.join(root, 'late'), 2, 'wasm', [0.5, 1]);
    const pair = await loadGenerator('mel-flow', { generator: path.join(root, 'early'), late: path.join(root, 'late') });
    try {
      const { clips } = await pair.generate(1, { seed: 1, steps: 2 });
      expect(clips).toHaveLength(1);
    } finally {
      pair.dispose();
    }
  }, 60_000);
});

describe('notebook 06: the committed evaluation on the thesis recordings', () => {
  it('measuredReports formats docs/results/eval-generation-mel-flow.json as the eval table, naming the file', async () => {
    const r = await measuredReports();
    expect(r['mel-flow']).toMatch(/\| generated cat \| 32 \|/);
    expect(r['mel-flow']).toMatch(/FAD dog: generated vs held-out [\d.]+; held-out vs training [\d.]+ \(ratio [\d.]+\)/);
    expect(r['mel-flow']).toMatch(/\(docs\/results\/eval-generation-mel-flow\.json\)$/);
  });
});
