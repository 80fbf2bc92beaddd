/**
 * Fast unit tests of small pure pieces of the core (run by `npm test` and by the mutation run):
 * the codebook's search and losses, code statistics, the classifier head's maths.
 */
import * as tf from '@tensorflow/tfjs';
import { Matrix } from 'ml-matrix';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index';
import { Codebook, codeStats } from '../src/models/codebook';
import { Params } from '../src/models/nn';
import { fad, formatFad, frechetDistance, sqrtPsd } from '../src/metrics/fad';
import { finiteMean, mse, siSdr } from '../src/metrics/reconstruction';
import { guide, pickToken } from '../src/sample/strategy';
import { Rng } from '../src/util/rng';
import { joinWithCrossfades } from '../src/pipeline/generate';
import { voteVideo } from '../src/vision/classifier';
import { ClassifierHead, featureStats, type HeadConfig } from '../src/vision/head';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('codebook', () => {
  const cfg = { size: 3, dim: 2, beta: 0.25, ema: null, restart: null, dataInit: false };
  const codes = [
    [0, 0],
    [1, 0],
    [0, 2],
  ];

  it('nearest code by Euclidean distance; losses ‖sg(z) − e‖² and β‖z − sg(e)‖² (means over entries)', () => {
    const p = new Params(0);
    const cb = new Codebook(p, 'cb', cfg);
    cb.embeddings.assign(tf.tensor2d(codes));
    const z = tf.tensor3d([
      [
        [0.1, -0.1],
        [0.9, 0.2],
        [0.2, 1.6],
        [0.6, 0.0],
      ],
    ]);
    const r = tf.tidy(() => {
      const q = cb.quantize(z);
      return {
        codes: Array.from(q.codes.dataSync()),
        quantized: Array.from(q.quantized.dataSync()),
        codebook: q.codebookLoss.dataSync()[0]!,
        commit: q.commitLoss.dataSync()[0]!,
        loss: q.loss.dataSync()[0]!,
      };
    });
    expect(r.codes).toEqual([0, 1, 2, 1]);
    expect(r.quantized).toEqual([0, 0, 1, 0, 0, 2, 1, 0]);
    // squared errors: (0.01 + 0.01) + (0.01 + 0.04) + (0.04 + 0.16) + (0.16 + 0) = 0.43, over 8 entries
    expect(r.codebook).toBeCloseTo(0.43 / 8, 6);
    expect(r.commit).toBeCloseTo(0.43 / 8, 6);
    expect(r.loss).toBeCloseTo((0.43 / 8) * 1.25, 6);
    // lookup returns the code vectors
    const looked = tf.tidy(() => Array.from(cb.lookup(tf.tensor2d([[2, 0]], [1, 2], 'int32')).dataSync()));
    expect(looked).toEqual([0, 2, 0, 0]);
    z.dispose();
    p.dispose();
  });

  it('code statistics: perplexity exp(entropy), share and count of used codes', () => {
    expect(codeStats([0, 0, 0, 0], 4)).toEqual({ perplexity: 1, usage: 0.25, used: 1 });
    const s = codeStats([0, 1, 2, 3], 8);
    expect(s.perplexity).toBeCloseTo(4, 10);
    expect(s.usage).toBe(0.5);
    expect(s.used).toBe(4);
    // p = (0.5, 0.25, 0.25): H = 1.5 ln 2 → perplexity 2^1.5
    expect(codeStats([1, 1, 0, 2], 3).perplexity).toBeCloseTo(2 ** 1.5, 10);
  });
});

