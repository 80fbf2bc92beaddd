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
      console.warn('onnxruntime-node is not installed: the ONNX embedder test is skipped (see README, "behind a firewall")');
      ctx.skip(); // optional dependency not installed
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
