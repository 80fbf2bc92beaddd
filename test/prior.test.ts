import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index';
import { describeModel } from '../src/models/describe';
import { Prior, type PriorConfig } from '../src/models/prior';
import { attention, attentionImpl, attentionReference } from '../src/ops/attention';
import { feedForward, feedForwardReference } from '../src/ops/feed-forward';
import { crossEntropy } from '../src/ops/loss';
import { encodeSources, IncrementalDecoder, PriorWeights } from '../src/sample/kv-cache';
import { sampleBottom, sampleFullRecompute, sampleTop, sampleWithCache } from '../src/sample/sampler';
import { pickToken } from '../src/sample/strategy';
import { Adam } from '../src/optim/adam';
import { Rng } from '../src/util/rng';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

const tinyPrior = (over: Partial<PriorConfig> = {}): PriorConfig => ({
  format: 'soundtrack-lab/prior',
  version: 1,
  level: 'top',
  preset: 'test',
  codes: 12,
  classes: 2,
  dModel: 16,
  heads: 4,
  encoderLayers: 1,
  decoderLayers: 2,
  feedForward: 24,
  dropout: 0,
  sourceLength: 1,
  targetLength: 10,
  attentionChunk: 4,
  windows: { encoder: null, self: null, cross: null },
  seed: 3,
  ...over,
});

function rand(shape: number[], seed: number): tf.Tensor {
  const r = new Rng(seed);
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.range(-1, 1)),
    shape,
  );
}
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);

describe('priors: thesis configuration', () => {
  it('Top and Bottom priors have exactly the thesis\u2019 5,341,084 parameters each (vocabulary 2052)', () => {
    for (const m of ['prior-top', 'prior-bottom']) {
      const d = describeModel(m, 'thesis');
      expect(d.parameters).toBe(5_341_084);
      expect(d.notes.join(' ')).toMatch(/vocabulary 2052/);
    }
    expect(describeModel('prior-bottom', 'thesis').notes.join(' ')).toMatch(/source 900 token\(s\) → target START \+ 3600 codes/);
  });
});

