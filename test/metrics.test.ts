import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Matrix } from 'ml-matrix';
import { onnx } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { loadOnnxEmbedder, melStatsEmbedder, windows } from '../src/metrics/embedders';
import { fad, fitGaussian, frechetDistance, sqrtPsd } from '../src/metrics/fad';
import { latentProbe, silhouette } from '../src/metrics/probe';
import { mse, siSdr } from '../src/metrics/reconstruction';
import { InputError } from '../src/util/errors';
import { Rng } from '../src/util/rng';
import { tempDir, tone } from './helpers';

const dir = tempDir();

function noise(seed: number, n: number, amp = 0.1): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => amp * r.normal());
}

describe('reconstruction metrics', () => {
  it('MSE and SI-SDR', () => {
    const x = tone(440, 4000, 1);
    expect(mse(x, x)).toBe(0);
    expect(
      siSdr(
        x,
        x.map((v) => 0.5 * v),
      ),
    ).toBeGreaterThan(100); // scale-invariant
    const n = noise(1, x.length);
    const noisy = x.map((v, i) => v + (n[i] as number));
    const s = siSdr(x, noisy);
    // rms(x) = 0.354, rms(noise) = 0.1 → ≈ 11 dB
    expect(s).toBeGreaterThan(9.5);
    expect(s).toBeLessThan(12.5);
    expect(Number.isNaN(siSdr(new Float32Array(10), x.subarray(0, 10)))).toBe(true);
  });
});

