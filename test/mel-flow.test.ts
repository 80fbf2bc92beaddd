/**
 * The log-mel flow generator and its parts: the sampler integrates a known velocity field exactly
 * and applies guidance as uncond + g·(cond − uncond); event patches come from the loud part of a
 * recording; the layout fades and never adds energy; the model trains (loss falls on a fixed batch),
 * and an interrupted run resumes to the same loss as an uninterrupted one.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { activeSpan, composeEvents, lengthQuantiles, sampleLength } from '../src/audio/compose';
import { CLIP_SAMPLES, SAMPLE_RATE } from '../src/audio/constants';
import { melSoundForClass } from '../src/pipeline/mel-sound';
import { median3x3, roughness } from '../src/audio/smooth';
import { frameEnergy, type Spectrogram } from '../src/audio/mel';
import { initBackend } from '../src/backend/index';
import { eventPatch, gainPatch } from '../src/data/events';
import { DATA_PREDICTION_MIN_GAP, MelFlow, melFlowPreset } from '../src/models/mel-flow';
import { expertField, sampleMelPatches, type VelocityModel } from '../src/sample/mel-flow';
import { clipLengthsOf, melFlowBatch, trainMelFlow } from '../src/train/mel-flow';
import { trainGeneratorPair, type PairRecipe } from '../src/train/generator-pair';
import { loadCheckpoint } from '../src/checkpoint/checkpoint';
import { Rng } from '../src/util/rng';
import { tempDir } from './helpers';

const dir = tempDir();

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

/** The exact velocity field of the flow whose data distribution is the single point c[label]: v = (c − x)/(1 − t). */
function pointField(targets: number[]): VelocityModel {
  const cfg = { frames: 4, nMels: 3, classes: targets.length - 1 };
  return {
    cfg,
    velocity: (x, t, label) =>
      tf.tidy(() => {
        const c = tf.reshape(tf.gather(tf.tensor1d(targets), tf.cast(label, 'int32')), [-1, 1, 1]);
        return tf.div(tf.sub(c, x), tf.reshape(tf.sub(1, t), [-1, 1, 1])) as tf.Tensor3D;
      }),
  };
}

/**
 * An untrained tiny model whose patches are the starting noise itself: a fresh network outputs 0
 * (zero output convolution), which a 'velocity' model reads as v = 0 (a fresh 'data' model would
 * pull every patch to 0, whatever the seed).
 */
const noiseModel = (seed: number): MelFlow => new MelFlow({ ...melFlowPreset('tiny', seed), predict: 'velocity' });