describe('classifier head', () => {
  it('feature statistics: per-dimension mean and population std (a constant dimension gets std 1)', () => {
    const f = [Float32Array.from([1, 5, 2]), Float32Array.from([3, 5, 2]), Float32Array.from([5, 5, 8])];
    const s = featureStats(f);
    expect(s.mean[0]).toBeCloseTo(3, 6);
    expect(s.mean[1]).toBeCloseTo(5, 6);
    expect(s.mean[2]).toBeCloseTo(4, 6);
    expect(s.std[0]).toBeCloseTo(Math.sqrt(8 / 3), 6);
    expect(s.std[1]).toBe(1);
    expect(s.std[2]).toBeCloseTo(Math.sqrt(8), 6);
  });

  it('P(dog) = σ(w·(f − μ)/σ + b); training lowers the loss and separates two clusters', () => {
    const config: HeadConfig = {
      format: 'soundtrack-lab/classifier-head',
      version: 1,
      backbone: { name: 'test', source: 'none', format: 'layers-model', inputSize: 1 } as unknown as HeadConfig['backbone'],
      featureDim: 2,
      mean: [1, -1],
      std: [2, 0.5],
      classes: ['cat', 'dog'],
      l2: 0,
    };
    const head = new ClassifierHead(config);
    expect(head.probDog([Float32Array.from([7, 7])])[0]).toBeCloseTo(0.5, 6); // zero weights
    head.params.get('head.weight').assign(tf.tensor2d([[1], [2]]));
    head.params.get('head.bias').assign(tf.tensor1d([0.5]));
    // (3 − 1)/2 · 1 + (−0.5 + 1)/0.5 · 2 + 0.5 = 1 + 2 + 0.5 = 3.5
    expect(head.probDog([Float32Array.from([3, -0.5])])[0]).toBeCloseTo(1 / (1 + Math.exp(-3.5)), 5);
    head.dispose();
    const fresh = new ClassifierHead({ ...config, mean: [0, 0], std: [1, 1], l2: 1e-3 });
    const feats = [
      [2, 2],
      [2.5, 1.5],
      [-2, -2],
      [-1.5, -2.5],
    ].map((r) => Float32Array.from(r));
    const losses = fresh.train(feats, [1, 1, 0, 0], { steps: 40, learningRate: 0.1 });
    expect(losses).toHaveLength(40);
    expect(losses[0]).toBeCloseTo(Math.log(2), 4);
    expect(losses[39]!).toBeLessThan(losses[0]! * 0.5);
    const p = fresh.probDog(feats);
    expect(p[0]!).toBeGreaterThan(0.8);
    expect(p[1]!).toBeGreaterThan(0.8);
    expect(p[2]!).toBeLessThan(0.2);
    expect(p[3]!).toBeLessThan(0.2);
    fresh.dispose();
  });
});

describe('video vote (the video end-to-end: vision.test.ts)', () => {
  it('video vote: majority of frame labels; a tie goes to the mean P(dog) (dog when ≥ 0.5); mean vote by mean P(dog)', () => {
    // 5 cat / 3 dog, and 3 cat / 5 dog — whatever the confidence of the minority
    expect(voteVideo([0.1, 0.2, 0.3, 0.4, 0.45, 0.99, 0.99, 0.99])).toEqual({ label: 0, meanDog: expect.closeTo(4.42 / 8, 10) });
    expect(voteVideo([0.01, 0.01, 0.01, 0.6, 0.7, 0.8, 0.9, 0.55]).label).toBe(1);
    // 4–4 ties: the mean decides, either way
    expect(voteVideo([0.1, 0.1, 0.1, 0.1, 0.6, 0.6, 0.6, 0.6]).label).toBe(0); // mean 0.35 → cat
    expect(voteVideo([0.4, 0.4, 0.4, 0.4, 0.9, 0.9, 0.9, 0.9]).label).toBe(1); // mean 0.65 → dog
    expect(voteVideo([0.2, 0.8]).label).toBe(1); // mean exactly 0.5 → dog
    expect(voteVideo([0.49, 0.5]).label).toBe(0); // 0.5 is a dog frame; tie, mean 0.495 → cat
    // one frame
    expect(voteVideo([0.5]).label).toBe(1);
    expect(voteVideo([0.4999]).label).toBe(0);
    // mean vote: 5 cat frames barely below 0.5, 3 confident dogs → dog by the mean, cat by the median
    const p = [0.45, 0.45, 0.45, 0.45, 0.45, 0.95, 0.95, 0.95];
    expect(voteVideo(p, 'mean').label).toBe(1);
    expect(voteVideo(p, 'median').label).toBe(0);
    expect(voteVideo([0.1, 0.2, 0.6], 'mean')).toEqual({ label: 0, meanDog: expect.closeTo(0.3, 10) });
    expect(() => voteVideo([])).toThrow(/at least one frame/);
  });
});

describe('crossfades between generated clips', () => {
  it('long videos get several clips joined by crossfades', () => {
    const a = new Float32Array(100).fill(1);
    const joined = joinWithCrossfades([a, a, a], 10);
    expect(joined).toHaveLength(280);
    // equal-power crossfade of two equal signals: 1 ≤ sin + cos ≤ √2 in the overlap, exactly 1 elsewhere
    joined.forEach((v, i) => {
      const inOverlap = (i >= 90 && i < 100) || (i >= 180 && i < 190);
      if (inOverlap) {
        expect(v).toBeGreaterThanOrEqual(0.99);
        expect(v).toBeLessThanOrEqual(Math.SQRT2 + 1e-6);
      } else expect(v).toBe(1);
    });
    // the gains themselves: a clip fading out into silence, silence fading in to a clip
    const one = new Float32Array(20).fill(1);
    const zero = new Float32Array(20);
    const out = joinWithCrossfades([one, zero], 4);
    const into = joinWithCrossfades([zero, one], 4);
    expect(out).toHaveLength(36);
    for (let i = 0; i < 4; i++) {
      const x = (i + 0.5) / 4;
      expect(out[16 + i]).toBeCloseTo(Math.cos((Math.PI / 2) * x), 6); // fade-out
      expect(into[16 + i]).toBeCloseTo(Math.sin((Math.PI / 2) * x), 6); // fade-in
      expect(out[16 + i]! ** 2 + into[16 + i]! ** 2).toBeCloseTo(1, 6); // equal power
    }
    expect(Array.from(out.subarray(0, 16))).toEqual(new Array(16).fill(1));
    expect(Array.from(out.subarray(20))).toEqual(new Array(16).fill(0));
    expect(Array.from(into.subarray(20))).toEqual(new Array(16).fill(1));
    // edge cases: nothing, one clip, a fade longer than half a clip is cut to half
    expect(joinWithCrossfades([], 4)).toHaveLength(0);
    expect(Array.from(joinWithCrossfades([one], 4))).toEqual(Array.from(one));
    expect(joinWithCrossfades([one, one], 50)).toHaveLength(30);
    expect(joinWithCrossfades([one, one], -3)).toHaveLength(40);
  });
});