describe('Fréchet distance', () => {
  it('matrix square root of a PSD matrix', () => {
    const a = new Matrix([
      [4, 1],
      [1, 3],
    ]);
    const r = sqrtPsd(a);
    const back = r.mmul(r);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expect(back.get(i, j)).toBeCloseTo(a.get(i, j), 10);
  });
  it('matches the closed form for 1-D Gaussians and is 0 for identical sets', () => {
    const g = (m: number, v: number) => ({ mean: Float64Array.from([m]), cov: new Matrix([[v]]), n: 10 });
    // (μ1−μ2)² + σ1² + σ2² − 2σ1σ2
    expect(frechetDistance(g(1, 4), g(3, 9))).toBeCloseTo(4 + 4 + 9 - 2 * 6, 10);
    const rows = Array.from({ length: 50 }, (_, i) => Float32Array.from([Math.sin(i), Math.cos(3 * i), i / 50]));
    expect(frechetDistance(fitGaussian(rows), fitGaussian(rows))).toBeLessThan(1e-9);
  });
  it('covariance is the unbiased (n − 1) estimate, with off-diagonal terms (hand-computed)', () => {
    // rows (x, y): (2, 0), (0, 2), (−2, 0), (0, −2), (1, 1), (−1, −1): mean 0
    // Σ xx = 4+0+4+0+1+1 = 10, Σ yy = 10, Σ xy = 0+0+0+0+1+1 = 2; n − 1 = 5
    const rows = [
      [2, 0],
      [0, 2],
      [-2, 0],
      [0, -2],
      [1, 1],
      [-1, -1],
    ].map((r) => Float32Array.from(r));
    const g = fitGaussian(rows);
    expect(g.n).toBe(6);
    expect(Array.from(g.mean)).toEqual([0, 0]);
    expect(g.cov.to2DArray()).toEqual([
      [2, 0.4],
      [0.4, 2],
    ]);
    // shifted mean: the covariance does not change, the mean does
    const moved = fitGaussian(rows.map((r) => Float32Array.from([r[0]! + 3, r[1]! - 1])));
    expect(Array.from(moved.mean)).toEqual([3, -1]);
    expect(moved.cov.get(0, 1)).toBeCloseTo(0.4, 12);
    expect(moved.cov.get(1, 1)).toBeCloseTo(2, 12);
    expect(() => fitGaussian([Float32Array.from([1, 2])])).toThrow(/at least 2 embeddings per set, got 1/);
  });
  it('matches an independent closed form for non-commuting 2-D covariances', () => {
    // For 2 × 2 SPD A, B: Tr (A^½ B A^½)^½ = √(λ1) + √(λ2) of A·B = √(Tr(AB) + 2 √(det A · det B)).
    const cases: Array<[number[][], number[][], number[], number[]]> = [
      [
        [
          [4, 1],
          [1, 3],
        ],
        [
          [2, -0.5],
          [-0.5, 1],
        ],
        [1, 2],
        [0, -1],
      ],
      [
        [
          [1, 0.9],
          [0.9, 1],
        ],
        [
          [5, 0],
          [0, 0.2],
        ],
        [0, 0],
        [0.5, 0.5],
      ],
    ];
    for (const [a, b, ma, mb] of cases) {
      const tr = (m: number[][]) => m[0]![0]! + m[1]![1]!;
      const det = (m: number[][]) => m[0]![0]! * m[1]![1]! - m[0]![1]! * m[1]![0]!;
      const ab = [0, 1].map((i) => [0, 1].map((j) => a[i]![0]! * b[0]![j]! + a[i]![1]! * b[1]![j]!));
      const trSqrt = Math.sqrt(tr(ab) + 2 * Math.sqrt(det(a) * det(b)));
      const meanTerm = (ma[0]! - mb[0]!) ** 2 + (ma[1]! - mb[1]!) ** 2;
      const expected = meanTerm + tr(a) + tr(b) - 2 * trSqrt;
      const ga = { mean: Float64Array.from(ma), cov: new Matrix(a), n: 10 };
      const gb = { mean: Float64Array.from(mb), cov: new Matrix(b), n: 10 };
      expect(frechetDistance(ga, gb)).toBeCloseTo(expected, 9);
      expect(frechetDistance(gb, ga)).toBeCloseTo(expected, 9); // symmetric
    }
  });
  it('matches the closed form for a 3-D pair with a rotated covariance (block: 1-D × 2-D)', () => {
    // Σ_r = diag(9, R diag(4, 1) Rᵀ), Σ_g = diag(1, diag(1, 4)); R a 30° rotation.
    // The Fréchet distance splits over the blocks: 1-D (3 − 1)² and the 2-D form above.
    const c = Math.cos(Math.PI / 6);
    const s = Math.sin(Math.PI / 6);
    const r2 = [
      [4 * c * c + s * s, (4 - 1) * c * s],
      [(4 - 1) * c * s, 4 * s * s + c * c],
    ];
    const a = new Matrix([
      [9, 0, 0],
      [0, r2[0]![0]!, r2[0]![1]!],
      [0, r2[1]![0]!, r2[1]![1]!],
    ]);
    const b = new Matrix([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 4],
    ]);
    // 2-D block: Tr(AB) = r00·1 + r11·4, det A = 4, det B = 4
    const trSqrt2 = Math.sqrt(r2[0]![0]! + 4 * r2[1]![1]! + 2 * Math.sqrt(16));
    const expected = 1 + (9 + 1 - 2 * 3) + (5 + 5 - 2 * trSqrt2);
    const fd = frechetDistance({ mean: Float64Array.from([1, 0, 0]), cov: a, n: 5 }, { mean: Float64Array.from([0, 0, 0]), cov: b, n: 5 });
    expect(fd).toBeCloseTo(expected, 9);
    expect(() => frechetDistance({ mean: new Float64Array(3), cov: a, n: 5 }, { mean: new Float64Array(2), cov: Matrix.eye(2), n: 5 })).toThrow(
      /embedding sizes differ: 3 vs 2/,
    );
  });
  it('FAD with the built-in embedder: 0 for the same clips, larger for more different sounds', async () => {
    const cats = [600, 650, 700, 750].map((f) => tone(f, 4000, 3));
    const similar = [610, 640, 710, 740].map((f) => tone(f, 4000, 3));
    const noiseClips = [1, 2, 3, 4].map((s) => noise(s, 12000, 0.3));
    const same = await fad(cats, cats, melStatsEmbedder);
    const near = await fad(cats, similar, melStatsEmbedder);
    const far = await fad(cats, noiseClips, melStatsEmbedder);
    expect(same.fad).toBeLessThan(1e-6);
    expect(near.fad).toBeLessThan(far.fad);
    expect(far.embedder).toMatch(/mel-stats-v1/);
    expect(far.reference.clips).toBe(4);
    expect(far.reference.windows).toBe(4 * windows(cats[0]!, 4000, { windowSeconds: 0.96, hopSeconds: 0.48 }).length);
  });
});