describe('flow sampling', () => {
  it('the midpoint rule lands exactly on the target of a straight flow, from any noise, with any step count', async () => {
    for (const steps of [1, 3, 10]) {
      const [a, b] = await sampleMelPatches(pointField([2, -1, 0]), [0, 1], 'seed', { steps, guidance: 1 });
      for (const v of a as Float32Array) expect(v).toBeCloseTo(2, 4);
      for (const v of b as Float32Array) expect(v).toBeCloseTo(-1, 4);
    }
  });

  it('classifier-free guidance g gives null + g·(class − null); g = 1 is the plain conditional', async () => {
    // class 0 → 2, class 1 → −1, null (index 2) → 0.5
    const field = pointField([2, -1, 0.5]);
    const [g3] = await sampleMelPatches(field, [0], 's', { steps: 4, guidance: 3 });
    for (const v of g3 as Float32Array) expect(v).toBeCloseTo(0.5 + 3 * (2 - 0.5), 3);
    const [g0] = await sampleMelPatches(field, [1], 's', { steps: 4, guidance: 0 });
    for (const v of g0 as Float32Array) expect(v).toBeCloseTo(0.5, 3);
  });

  it('a guidance interval [from, to) guides only there: elsewhere the plain conditional velocity', async () => {
    // class 0 → 2, null → 0.5: inside the interval the guided flow heads for 0.5 + g·1.5, outside for 2
    const constant = (c: number, nul: number): VelocityModel => ({
      cfg: { frames: 2, nMels: 2, classes: 1 },
      velocity: (x, _t, label) =>
        tf.tidy(
          () =>
            tf.mul(tf.ones(x.shape), tf.reshape(tf.where(tf.equal(label, 1), tf.fill(label.shape, nul), tf.fill(label.shape, c)), [-1, 1, 1])) as tf.Tensor3D,
        ),
    });
    // a constant field v: x1 = x0 + ∫v dt; guidance 3 on [0, 0.5) gives 0.5·(0 + 3·(1 − 0)) + 0.5·1 = 2
    const x0 = (await sampleMelPatches(constant(0, 0), [0], 'c', { steps: 10, guidance: 1 }))[0] as Float32Array;
    const half = (await sampleMelPatches(constant(1, 0), [0], 'c', { steps: 10, guidance: 3, guidanceInterval: [0, 0.5] }))[0] as Float32Array;
    const all = (await sampleMelPatches(constant(1, 0), [0], 'c', { steps: 10, guidance: 3 }))[0] as Float32Array;
    const late = (await sampleMelPatches(constant(1, 0), [0], 'c', { steps: 10, guidance: 3, guidanceInterval: [0.8, 1] }))[0] as Float32Array;
    x0.forEach((v, i) => {
      expect((half[i] as number) - v).toBeCloseTo(2, 5);
      expect((all[i] as number) - v).toBeCloseTo(3, 5);
      expect((late[i] as number) - v).toBeCloseTo(0.8 + 0.2 * 3, 5);
    });
    await expect(sampleMelPatches(constant(1, 0), [0], 'c', { guidanceInterval: [0.6, 0.4] })).rejects.toThrow(
      /guidance interval must satisfy 0 ≤ from ≤ to ≤ 1, got \[0.6, 0.4\]/,
    );
  });

  it("a 'data' model's velocity is (x̂1 − x_t)/max(1 − t, 0.05); a 'velocity' model's is the network output", () => {
    // the output convolution starts at zero, so a fresh network outputs 0 everywhere
    const dataModel = new MelFlow({ ...melFlowPreset('tiny', 2), predict: 'data' });
    const velModel = new MelFlow({ ...melFlowPreset('tiny', 2), predict: 'velocity' });
    try {
      tf.tidy(() => {
        const x = tf.randomNormal([3, 32, 64], 0, 1, 'float32', 5) as tf.Tensor3D;
        const t = tf.tensor1d([0.2, 0.9, 0.99]);
        const label = tf.tensor1d([0, 1, 2], 'int32');
        const v = dataModel.velocity(x, t, label).arraySync();
        const xs = x.arraySync();
        const gaps = [0.8, 0.1, DATA_PREDICTION_MIN_GAP];
        for (let b = 0; b < 3; b++)
          for (const [f, m] of [
            [0, 0],
            [7, 30],
            [31, 63],
          ] as const)
            expect(v[b]?.[f]?.[m]).toBeCloseTo(-(xs[b]?.[f]?.[m] as number) / (gaps[b] as number), 3);
        expect(tf.max(tf.abs(velModel.velocity(x, t, label))).arraySync()).toBe(0);
      });
    } finally {
      dataModel.dispose();
      velModel.dispose();
    }
  });

  it('two experts as one field: the early one answers for t < switchAt, the late one from there on; shapes must agree', async () => {
    const seen: Record<string, number[]> = { early: [], late: [] };
    const spy = (name: string, target: number): VelocityModel => {
      const f = pointField([target, target]);
      return {
        cfg: f.cfg,
        velocity: (x, t, l) => {
          seen[name]?.push(t.dataSync()[0] as number);
          return f.velocity(x, t, l);
        },
      };
    };
    const [p] = await sampleMelPatches(expertField(spy('early', 2), spy('late', -1), 0.5), [0], 's', { steps: 4, guidance: 1 });
    // midpoint steps of 0.25: times 0, 0.125, 0.25, 0.375 | 0.5, 0.625, 0.75, 0.875
    expect(seen.early).toEqual([0, 0.125, 0.25, 0.375]);
    expect(seen.late).toEqual([0.5, 0.625, 0.75, 0.875]);
    // the late expert's straight flow lands exactly on its target, wherever the early one left x
    for (const v of p as Float32Array) expect(v).toBeCloseTo(-1, 4);
    const wide: VelocityModel = { cfg: { frames: 4, nMels: 5, classes: 1 }, velocity: pointField([0, 0]).velocity };
    expect(() => expertField(spy('early', 2), wide, 0.5)).toThrow(/the experts differ in nMels \(3 vs 5\)/);
    expect(() => expertField(spy('early', 2), spy('late', 1), 1.5)).toThrow(/switchAt must be in \[0, 1\], got 1.5/);
  });

  it('same seed → same patches; another seed → other patches; patch i depends only on (seed, i)', async () => {
    const model = noiseModel(1);
    try {
      const a = await sampleMelPatches(model, [0, 1], 7, { steps: 2 });
      const b = await sampleMelPatches(model, [0, 1, 1], 7, { steps: 2 });
      const c = await sampleMelPatches(model, [0, 1], 8, { steps: 2 });
      expect(Array.from(a[0] as Float32Array)).toEqual(Array.from(b[0] as Float32Array));
      expect(Array.from(a[1] as Float32Array)).toEqual(Array.from(b[1] as Float32Array));
      expect(Array.from(a[0] as Float32Array)).not.toEqual(Array.from(c[0] as Float32Array));
      await expect(sampleMelPatches(model, [2], 7)).rejects.toThrow(/class 2 is not one of 0…1/);
    } finally {
      model.dispose();
    }
  });
});