describe('reconstruction metrics by hand', () => {
  it('MSE: mean squared difference; length mismatch is an error; empty is 0', () => {
    expect(mse(Float32Array.from([1, 2, 3]), Float32Array.from([1, 0, 4]))).toBeCloseTo(5 / 3, 6);
    expect(mse(new Float32Array(0), new Float32Array(0))).toBe(0);
    expect(() => mse(new Float32Array(2), new Float32Array(3))).toThrow(/mse: lengths differ \(2 vs 3\)/);
  });
  it('SI-SDR: projection on the zero-mean reference, 10 log10(‖target‖² / ‖rest‖²)', () => {
    // reference r = (1, −1, 1, −1) (zero mean); estimate = 2r + e with e = (1, 1, −1, −1) ⟂ r, plus an offset
    const r = Float32Array.from([1, -1, 1, -1]);
    const est = Float32Array.from([2 + 1 + 5, -2 + 1 + 5, 2 - 1 + 5, -2 - 1 + 5]);
    // target = 2r: ‖target‖² = 16, ‖e‖² = 4 → 10 log10 4
    expect(siSdr(r, est)).toBeCloseTo(10 * Math.log10(4), 5);
    // an offset reference is made zero-mean too
    expect(
      siSdr(
        r.map((x) => x + 3),
        est,
      ),
    ).toBeCloseTo(10 * Math.log10(4), 5);
    // perfect (scaled) estimate: capped by the 1e-20 floor, not infinite
    expect(
      siSdr(
        r,
        r.map((x) => 3 * x),
      ),
    ).toBeCloseTo(10 * Math.log10(9 * 4 * 1e20), 0);
    expect(Number.isNaN(siSdr(new Float32Array(4).fill(2), r))).toBe(true);
    expect(() => siSdr(r, new Float32Array(3))).toThrow(/siSdr: lengths differ \(4 vs 3\)/);
  });
  it('finiteMean skips NaN and ±Infinity; none finite → NaN', () => {
    expect(finiteMean([1, Number.NaN, 3, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])).toBe(2);
    expect(Number.isNaN(finiteMean([Number.NaN]))).toBe(true);
    expect(Number.isNaN(finiteMean([]))).toBe(true);
  });
});