describe('latent probe (Fig. 14 numbers)', () => {
  it('separable classes: probe accuracy 1 and a high silhouette; shuffled labels: near chance', () => {
    const r = new Rng(3);
    const feats: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 40; i++) {
      const c = i % 2;
      labels.push(c);
      feats.push([c * 4 + r.normal() * 0.5, r.normal(), c * -3 + r.normal() * 0.5, r.normal()]);
    }
    const good = latentProbe(feats, labels);
    expect(good.probeAccuracy).toBe(1);
    expect(good.silhouette).toBeGreaterThan(0.4);
    expect(good.pca).toHaveLength(40);
    expect(good.explained[0]).toBeGreaterThan(good.explained[1]);
    const shuffled = new Rng(9).shuffle([...labels]);
    const noise2 = feats.map(() => [r.normal(), r.normal(), r.normal(), r.normal()]);
    const bad = latentProbe(noise2, shuffled);
    expect(bad.probeAccuracy).toBeLessThan(0.8);
    expect(Math.abs(silhouette(noise2, shuffled))).toBeLessThan(0.1);
  });
});

/** A tiny ONNX embedder the test writes: waveform [1, n] → [mean |x|, max |x|]. */
function tinyOnnxModel(file: string): void {
  const T = onnx.TensorProto.DataType.FLOAT;
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'soundtrack-lab test',
    graph: {
      name: 'tiny-embedder',
      input: [{ name: 'waveform', type: { tensorType: { elemType: T, shape: { dim: [{ dimValue: 1 }, { dimParam: 'n' }] } } } }],
      output: [{ name: 'embedding', type: { tensorType: { elemType: T, shape: { dim: [{ dimValue: 1 }, { dimValue: 2 }] } } } }],
      node: [
        { opType: 'Abs', input: ['waveform'], output: ['abs'] },
        {
          opType: 'ReduceMean',
          input: ['abs'],
          output: ['mean'],
          attribute: [
            { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1] },
            { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
          ],
        },
        {
          opType: 'ReduceMax',
          input: ['abs'],
          output: ['max'],
          attribute: [
            { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1] },
            { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
          ],
        },
        { opType: 'Concat', input: ['mean', 'max'], output: ['embedding'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
      ],
    },
  });
  writeFileSync(file, onnx.ModelProto.encode(model).finish());
}

describe('ONNX embedder (onnxruntime-node)', () => {
  it('runs a user-supplied ONNX network on resampled windows', async (ctx) => {
    try {
      const pkg = 'onnxruntime-node'; // optional: a variable specifier keeps the type check independent of it
      await import(pkg);
    } catch {
      ctx.skip('the optional dependency onnxruntime-node is not installed (npm ci installs it; offline: ONNXRUNTIME_NODE_INSTALL=skip npm ci)');
    }
    const file = path.join(dir, 'tiny.onnx');
    tinyOnnxModel(file);
    const emb = await loadOnnxEmbedder(file, { sampleRate: 16000 });
    expect(emb.name).toMatch(/onnx:tiny\.onnx/);
    const clip = tone(500, 4000, 2, 0.5);
    const rows = await emb.embed([clip]);
    expect(rows.length).toBe(windows(new Float32Array(32000), 16000, { windowSeconds: 0.96, hopSeconds: 0.48 }).length);
    // a 0.5-amplitude sine: mean |x| = 0.5·2/π, max |x| ≈ 0.5
    expect(rows[1]![0]).toBeCloseTo((0.5 * 2) / Math.PI, 2);
    expect(rows[1]![1]).toBeCloseTo(0.5, 2);
    const r = await fad([clip, tone(520, 4000, 2)], [tone(510, 4000, 2), tone(530, 4000, 2)], emb);
    expect(r.embedder).toMatch(/onnx/);
  });
  it('a missing or broken model file is a clear error naming it', async () => {
    const missing = path.join(dir, 'nope.onnx');
    await expect(loadOnnxEmbedder(missing, { sampleRate: 16000 })).rejects.toThrow(InputError);
    const broken = path.join(dir, 'broken.onnx');
    writeFileSync(broken, 'not a model');
    await expect(loadOnnxEmbedder(broken, { sampleRate: 16000 })).rejects.toThrow(broken);
  });
});