const spec = (frames: number, bins: number, f: (t: number, m: number) => number): Spectrogram => {
  const data = new Float32Array(frames * bins);
  for (let t = 0; t < frames; t++) for (let m = 0; m < bins; m++) data[t * bins + m] = f(t, m);
  return { frames, bins, data };
};
const SILENCE = Math.log(1e-5);

describe('event patches and layout', () => {
  it('a patch is the loudest of the candidate windows; a short recording is padded with silence', () => {
    // a recording of 300 frames, loud only in frames 200–240
    const rec = spec(300, 4, (t) => (t >= 200 && t < 240 ? 0 : -8));
    const e = frameEnergy(rec);
    let hits = 0;
    for (let s = 0; s < 20; s++) {
      const p = eventPatch(rec, e, new Rng(s), { frames: 64, silence: SILENCE, candidates: 50 });
      if (p.some((v) => v === 0)) hits++;
    }
    expect(hits).toBe(20); // with many candidates the loud part is always inside
    const short = spec(10, 4, () => 1);
    const p = eventPatch(short, frameEnergy(short), new Rng(1), { frames: 32, silence: SILENCE });
    expect(p.filter((v) => v === 1)).toHaveLength(40);
    expect(p.filter((v) => v === Math.fround(SILENCE))).toHaveLength(32 * 4 - 40);
    // gain: −20 dB is −ln(10) in log-mel, never below silence
    const g = gainPatch(new Float32Array([0, SILENCE + 0.1]), -20, SILENCE);
    expect(g[0]).toBeCloseTo(-Math.LN10, 5);
    expect(g[1]).toBe(Math.fround(SILENCE));
  });

  it('the active span is the frames within spanDb of the loudest frame', () => {
    const s = spec(50, 2, (t) => (t >= 10 && t < 20 ? 0 : t >= 30 && t < 35 ? -2 : -12));
    expect(activeSpan(s, 30)).toEqual([10, 35]); // e^−2 ≈ −17 dB: inside
    expect(activeSpan(s, 10)).toEqual([10, 20]);
  });

  it('layout: events in order with gaps in range, faded in and out, never louder than the loudest event, floor between', () => {
    const ev = [0, 1, 2].map((k) => spec(40, 3, (t) => (t >= 5 && t < 35 ? -1 - k : -9)));
    const { spec: clip, placed } = composeEvents(ev, new Rng(3), { frames: 200, silence: SILENCE, gap: [12, 20], fadeFrames: 4, firstStart: 10 });
    expect(clip.frames).toBe(200);
    expect(placed.map((p) => p.event)).toEqual([0, 1, 2]);
    expect(placed[0]?.start).toBeLessThanOrEqual(10);
    for (let i = 1; i < placed.length; i++) {
      const gap = (placed[i]?.start as number) - ((placed[i - 1]?.start as number) + (placed[i - 1]?.frames as number));
      expect(gap).toBeGreaterThanOrEqual(12);
      expect(gap).toBeLessThanOrEqual(20);
    }
    const max = Math.max(...clip.data);
    expect(max).toBeLessThanOrEqual(-1 + 1e-6);
    // fade-in: the first frame of the first event is well below its plateau
    const first = placed[0]?.start as number;
    expect(clip.data[first * 3] as number).toBeLessThan(-2);
    expect(clip.data[(first + 10) * 3] as number).toBeCloseTo(-1, 5);
    // before the first event: the floor (the events' quiet frames), not digital silence
    if (first > 0) expect(clip.data[0] as number).toBeCloseTo(-9, 5);
  });
});