describe('memory-efficient attention', () => {
  for (const [causal, impl] of [
    [false, 'ops'],
    [true, 'ops'],
    [false, 'cpu'],
    [true, 'cpu'],
    [false, 'blocks'],
    [true, 'blocks'],
  ] as const) {
    it(`forward and gradients equal plain attention (causal ${causal}, ${{ ops: 'chunked tensor ops', cpu: 'CPU loops', blocks: 'per-head blocks' }[impl]})`, () => {
      tf.tidy(() => {
        const q = rand([3, 11, 8], 1);
        const k = rand([3, causal ? 11 : 7, 8], 2);
        const v = rand([3, causal ? 11 : 7, 5], 3);
        const w = rand([3, 11, 5], 4);
        const f =
          (fn: (a: tf.Tensor3D, b: tf.Tensor3D, c: tf.Tensor3D, o: { causal: boolean; chunk: number; impl: 'ops' | 'cpu' | 'blocks' }) => tf.Tensor3D) =>
          (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
            tf.sum(tf.mul(fn(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, { causal, chunk: 4, impl }), w)) as tf.Scalar;
        expect(
          maxDiff(
            attention(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, { causal, chunk: 4, impl }),
            attentionReference(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, { causal }),
          ),
        ).toBeLessThan(1e-5);
        const g1 = tf.grads(f(attention))([q, k, v]);
        const g2 = tf.grads(f(attentionReference))([q, k, v]);
        g1.forEach((g, i) => expect(maxDiff(g, g2[i]!)).toBeLessThan(1e-4));
      });
    });
  }
  it('local windows (causal last-W, aligned cross) agree across the CPU loops, chunked ops, per-head blocks and the reference', () => {
    tf.tidy(() => {
      for (const o of [
        { causal: true, window: 3 },
        { causal: false, window: 2 },
        { causal: false, window: 4, queryLength: 16 },
      ]) {
        const q = rand([2, 10, 4], 11);
        const k = rand([2, o.causal ? 10 : 5, 4], 12);
        const v = rand([2, o.causal ? 10 : 5, 3], 13);
        const w = rand([2, 10, 3], 14);
        const loss = (impl: 'cpu' | 'ops' | 'blocks' | 'ref') => (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          tf.sum(
            tf.mul(
              impl === 'ref'
                ? attentionReference(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, o)
                : attention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, { ...o, chunk: 3, impl }),
              w,
            ),
          ) as tf.Scalar;
        const ref = tf.grads(loss('ref'))([q, k, v]);
        for (const impl of ['cpu', 'ops', 'blocks'] as const) {
          const g = tf.grads(loss(impl))([q, k, v]);
          g.forEach((x, i) => expect(maxDiff(x, ref[i]!)).toBeLessThan(1e-4));
        }
      }
    });
  });

  it('per-head blocks on the wasm backend (what the thesis preset trains with there) equal the reference on cpu', async () => {
    const cases = [{ causal: true }, { causal: false }, { causal: true, window: 5 }, { causal: false, window: 4, queryLength: 13 }];
    const run = (impl: 'blocks' | 'ref') =>
      cases.map((o) =>
        tf.tidy(() => {
          const q = rand([3, 13, 6], 21);
          const k = rand([3, o.causal ? 13 : 9, 6], 22);
          const v = rand([3, o.causal ? 13 : 9, 4], 23);
          const w = rand([3, 13, 4], 24);
          const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
            tf.sum(
              tf.mul(
                impl === 'ref'
                  ? attentionReference(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, o)
                  : attention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, { ...o, chunk: 4, impl }),
                w,
              ),
            ) as tf.Scalar;
          return tf
            .grads(loss)([q, k, v])
            .map((g) => Array.from(g.dataSync()));
        }),
      );
    const ref = run('ref');
    await initBackend({ backend: 'wasm' });
    try {
      expect(attentionImpl({ causal: true }, 901)).toBe('blocks');
      expect(attentionImpl({ causal: true, window: 64 }, 901)).toBe('cpu');
      const ours = run('blocks');
      ours.forEach((gs, c) => gs.forEach((g, i) => g.forEach((x, j) => expect(Math.abs(x - ref[c]![i]![j]!), `case ${c} grad ${i}`).toBeLessThan(1e-4))));
    } finally {
      await initBackend({ backend: 'cpu' });
    }
  });

  it('the fused feed-forward (keeps only x and h) equals the taped block, with and without dropout, on cpu and wasm', async () => {
    const run = () =>
      [null, { rate: 0.3, seed: 17 }].map((dropout) =>
        tf.tidy(() => {
          const x = rand([7, 6], 31) as tf.Tensor2D;
          const w = {
            w1: rand([6, 9], 32) as tf.Tensor2D,
            b1: rand([9], 33) as tf.Tensor1D,
            w2: rand([9, 6], 34) as tf.Tensor2D,
            b2: rand([6], 35) as tf.Tensor1D,
          };
          const out = rand([7, 6], 36);
          const loss = (fn: typeof feedForward) => (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor, e: tf.Tensor) =>
            tf.sum(
              tf.mul(fn(a as tf.Tensor2D, { w1: b as tf.Tensor2D, b1: c as tf.Tensor1D, w2: d as tf.Tensor2D, b2: e as tf.Tensor1D }, dropout), out),
            ) as tf.Scalar;
          expect(maxDiff(feedForward(x, w, dropout), feedForwardReference(x, w, dropout))).toBeLessThan(1e-5);
          const ours = tf.grads(loss(feedForward))([x, w.w1, w.b1, w.w2, w.b2]);
          const ref = tf.grads(loss(feedForwardReference))([x, w.w1, w.b1, w.w2, w.b2]);
          ours.forEach((g, i) => expect(maxDiff(g, ref[i]!)).toBeLessThan(1e-4));
          return ours.map((g) => Array.from(g.dataSync()));
        }),
      );
    const onCpu = run();
    await initBackend({ backend: 'wasm' });
    try {
      run().forEach((gs, c) => gs.forEach((g, i) => g.forEach((v, j) => expect(Math.abs(v - onCpu[c]![i]![j]!)).toBeLessThan(1e-4))));
    } finally {
      await initBackend({ backend: 'cpu' });
    }
  });

  it('cross-entropy gradient = softmax − target (with label smoothing), matching autodiff', () => {
    tf.tidy(() => {
      const z = rand([6, 9], 5);
      const t = tf.tensor1d([0, 3, 8, 2, 2, 5], 'int32');
      for (const eps of [0, 0.1]) {
        const ours = tf.grad((x: tf.Tensor) => crossEntropy(x as tf.Tensor2D, t, eps))(z);
        const ref = tf.grad((x: tf.Tensor) => {
          const target = tf.add(tf.mul(tf.oneHot(t, 9), 1 - eps), eps / 9);
          return tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(x)), 1)));
        })(z);
        expect(maxDiff(ours, ref)).toBeLessThan(1e-6);
      }
    });
  });
});