describe('sampling strategy by hand', () => {
  it('guidance: uncond + g·(cond − uncond) over the first n entries', () => {
    const g = guide(Float32Array.from([1, 2, 3, 9]), Float32Array.from([0, 4, 3, 9]), 3, 3);
    expect(Array.from(g)).toEqual([3, -2, 3]);
  });
  it('greedy picks the first maximum; top-k / top-p / temperature give the expected frequencies', () => {
    const rng = new Rng(3);
    const o = { topK: 0, topP: 1, temperature: 0 };
    expect(pickToken(Float32Array.from([1, 5, 5, 2]), 4, o, rng)).toBe(1);
    expect(pickToken(Float32Array.from([9, 5, 5, 20]), 3, o, rng)).toBe(0); // only the first n count
    // two equal logits and one far below: ≈ 50/50 between them at temperature 1
    const counts = [0, 0, 0];
    for (let i = 0; i < 2000; i++) counts[pickToken(Float32Array.from([0, 0, -30]), 3, { topK: 0, topP: 1, temperature: 1 }, rng)]!++;
    expect(counts[2]).toBe(0);
    expect(Math.abs(counts[0]! - 1000)).toBeLessThan(120);
    // logits (ln 3, 0): p = (3/4, 1/4) at T = 1, (9/10, 1/10) at T = 0.5
    for (const [t, p0] of [
      [1, 0.75],
      [0.5, 0.9],
    ] as const) {
      let zeros = 0;
      for (let i = 0; i < 4000; i++) if (pickToken(Float32Array.from([Math.log(3), 0]), 2, { topK: 0, topP: 1, temperature: t }, rng) === 0) zeros++;
      expect(Math.abs(zeros / 4000 - p0), `T ${t}`).toBeLessThan(0.03);
    }
    // top-p 0.7 keeps the smallest prefix reaching 0.7: probabilities (0.5, 0.3, 0.2) → tokens 0 and 1, in ratio 5:3
    const seen = [0, 0, 0];
    const l = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
    for (let i = 0; i < 4000; i++) seen[pickToken(l, 3, { topK: 0, topP: 0.7, temperature: 1 }, rng)]!++;
    expect(seen[2]).toBe(0);
    expect(Math.abs(seen[0]! / 4000 - 0.625)).toBeLessThan(0.03);
    // top-p exactly reached by the first token keeps only it
    const only = new Set<number>();
    for (let i = 0; i < 200; i++) only.add(pickToken(l, 3, { topK: 0, topP: 0.5, temperature: 1 }, rng));
    expect([...only]).toEqual([0]);
    // top-p reached exactly (four equal tokens, 0.25 each: 0.5 after two) keeps exactly two
    const half = new Set<number>();
    for (let i = 0; i < 400; i++) half.add(pickToken(Float32Array.from([1, 1, 1, 1]), 4, { topK: 0, topP: 0.5, temperature: 1 }, rng));
    expect([...half].sort()).toEqual([0, 1]);
    // top-k 2 of (0.5, 0.3, 0.2) renormalises to (5/8, 3/8)
    const k2 = [0, 0, 0];
    for (let i = 0; i < 4000; i++) k2[pickToken(l, 3, { topK: 2, topP: 1, temperature: 1 }, rng)]!++;
    expect(k2[2]).toBe(0);
    expect(Math.abs(k2[0]! / 4000 - 0.625)).toBeLessThan(0.03);
    // ties in the sort keep index order: top-k 1 of equal logits is the first
    expect(pickToken(Float32Array.from([2, 2, 2]), 3, { topK: 1, topP: 1, temperature: 1 }, rng)).toBe(0);
  });
});

describe('FAD plumbing by hand', () => {
  it('sqrtPsd symmetrises its input and clamps round-off negative eigenvalues to 0', () => {
    const r = sqrtPsd(
      new Matrix([
        [4, 0],
        [0, -1e-12],
      ]),
    );
    expect(r.get(0, 0)).toBeCloseTo(2, 12);
    expect(r.get(1, 1)).toBe(0);
    // [[4, 2], [0, 4]] is read as its symmetric part [[4, 1], [1, 4]] (eigenvalues 5, 3)
    const s = sqrtPsd(
      new Matrix([
        [4, 2],
        [0, 4],
      ]),
    );
    const back = s.mmul(s);
    expect(back.get(0, 1)).toBeCloseTo(1, 10);
    expect(back.get(1, 0)).toBeCloseTo(1, 10);
    expect(back.get(0, 0)).toBeCloseTo(4, 10);
  });
  it('the distance is clamped at 0 (round-off never makes it negative)', () => {
    const cov = new Matrix([
      [1e-3, 0],
      [0, 7],
    ]);
    const g = { mean: Float64Array.from([1, 2]), cov, n: 3 };
    expect(frechetDistance(g, g)).toBeGreaterThanOrEqual(0);
    expect(frechetDistance(g, g)).toBeLessThan(1e-9);
  });
  it('fad() embeds both sets, names them, counts clips and windows; formatFad prints it', async () => {
    // a fake embedder: one 1-D row per clip sample (so the windows are the samples)
    const embedder = { name: 'fake', embed: async (clips: readonly Float32Array[]) => clips.flatMap((c) => Array.from(c, (x) => Float32Array.from([x]))) };
    const r = await fad([Float32Array.from([0, 2])], [Float32Array.from([1, 3]), Float32Array.from([1, 3])], embedder);
    // reference: mean 1, var 2; test: mean 2, var 4/3 (n − 1 = 3) → 1 + 2 + 4/3 − 2√(8/3)
    expect(r.fad).toBeCloseTo(1 + 2 + 4 / 3 - 2 * Math.sqrt(8 / 3), 10);
    expect(r.reference).toEqual({ clips: 1, windows: 2, name: 'reference' });
    expect(r.test).toEqual({ clips: 2, windows: 4, name: 'test' });
    expect(r.embedder).toBe('fake');
    const named = await fad([Float32Array.from([0, 2])], [Float32Array.from([0, 2])], embedder, { reference: 'real', test: 'gen' });
    expect(named.reference.name).toBe('real');
    expect(named.test.name).toBe('gen');
    expect(formatFad({ ...r, fad: 1.23456 })).toBe('FAD 1.235 — test (2 clips, 4 windows) vs reference (1 clips, 2 windows); embedder fake');
  });
});