describe('clip-length model', () => {
  it('quantiles interpolate between the sorted lengths; none give an empty model; fewer than 2 quantiles is an error', () => {
    expect(lengthQuantiles([4, 1, 3, 2, 5], 5)).toEqual([1, 2, 3, 4, 5]);
    expect(lengthQuantiles([1, 2], 3)).toEqual([1, 1.5, 2]);
    expect(lengthQuantiles([7], 3)).toEqual([7, 7, 7]);
    expect(lengthQuantiles([], 11)).toEqual([]);
    expect(() => lengthQuantiles([1], 1)).toThrow(/count must be ≥ 2/);
    expect(lengthQuantiles([1, 2, 3]).length).toBe(11);
  });

  it('a drawn length is the inverse CDF, linear between quantiles: always within range, median near the middle quantile', () => {
    const q = [1, 2, 10];
    const rng = new Rng('lengths');
    const xs = Array.from({ length: 4000 }, () => sampleLength(q, rng) as number);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...xs)).toBeLessThanOrEqual(10);
    // half the mass lies in [1, 2] (uniform there), half in [2, 10]
    expect(xs.filter((x) => x <= 2).length / xs.length).toBeCloseTo(0.5, 1);
    expect(xs.filter((x) => x <= 1.5).length / xs.length).toBeCloseTo(0.25, 1);
    expect(xs.filter((x) => x <= 6).length / xs.length).toBeCloseTo(0.75, 1);
    expect(sampleLength([], rng)).toBeNull();
    expect(sampleLength([3], rng)).toBe(3);
  });

  it('per class: only that class’s recordings count', () => {
    const recs = [
      { label: 0, seconds: 1 },
      { label: 1, seconds: 9 },
      { label: 0, seconds: 3 },
    ];
    expect(clipLengthsOf(recs, 0)).toEqual(lengthQuantiles([1, 3]));
    expect(clipLengthsOf(recs, 1)).toEqual(lengthQuantiles([9]));
    expect(clipLengthsOf(recs, 2)).toEqual([]);
  });

  it("layout 'data': the sound lasts the drawn length, centred on digital silence; 'full' fills the clip", async () => {
    const cfg = {
      ...melFlowPreset('tiny', 0),
      clipLengths: [
        [2, 2],
        [6, 6],
      ],
    };
    const model = new MelFlow(cfg);
    try {
      const cat = await melSoundForClass(model, 0, { clips: 1, seed: 1, steps: 2, griffinLimIterations: 4 });
      expect(cat.spans).toEqual([2 * SAMPLE_RATE]);
      const c = cat.clips[0] as Float32Array;
      expect(c.length).toBe(CLIP_SAMPLES);
      const start = (CLIP_SAMPLES - 2 * SAMPLE_RATE) / 2;
      expect(c.subarray(0, start).every((v) => v === 0)).toBe(true);
      expect(c.subarray(start + 2 * SAMPLE_RATE).every((v) => v === 0)).toBe(true);
      expect(c.subarray(start, start + 2 * SAMPLE_RATE).some((v) => v !== 0)).toBe(true);
      const dog = await melSoundForClass(model, 1, { clips: 1, seed: 1, steps: 2, griffinLimIterations: 4 });
      expect(dog.spans).toEqual([6 * SAMPLE_RATE]);
      const full = await melSoundForClass(model, 0, { clips: 1, seed: 1, steps: 2, griffinLimIterations: 4, layout: 'full' });
      expect(full.spans).toEqual([CLIP_SAMPLES]);
      const { clipLengths: _c, ...old } = cfg;
      const before = new MelFlow(old);
      try {
        expect((await melSoundForClass(before, 0, { clips: 1, seed: 1, steps: 2, griffinLimIterations: 4 })).spans).toEqual([CLIP_SAMPLES]);
      } finally {
        before.dispose();
      }
    } finally {
      model.dispose();
    }
  }, 60_000);
});