describe('prior gradients against finite differences (cpu)', () => {
  it('d loss / d weight matches central differences for a few entries of several tensors', () => {
    const p = new Prior(tinyPrior({ level: 'bottom', sourceLength: 4, targetLength: 6, windows: { encoder: 2, self: 3, cross: 2 } }));
    const src = tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
    const tgt = tf.tensor2d([[5, 6, 7, 1, 2, 3]], [1, 6], 'int32');
    const names = [
      'decoder.layers.1.self_attn.in_proj_weight',
      'decoder.layers.0.multihead_attn.in_proj_weight',
      'encoder.layers.0.linear1.weight',
      'embedding.weight',
      'output.bias',
    ];
    const vars = names.map((n) => p.params.get(n));
    const { grads } = tf.variableGrads(() => p.loss(src, tgt), vars);
    for (const v of vars) {
      const g = grads[v.name]!.dataSync();
      const base = Float32Array.from(v.dataSync());
      const entries = [0, 7, Math.floor(base.length / 2)];
      for (const e of entries) {
        const at = (delta: number) => {
          const x = base.slice();
          x[e]! += delta;
          v.assign(tf.tensor(x, v.shape));
          return tf.tidy(() => p.loss(src, tgt).dataSync()[0] as number);
        };
        const fd = (at(1e-2) - at(-1e-2)) / 2e-2;
        v.assign(tf.tensor(base, v.shape));
        expect(Math.abs((g[e] as number) - fd)).toBeLessThan(2e-3 + 0.02 * Math.abs(fd));
      }
    }
    tf.dispose([src, tgt, Object.values(grads)]);
    p.dispose();
  });
});