describe('training', () => {
  it('the loss falls when a tiny model fits one fixed batch', async () => {
    const model = new MelFlow(melFlowPreset('tiny', 0));
    try {
      const rng = new Rng(0);
      const n = 4 * 32 * 64;
      const x1 = tf.tensor3d(
        Float32Array.from({ length: n }, (_, i) => Math.sin(i / 50)),
        [4, 32, 64],
      );
      const noise = tf.tensor3d(
        Float32Array.from({ length: n }, () => rng.normal()),
        [4, 32, 64],
      );
      const t = tf.tensor1d([0.1, 0.4, 0.6, 0.9]);
      const label = tf.tensor1d([0, 1, 0, 2], 'int32');
      const opt = tf.train.adam(3e-3);
      const vars = [...model.params.trainable().values()];
      const lossAt = () => tf.tidy(() => model.loss(x1, noise, t, label).dataSync()[0] as number);
      const before = lossAt();
      const start = tf.memory().numTensors;
      for (let i = 0; i < 50; i++) opt.minimize(() => model.loss(x1, noise, t, label), true, vars)?.dispose();
      expect(lossAt()).toBeLessThan(0.6 * before);
      // Adam's moment variables are created on the first step; nothing else may accumulate
      expect(tf.memory().numTensors - start).toBeLessThanOrEqual(2 * vars.length + 2);
      tf.dispose([x1, noise, t, label]);
      opt.dispose();
    } finally {
      model.dispose();
    }
  }, 120_000);

  it('training times: logit-normal sigmoid(N(mean, std)) when the preset says so, uniform for runs from before', () => {
    const timesOf = (cfg: ReturnType<typeof melFlowPreset>): number[] => trainingTimes(cfg, 4, 400).sort((a, b) => a - b);
    const quick = melFlowPreset('quick-data', 0);
    expect(quick.train.time).toEqual({ mean: -0.8, std: 0.8 });
    expect(melFlowPreset('quick', 0).train.time).toBeUndefined();
    const ln = timesOf(quick);
    const un = timesOf({ ...quick, train: { ...quick.train, time: undefined } });
    for (const ts of [ln, un]) expect(ts.every((v) => v > 0 && v < 1)).toBe(true);
    // medians: sigmoid(−0.8) = 0.31 vs 0.5; share above 0.9: P(N > (logit 0.9 + 0.8)/0.8 = 3.7σ) ≈ 0 vs 0.1
    expect(ln[200] as number).toBeCloseTo(1 / (1 + Math.exp(0.8)), 1);
    expect(un[200] as number).toBeCloseTo(0.5, 1);
    expect(ln.filter((v) => v > 0.9).length).toBeLessThanOrEqual(2);
    expect(un.filter((v) => v > 0.9).length).toBeGreaterThan(20);
  });

  it('training time range: the experts train only on their half of the flow, from the same draws mapped into it', () => {
    const timesOf = (cfg: ReturnType<typeof melFlowPreset>): number[] => trainingTimes(cfg, 9, 300);
    const early = melFlowPreset('quick-early', 0);
    const late = melFlowPreset('quick-late', 0);
    expect(early.train.timeRange).toEqual([0, 0.5]);
    expect(late.train.timeRange).toEqual([0.5, 1]);
    expect(late.predict).toBe('data');
    const e = timesOf(early);
    const full = timesOf({ ...early, train: { ...early.train, timeRange: undefined } });
    // the same uniform draws, halved (the patches and noise are drawn the same way around them)
    e.forEach((v, i) => expect(v).toBeCloseTo((full[i] as number) / 2, 6));
    expect(Math.max(...e)).toBeLessThan(0.5);
    expect(Math.max(...e)).toBeGreaterThan(0.45);
    const l = timesOf(late);
    const lFull = timesOf({ ...late, train: { ...late.train, timeRange: undefined } });
    l.forEach((v, i) => expect(v).toBeCloseTo(0.5 + (lFull[i] as number) / 2, 6));
    expect(Math.min(...l)).toBeGreaterThanOrEqual(0.5);
    expect(Math.max(...l)).toBeLessThan(1);
    // logit-normal(0, 1) inside the range: median at its middle, 0.75
    const sorted = [...l].sort((a, b) => a - b);
    expect(sorted[150] as number).toBeCloseTo(0.75, 1);
  });

  it('trains on the embedded data; an interrupted run resumed ends with the same loss as an uninterrupted one', async () => {
    const straight = await trainMelFlow({ preset: 'tiny', data: 'embedded', out: path.join(dir, 'a'), steps: 4, quiet: true, checkpointEvery: 2 });
    await trainMelFlow({ preset: 'tiny', data: 'embedded', out: path.join(dir, 'b'), steps: 4, quiet: true, checkpointEvery: 2, stopAfter: 2 });
    const resumed = await trainMelFlow({ preset: 'tiny', data: 'embedded', out: path.join(dir, 'b'), resume: true, quiet: true });
    expect(resumed.step).toBe(4);
    expect(resumed.metrics.loss).toBe(straight.metrics.loss);
    const meta = JSON.parse(readFileSync(path.join(straight.checkpoint, 'checkpoint.json'), 'utf8')) as {
      kind: string;
      model: { kind: string; clipLengths?: number[][] };
    };
    expect(meta.kind).toBe('mel-flow');
    // the clip-length model of each class: 11 rising quantiles within the embedded recordings' lengths (seconds)
    expect(meta.model.clipLengths?.length).toBe(2);
    for (const q of meta.model.clipLengths ?? []) {
      expect(q.length).toBe(11);
      expect([...q].sort((x, y) => x - y)).toEqual(q);
      expect(q[0]).toBeGreaterThan(0);
      expect(q[10]).toBeLessThan(60);
    }
    await expect(trainMelFlow({ preset: 'tiny', data: 'embedded', out: path.join(dir, 'a'), steps: 4, quiet: true })).rejects.toThrow(
      /already holds a training run/,
    );
  }, 180_000);
});

describe('training the default generator as a pair', () => {
  const recipe: PairRecipe = { early: { preset: 'tiny', scheduleSteps: 3, steps: 5 }, late: { preset: 'tiny', scheduleSteps: 4, steps: 4 } };
  const weightsOf = async (d: string) => {
    const ck = await loadCheckpoint<{ train: { steps: number } }>(d, 'mel-flow');
    const w = Object.fromEntries(Object.entries(ck.weights).map(([k, t]) => [k, Array.from(t.dataSync())]));
    tf.dispose(Object.values(ck.weights));
    return { step: ck.meta.step, schedule: ck.meta.model.train.steps, w };
  };

  it('one call trains both experts (early: its schedule, then on to its steps); calls interrupted after every 2 steps end with the same weights; a finished pair trains nothing', async () => {
    const straight = await trainGeneratorPair({ data: 'embedded', out: path.join(dir, 'pair-a'), recipe, quiet: true });
    expect(straight.map((s) => [s.stage, s.step, s.run?.step])).toEqual([
      ['early', 5, 5],
      ['late', 4, 4],
    ]);
    let calls = 0;
    let last: Awaited<ReturnType<typeof trainGeneratorPair>> = [];
    do {
      last = await trainGeneratorPair({ data: 'embedded', out: path.join(dir, 'pair-b'), recipe, quiet: true, stopAfter: 2 });
      calls += 1;
    } while (!(last.length === 2 && last[1]?.step === 4) && calls < 10);
    // early: 2 of its 3 scheduled, then 2 + 1 resumed; late: 2, then 2
    expect(calls).toBe(4);
    for (const stage of ['early', 'late']) {
      const a = await weightsOf(path.join(dir, 'pair-a', stage));
      const b = await weightsOf(path.join(dir, 'pair-b', stage));
      expect(b.step).toBe(a.step);
      expect(b.w).toEqual(a.w);
      // the learning-rate schedule is the first start's: 3 steps for the early expert even though it trained 5
      expect(a.schedule).toBe(stage === 'early' ? 3 : 4);
    }
    const tensorsBefore = tf.memory().numTensors;
    const again = await trainGeneratorPair({ data: 'embedded', out: path.join(dir, 'pair-a'), recipe, quiet: true });
    // looking up where each expert stands leaves no tensor behind
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(again.map((s) => [s.step, s.run])).toEqual([
      [5, null],
      [4, null],
    ]);
    await expect(
      trainGeneratorPair({ data: 'embedded', out: path.join(dir, 'pair-c'), recipe: { ...recipe, late: { preset: 'tiny', scheduleSteps: 4, steps: 2 } } }),
    ).rejects.toThrow(/the late expert's steps \(2\) must be at least its schedule's 4/);
  }, 240_000);
});