describe('prior model and sampling', () => {
  it('teacher-forced loss falls when trained on fixed sequences', () => {
    const p = new Prior(tinyPrior());
    const seqs = [
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      [11, 10, 9, 8, 7, 6, 5, 4, 3, 2],
    ];
    const adam = new Adam();
    const vars = p.params.trainable();
    const byVar = new Map([...vars].map(([n, v]) => [v.name, n]));
    const losses: number[] = [];
    for (let s = 0; s < 60; s++) {
      const { value, grads } = tf.variableGrads(() => {
        const src = p.classSource([0, 1]);
        const tgt = tf.tensor2d(seqs.flat(), [2, 10], 'int32');
        return p.loss(src, tgt);
      }, [...vars.values()]);
      adam.apply(vars, new Map(Object.entries(grads).map(([k, g]) => [byVar.get(k)!, g])), 1e-2);
      losses.push(value.dataSync()[0] as number);
      tf.dispose([value, Object.values(grads)]);
    }
    expect(losses[59]!).toBeLessThan(losses[0]! * 0.2);
    // the learned prior now reproduces the sequence of each class greedily, with the KV cache
    const { codes } = sampleTop(p, [0, 1], { temperature: 0 });
    expect(Array.from(codes[0]!)).toEqual(seqs[0]);
    expect(Array.from(codes[1]!)).toEqual(seqs[1]);
    adam.dispose();
    p.dispose();
  });

  it('KV-cache logits equal the full recomputation at every position (tolerance 1e-3), on priors with large random weights', () => {
    const configs = [
      tinyPrior({ seed: 5 }),
      tinyPrior({ level: 'bottom', sourceLength: 6, targetLength: 14, seed: 9, windows: { encoder: 3, self: 4, cross: 2 } }),
    ];
    for (const cfg of configs) {
      const p = new Prior(cfg);
      // large random weights: outputs far from uniform, attention far from flat (a wrong scale shows)
      const r = new Rng(cfg.seed + 100);
      for (const info of p.params.info()) {
        const n = info.shape.reduce((a, b) => a * b, 1);
        p.params.get(info.name).assign(
          tf.tensor(
            Float32Array.from({ length: n }, () => 0.8 * r.normal()),
            info.shape,
          ),
        );
      }
      const src =
        cfg.level === 'top'
          ? p.classSource([1])
          : tf.tensor2d(
              Int32Array.from({ length: cfg.sourceLength }, (_, i) => (5 * i + 2) % cfg.codes),
              [1, cfg.sourceLength],
              'int32',
            );
      const T = cfg.targetLength;
      const input = [p.vocab.start, ...Array.from({ length: T - 1 }, (_, i) => (7 * i + 3) % cfg.codes)];
      const V = p.vocab.size;
      const full = tf.tidy(() => p.decode(tf.tensor2d(input, [1, T], 'int32'), p.encode(src)).dataSync() as Float32Array);
      const dec = new IncrementalDecoder(new PriorWeights(p), encodeSources(p, src)[0]!);
      let spread = 0;
      for (let t = 0; t < T; t++) {
        const cached = dec.step(input[t]!);
        expect(dec.position).toBe(t + 1);
        const want = full.subarray(t * V, (t + 1) * V);
        spread = Math.max(spread, Math.max(...want) - Math.min(...want));
        for (let j = 0; j < V; j++) expect(Math.abs(cached[j]! - want[j]!), `position ${t}, logit ${j}`).toBeLessThan(1e-3 + 1e-4 * Math.abs(want[j]!));
      }
      expect(spread).toBeGreaterThan(3); // the logits are far from uniform: this prior is a real test
      src.dispose();
      p.dispose();
    }
  });

  it('KV-cache sampling gives the same tokens as full recomputation for the same seed (top-k 6, top-p, temperature, guidance)', () => {
    const top = new Prior(tinyPrior());
    const options = { seed: 7, topK: 6, topP: 0.9, temperature: 1.3 };
    const src = top.classSource([0, 1, 1]);
    const a = sampleWithCache(top, src, options);
    const b = sampleFullRecompute(top, src, options);
    expect(a.codes.map((c) => Array.from(c))).toEqual(b.codes.map((c) => Array.from(c)));
    const uncond = top.classSource([null, null, null]);
    const g1 = sampleWithCache(top, src, { ...options, guidance: 3, unconditional: uncond });
    const g2 = sampleFullRecompute(top, src, { ...options, guidance: 3, unconditional: uncond });
    expect(g1.codes.map((c) => Array.from(c))).toEqual(g2.codes.map((c) => Array.from(c)));
    tf.dispose([src, uncond]);
    const bottom = new Prior(tinyPrior({ level: 'bottom', sourceLength: 5, targetLength: 12, seed: 4 }));
    const tops = [Int32Array.from([1, 2, 3, 4, 5]), Int32Array.from([0, 0, 11, 11, 3])];
    const c = sampleBottom(bottom, tops, { seed: 2 });
    const srcB = tf.tensor2d(Int32Array.from([...tops[0]!, ...tops[1]!]), [2, 5], 'int32');
    const d = sampleFullRecompute(bottom, srcB, { seed: 2 });
    expect(c.codes.map((x) => Array.from(x))).toEqual(d.codes.map((x) => Array.from(x)));
    expect(c.codes[0]).toHaveLength(12);
    srcB.dispose();
    top.dispose();
    bottom.dispose();
  });

  it('with local attention windows (the quick presets), KV-cache sampling still equals full recomputation', () => {
    const cfg = tinyPrior({ level: 'bottom', sourceLength: 6, targetLength: 14, seed: 9, windows: { encoder: 3, self: 4, cross: 2 } });
    const bottom = new Prior(cfg);
    const tops = [Int32Array.from([1, 2, 3, 4, 5, 6]), Int32Array.from([6, 0, 11, 11, 3, 2])];
    const c = sampleBottom(bottom, tops, { seed: 4, topK: 4 });
    const src = tf.tensor2d(Int32Array.from([...tops[0]!, ...tops[1]!]), [2, 6], 'int32');
    const d = sampleFullRecompute(bottom, src, { seed: 4, topK: 4 });
    expect(c.codes.map((x) => Array.from(x))).toEqual(d.codes.map((x) => Array.from(x)));
    src.dispose();
    bottom.dispose();
  });

  it('only codes are sampled (never special tokens), top-k limits the choice, seeds reproduce', () => {
    const logits = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 100, 100]); // the last two are special tokens
    const seen = new Set<number>();
    const rng = new Rng(1);
    for (let i = 0; i < 300; i++) seen.add(pickToken(logits, 8, { topK: 3, topP: 1, temperature: 1 }, rng));
    expect([...seen].sort()).toEqual([5, 6, 7]);
    expect(pickToken(logits, 8, { topK: 6, topP: 1, temperature: 0 }, rng)).toBe(7);
    const nucleus = new Set<number>();
    for (let i = 0; i < 300; i++) nucleus.add(pickToken(Float32Array.from([0, 0, 0, 10]), 4, { topK: 0, topP: 0.5, temperature: 1 }, rng));
    expect([...nucleus]).toEqual([3]);
    const p = new Prior(tinyPrior());
    const x = sampleTop(p, [0], { seed: 5 }).codes[0];
    const y = sampleTop(p, [0], { seed: 5 }).codes[0];
    const z = sampleTop(p, [0], { seed: 6 }).codes[0];
    expect(Array.from(x!)).toEqual(Array.from(y!));
    expect(Array.from(x!)).not.toEqual(Array.from(z!));
    expect(() => sampleTop(p, [2])).toThrow(/class 2/);
    p.dispose();
  });
});