describe('patch smoothing', () => {
  it('the 3 × 3 median removes an isolated outlier, keeps a step edge, replicates edges, and keeps the shape', () => {
    const F = 5;
    const B = 4;
    const flat = new Float32Array(F * B).fill(-2);
    flat[2 * B + 1] = 9; // one speck
    const m = median3x3({ frames: F, bins: B, data: flat });
    expect(m.frames).toBe(F);
    expect(m.bins).toBe(B);
    expect([...m.data].every((v) => v === -2)).toBe(true);
    // an onset: frames ≥ 2 loud — a median keeps the edge exactly where it was
    const step = new Float32Array(F * B).map((_, i) => (Math.floor(i / B) >= 2 ? 3 : -1));
    expect([...median3x3({ frames: F, bins: B, data: step }).data]).toEqual([...step]);
    // corner with replicated edges: the 9 values around (0, 0) are 4×a, 2×b, 2×c, 1×d
    const corner = new Float32Array([1, 5, 0, 0, 7, 9, 0, 0]);
    expect(median3x3({ frames: 2, bins: 4, data: corner }).data[0]).toBe(5);
  });

  it('roughness is the mean absolute neighbour difference over frames and over bands', () => {
    const s = { frames: 2, bins: 3, data: new Float32Array([0, 1, 3, 2, 2, 2]) };
    expect(roughness(s).dt).toBeCloseTo((2 + 1 + 1) / 3, 12);
    expect(roughness(s).df).toBeCloseTo((1 + 2 + 0 + 0) / 4, 12);
    expect(roughness({ frames: 1, bins: 1, data: new Float32Array([4]) })).toEqual({ dt: 0, df: 0 });
  });

  it("smoothing 'median' (the default) makes generated patches smoother than 'none'", async () => {
    const model = noiseModel(3);
    try {
      const o = { clips: 1, seed: 2, steps: 2, griffinLimIterations: 2, layout: 'full' as const };
      const raw = await melSoundForClass(model, 0, { ...o, smooth: 'none' });
      const med = await melSoundForClass(model, 0, o);
      const r = roughness(raw.spectrograms[0] as Spectrogram);
      const m = roughness(med.spectrograms[0] as Spectrogram);
      expect(m.dt).toBeLessThan(r.dt);
      expect(m.df).toBeLessThan(r.df);
    } finally {
      model.dispose();
    }
  }, 60_000);
});

/** The training times of one batch of `n` patches cut from a single recording, in draw order. */
function trainingTimes(cfg: ReturnType<typeof melFlowPreset>, seed: number, n: number): number[] {
  const rec = spec(200, 64, (t) => (t > 50 && t < 150 ? 0.5 : -2));
  const ts = melFlowBatch([{ spec: rec, energy: frameEnergy(rec), label: 0, seconds: 3 }], () => 0, new Rng(seed), cfg, n);
  const out = Array.from(ts[2]?.dataSync() ?? []);
  tf.dispose(ts);
  return out;
}
