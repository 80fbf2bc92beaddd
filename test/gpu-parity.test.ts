/**
 * Gradient parity on a WebGPU adapter: a tiny codec's and a tiny prior's gradients against the cpu
 * backend's, and every fused WebGPU op (src/ops/*-webgpu.ts) against its reference on the cpu
 * backend. Runs on whatever adapter Dawn finds — a GPU, or Mesa llvmpipe through Dawn's OpenGL ES
 * backend on CPU machines (where tfjs' own prior gradients are known to be wrong, docs/FACTS.md; Mesa:
 * apt-get install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri, as .ci/run does).
 * Skipped, with the reason printed, only when no WebGPU adapter can start.
 * `npm run test:gpu-parity` runs this file alone.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { conv1dReference } from '../src/ops/conv1d';
import { conv1dWebGpu } from '../src/ops/conv1d-webgpu';
import { layerNormReference } from '../src/ops/layer-norm';
import { layerNormWebGpu } from '../src/ops/layer-norm-webgpu';
import { residualLayerReference, residualLayerWebGpu } from '../src/ops/residual-webgpu';
import { convTranspose1dReference } from '../src/ops/conv1d';
import { convTranspose1dWebGpu } from '../src/ops/conv-transpose-webgpu';
import { Codebook } from '../src/models/codebook';
import { attentionReference } from '../src/ops/attention';
import { packedAttentionWebGpu } from '../src/ops/attention-webgpu';
import { dropoutAddReference, dropoutAddWebGpu } from '../src/ops/dropout-webgpu';
import { feedForward, feedForwardReference } from '../src/ops/feed-forward';
import { linearWebGpu } from '../src/ops/linear-webgpu';
import { TrainingDivergedError, trainLoop, type TrainTask } from '../src/train/loop';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { tempDir } from './helpers';
import { maxRelative, onCpu, useWebGpu } from './webgpu-setup';
import { GpuCounter } from '../src/backend/gpu-counter';
import { Params } from '../src/models/nn';
import { Adam } from '../src/optim/adam';
import { checkGradientParity } from '../src/train/parity';
import { Rng } from '../src/util/rng';

const gpu = useWebGpu('gpu-parity: skipped');

describe('WebGPU gradient parity (webgpu vs cpu)', () => {
  for (const which of ['codec', 'prior'] as const) {
    it(`${which}: gradients agree with the cpu backend`, async (ctx) => {
      if (!gpu.info) {
        ctx.skip(gpu.skipMessage());
        return;
      }
      const r = await checkGradientParity(which);
      expect(r.backend).toBe('webgpu');
      expect(r.maxRelative, `${which} on ${gpu.info.device}: worst ${r.worst}`).toBeLessThan(1e-2);
    }, 300_000); // llvmpipe on a busy 2-core machine
  }
  it('reports why when WebGPU cannot start', () => {
    if (gpu.info) expect(gpu.info.adapter).toBeDefined();
    else expect(gpu.reason).toMatch(/webgpu/i);
  });
});

describe('fused WebGPU ops vs their references on cpu', () => {
  const SHAPES: number[][] = [[3, 5, 7], [7], [300, 11], [1], [64, 65]];

  /** Three clipped Adam steps over a few parameters (the 2nd step clips); values, moments and norms. */
  async function adamRun(fused: boolean, weightDecay: number) {
    const rng = new Rng(9);
    const rand = (shape: number[], scale: number) =>
      tf.tensor(
        Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()),
        shape,
      );
    const vars = new Map(SHAPES.map((s, i) => [`p${i}`, tf.variable(rand(s, 1), true, `adam_parity_${fused}_${i}_${Math.random()}`)]));
    const adam = new Adam({ weightDecay }, fused ? 'auto' : 'off');
    expect(adam.usesFused()).toBe(fused);
    const norms: number[] = [];
    for (const [lr, maxNorm, scale] of [
      [1e-2, 1e3, 1],
      [3e-2, 0.5, 3],
      [1e-3, 0, 0.1],
    ] as const) {
      const grads = new Map(SHAPES.map((s, i) => [`p${i}`, rand(s, scale)]));
      const norm = await adam.clipAndApply(vars, grads, lr, maxNorm);
      norms.push(((await norm.data()) as Float32Array)[0] as number);
      tf.dispose([norm, ...grads.values()]);
    }
    const state = adam.getState();
    const read = async (m: Map<string, tf.Tensor>) =>
      Promise.all([...m.keys()].sort().map(async (k) => (await (m.get(k) as tf.Tensor).data()) as Float32Array));
    const out = { params: await read(vars), m: await read(state.m), v: await read(state.v), norms, step: adam.step };
    adam.dispose();
    tf.dispose([...vars.values()]);
    return out;
  }

  for (const weightDecay of [0, 0.01]) {
    it(`Adam: clip + update over all parameters in 2 dispatches equals the reference (weight decay ${weightDecay})`, async (ctx) => {
      if (!gpu.info) {
        ctx.skip();
        return;
      }
      const got = await adamRun(true, weightDecay);
      const want = await onCpu(() => adamRun(false, weightDecay));
      expect(got.step).toBe(3);
      got.norms.forEach((n, i) => expect(n).toBeCloseTo(want.norms[i] as number, 3));
      for (const key of ['params', 'm', 'v'] as const) {
        want[key].forEach((w, i) => expect(maxRelative(got[key][i] as Float32Array, w), `${key}[${i}]`).toBeLessThan(1e-4));
      }
    });
  }

  const CONVS = [
    { name: 'dilated k3 d3 p3, input ReLU (residual layer)', kernel: 3, cin: 5, cout: 4, stride: 1, dilation: 3, padding: 3, inputRelu: true },
    { name: 'strided k4 s2 p1 (downsampling)', kernel: 4, cin: 3, cout: 6, stride: 2, dilation: 1, padding: 1, inputRelu: false },
    { name: '1×1, input ReLU', kernel: 1, cin: 6, cout: 3, stride: 1, dilation: 1, padding: 0, inputRelu: true },
    { name: 'k3 p1, odd length', kernel: 3, cin: 1, cout: 7, stride: 1, dilation: 1, padding: 1, inputRelu: false },
  ];
  for (const c of CONVS) {
    it(`conv1d (${c.name}): values and gradients (x, w, bias) equal conv1dReference on cpu`, async (ctx) => {
      if (!gpu.info) {
        ctx.skip();
        return;
      }
      const rng = new Rng(c.kernel * 31 + c.cin);
      const L = 37;
      const data = {
        x: Float32Array.from({ length: 2 * L * c.cin }, () => rng.normal()),
        w: Float32Array.from({ length: c.kernel * c.cin * c.cout }, () => rng.normal() * 0.5),
        b: Float32Array.from({ length: c.cout }, () => rng.normal()),
      };
      const opts = { stride: c.stride, dilation: c.dilation, padding: c.padding };
      const run = async (fused: boolean) => {
        const x = tf.tensor3d(data.x, [2, L, c.cin]);
        const w = tf.tensor3d(data.w, [c.kernel, c.cin, c.cout]);
        const b = tf.tensor1d(data.b);
        const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => {
          const y = fused
            ? conv1dWebGpu(xx as tf.Tensor3D, ww as tf.Tensor3D, bb as tf.Tensor1D, { ...opts, inputRelu: c.inputRelu })
            : conv1dReference(c.inputRelu ? tf.relu(xx as tf.Tensor3D) : (xx as tf.Tensor3D), ww as tf.Tensor3D, bb as tf.Tensor1D, opts);
          // a loss that weights every output differently
          return tf.sum(tf.mul(y, tf.sin(tf.range(0, y.size).reshape(y.shape))));
        };
        const y = fused ? conv1dWebGpu(x, w, b, { ...opts, inputRelu: c.inputRelu }) : conv1dReference(c.inputRelu ? tf.relu(x) : x, w, b, opts);
        const grads = tf.grads(f)([x, w, b]);
        const out = { y: (await y.data()) as Float32Array, grads: await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array)) };
        tf.dispose([x, w, b, y, ...grads]);
        return out;
      };
      const got = await run(true);
      const want = await onCpu(() => run(false));
      expect(got.y.length).toBe(want.y.length);
      expect(maxRelative(got.y, want.y), 'y').toBeLessThan(1e-4);
      // gradients sum up to batch·time terms in another order than the reference: float32 rounding ~1e-4
      ['dx', 'dw', 'db'].forEach((n, i) => expect(maxRelative(got.grads[i] as Float32Array, want.grads[i] as Float32Array), n).toBeLessThan(1e-3));
    });
  }

  it('layer norm: values and gradients (x, γ, β) equal layerNormReference on cpu', async (ctx) => {
    if (!gpu.info) {
      ctx.skip();
      return;
    }
    const rng = new Rng(5);
    const rows = 70;
    const d = 100;
    const data = {
      x: Float32Array.from({ length: rows * d }, (_, i) => 3 * rng.normal() + (i % 7)),
      g: Float32Array.from({ length: d }, () => 1 + 0.3 * rng.normal()),
      b: Float32Array.from({ length: d }, () => 0.3 * rng.normal()),
      w: Float32Array.from({ length: rows * d }, () => rng.normal()),
    };
    const run = async (fused: boolean) => {
      const x = tf.tensor2d(data.x, [rows, d]);
      const g = tf.tensor1d(data.g);
      const b = tf.tensor1d(data.b);
      const w = tf.tensor2d(data.w, [rows, d]);
      const ln = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
        fused
          ? layerNormWebGpu(xx as tf.Tensor2D, gg as tf.Tensor1D, bb as tf.Tensor1D)
          : layerNormReference(xx as tf.Tensor2D, gg as tf.Tensor1D, bb as tf.Tensor1D);
      const y = ln(x, g, b);
      const grads = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(ln(xx, gg, bb), w)))([x, g, b]);
      const out = { y: (await y.data()) as Float32Array, grads: await Promise.all(grads.map(async (t) => (await t.data()) as Float32Array)) };
      tf.dispose([x, g, b, w, y, ...grads]);
      return out;
    };
    const got = await run(true);
    const want = await onCpu(() => run(false));
    // float32 rounding (row sums in another order) ~2e-4 relative near zero
    expect(maxRelative(got.y, want.y), 'y').toBeLessThan(1e-3);
    ['dx', 'dγ', 'dβ'].forEach((n, i) => expect(maxRelative(got.grads[i] as Float32Array, want.grads[i] as Float32Array), n).toBeLessThan(1e-3));
  });

  /**
   * Values and gradients of `op(fused)` against the reference on cpu: every input gets a gradient through
   * a loss that weights each output entry differently. `inputs` are plain arrays (shape, values).
   */
  async function parity(inputs: Array<{ shape: number[]; values: Float32Array }>, op: (fused: boolean, xs: tf.Tensor[]) => tf.Tensor) {
    const run = async (fused: boolean) => {
      const xs = inputs.map((i) => tf.tensor(i.values, i.shape));
      const loss = (...a: tf.Tensor[]) => {
        const y = op(fused, a);
        return tf.sum(tf.mul(y, tf.sin(tf.range(0, y.size).reshape(y.shape))));
      };
      const y = op(fused, xs);
      const grads = tf.grads(loss)(xs);
      const out = { y: (await y.data()) as Float32Array, grads: await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array)) };
      tf.dispose([...xs, y, ...grads]);
      return out;
    };
    const got = await run(true);
    const want = await onCpu(() => run(false));
    expect(got.y.length).toBe(want.y.length);
    expect(maxRelative(got.y, want.y), 'y').toBeLessThan(1e-3);
    want.grads.forEach((w, i) => expect(maxRelative(got.grads[i] as Float32Array, w), `d input ${i}`).toBeLessThan(1e-3));
  }
  const randn = (rng: Rng, shape: number[], scale = 1) => ({
    shape,
    values: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()),
  });

  for (const dilation of [1, 3]) {
    it(`residual layer (k3 d${dilation}, both ReLUs, residual add): values and gradients (x, W₁, b₁, W₂, b₂) equal the reference on cpu`, async (ctx) => {
      if (!gpu.info) {
        ctx.skip();
        return;
      }
      const rng = new Rng(40 + dilation);
      const [B, T, C, R] = [2, 29, 6, 5];
      await parity([randn(rng, [B, T, C]), randn(rng, [3, C, R], 0.5), randn(rng, [R], 0.3), randn(rng, [1, R, C], 0.5), randn(rng, [C], 0.3)], (fused, a) => {
        const [x, w1, b1, w2, b2] = a as [tf.Tensor3D, tf.Tensor3D, tf.Tensor1D, tf.Tensor3D, tf.Tensor1D];
        const w = { w1, b1, w2, b2 };
        return fused ? residualLayerWebGpu(x, w, dilation, dilation) : residualLayerReference(x, w, dilation, dilation);
      });
    });
  }

  for (const inputRelu of [false, true]) {
    it(`transposed conv1d (k4 s2 p1${inputRelu ? ', input ReLU' : ''}): values and gradients (x, w, bias) equal convTranspose1dReference on cpu`, async (ctx) => {
      if (!gpu.info) {
        ctx.skip();
        return;
      }
      const rng = new Rng(inputRelu ? 61 : 60);
      const [B, L, CI, CO] = [2, 13, 5, 3];
      await parity([randn(rng, [B, L, CI]), randn(rng, [4, CI, CO], 0.5), randn(rng, [CO], 0.3)], (fused, a) => {
        const [x, w, b] = a as [tf.Tensor3D, tf.Tensor3D, tf.Tensor1D];
        const conv = { stride: 2, padding: 1 };
        return fused ? convTranspose1dWebGpu(x, w, b, { ...conv, inputRelu }) : convTranspose1dReference(inputRelu ? tf.relu(x) : x, w, b, conv);
      });
    });
  }

  it('codebook: nearest codes, quantised values, both VQ losses and their gradients (z, embeddings) equal Codebook.quantize on cpu', async (ctx) => {
    if (!gpu.info) {
      ctx.skip();
      return;
    }
    const rng = new Rng(77);
    const [B, T, D, K] = [2, 23, 4, 9];
    const z = randn(rng, [B, T, D]);
    const e = randn(rng, [K, D], 0.7);
    const run = async (fused: boolean) => {
      const p = new Params(1);
      const cb = new Codebook(p, 'cb', { size: K, dim: D, beta: 0.25, ema: null, restart: null, dataInit: false });
      cb.embeddings.assign(tf.tensor2d(e.values, [K, D]));
      const x = tf.tensor3d(z.values, [B, T, D]);
      const weights = tf.sin(tf.range(0, B * T * D).reshape([B, T, D]));
      const f = () => {
        const r = cb.quantize(x);
        // weights every output differently: the quantised values, the two losses apart
        return tf.addN([tf.sum(tf.mul(r.quantized, weights)), tf.mul(r.commitLoss, 3), tf.mul(r.codebookLoss, 5)]) as tf.Scalar;
      };
      // fused on webgpu (ops/codebook-webgpu.ts), the reference on cpu
      expect(tf.getBackend()).toBe(fused ? 'webgpu' : 'cpu');
      const r = cb.quantize(x);
      const { grads } = tf.variableGrads(f, [cb.embeddings]);
      const dz = tf.grad((xx: tf.Tensor) => {
        const q = cb.quantize(xx as tf.Tensor3D);
        return tf.add(tf.sum(tf.mul(q.quantized, weights)), tf.mul(q.commitLoss, 3));
      })(x);
      const out = {
        ids: Array.from((await r.codes.data()) as Int32Array),
        q: (await r.quantized.data()) as Float32Array,
        losses: [((await r.commitLoss.data()) as Float32Array)[0] as number, ((await r.codebookLoss.data()) as Float32Array)[0] as number],
        de: (await (Object.values(grads)[0] as tf.Tensor).data()) as Float32Array,
        dz: (await dz.data()) as Float32Array,
      };
      tf.dispose([x, weights, dz, ...Object.values(grads), r.quantized, r.codes, r.loss, r.commitLoss, r.codebookLoss, r.flat]);
      p.dispose();
      return out;
    };
    const got = await run(true);
    const want = await onCpu(() => run(false));
    expect(got.ids).toEqual(want.ids);
    expect(maxRelative(got.q, want.q), 'quantised').toBeLessThan(1e-5);
    got.losses.forEach((l, i) => expect(l).toBeCloseTo(want.losses[i] as number, 5));
    expect(maxRelative(got.de, want.de), 'd embeddings').toBeLessThan(1e-3);
    expect(maxRelative(got.dz, want.dz), 'd z').toBeLessThan(1e-3);
  });

  const ATTENTION = [
    { name: 'self, causal', self: true, tq: 11, tk: 11, causal: true, window: null, queryLength: undefined },
    { name: 'self, full', self: true, tq: 9, tk: 9, causal: false, window: null, queryLength: undefined },
    { name: 'cross, full, 7 queries × 13 keys', self: false, tq: 7, tk: 13, causal: false, window: null, queryLength: undefined },
    { name: 'self, causal window 4', self: true, tq: 12, tk: 12, causal: true, window: 4, queryLength: undefined },
    { name: 'cross, aligned window 5', self: false, tq: 8, tk: 19, causal: false, window: 5, queryLength: 8 },
  ];
  for (const c of ATTENTION) {
    it(`attention (${c.name}; 3 heads, packed q/k/v): values and gradients equal attentionReference on cpu`, async (ctx) => {
      if (!gpu.info) {
        ctx.skip();
        return;
      }
      const rng = new Rng(c.tq * 13 + c.tk);
      const [B, H, DH] = [2, 3, 4];
      const DM = H * DH;
      const mask = { causal: c.causal, window: c.window, ...(c.queryLength ? { queryLength: c.queryLength } : {}) };
      /** [B, T, 3·DM] → columns [from, from + DM) as [B·H, T, DH] */
      const heads = (x: tf.Tensor, from: number) => {
        const [b, t] = x.shape as [number, number, number];
        return tf.reshape(tf.transpose(tf.reshape(tf.slice(x, [0, 0, from], [b, t, DM]), [b, t, H, DH]), [0, 2, 1, 3]), [b * H, t, DH]) as tf.Tensor3D;
      };
      const inputs = c.self ? [randn(rng, [B, c.tq, 3 * DM])] : [randn(rng, [B, c.tq, 3 * DM]), randn(rng, [B, c.tk, 3 * DM])];
      await parity(inputs, (fused, xs) => {
        const a = xs[0] as tf.Tensor3D;
        const kv = c.self ? null : (xs[1] as tf.Tensor3D);
        if (fused) return packedAttentionWebGpu(a, kv, H, mask);
        const src = kv ?? a;
        const o = attentionReference(heads(a, 0), heads(src, DM), heads(src, 2 * DM), mask);
        return tf.reshape(tf.transpose(tf.reshape(o, [B, H, c.tq, DH]), [0, 2, 1, 3]), [B, c.tq, DM]);
      });
    });
  }

  for (const residual of [true, false]) {
    it(`dropout${residual ? ' + residual add' : ''} (rate 0.3, seeded): values and gradients equal tf.dropout${residual ? ' + tf.add' : ''} on cpu`, async (ctx) => {
      if (!gpu.info) {
        ctx.skip();
        return;
      }
      const rng = new Rng(residual ? 91 : 92);
      const inputs = residual ? [randn(rng, [3, 17, 8]), randn(rng, [3, 17, 8])] : [randn(rng, [5, 33])];
      await parity(inputs, (fused, xs) => {
        const x = residual ? (xs[0] as tf.Tensor) : null;
        const s = xs[residual ? 1 : 0] as tf.Tensor;
        return fused ? dropoutAddWebGpu(x, s, 0.3, 1234) : dropoutAddReference(x, s, 0.3, 1234);
      });
    });
  }

  it('dense layer (fused matMul + bias; bias gradient as one column sum): values and gradients equal matMul + add on cpu', async (ctx) => {
    if (!gpu.info) {
      ctx.skip();
      return;
    }
    const rng = new Rng(120);
    await parity([randn(rng, [37, 9]), randn(rng, [9, 5], 0.5), randn(rng, [5], 0.3)], (fused, a) => {
      const [x, w, b] = a as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
      return fused ? linearWebGpu(x, w, b) : tf.add(tf.matMul(x, w), b);
    });
  });

  for (const rate of [0, 0.25]) {
    it(`feed-forward (fused matMul + bias, ReLU + dropout in one program, dropout ${rate}): values and gradients (x, W₁, b₁, W₂, b₂) equal feedForwardReference on cpu`, async (ctx) => {
      if (!gpu.info) {
        ctx.skip();
        return;
      }
      const rng = new Rng(100 + rate * 4);
      const [n, d, f] = [19, 6, 10];
      await parity([randn(rng, [n, d]), randn(rng, [d, f], 0.5), randn(rng, [f], 0.3), randn(rng, [f, d], 0.5), randn(rng, [d], 0.3)], (fused, a) => {
        const [x, w1, b1, w2, b2] = a as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D];
        const drop = rate > 0 ? { rate, seed: 77 } : null;
        return fused ? feedForward(x, { w1, b1, w2, b2 }, drop) : feedForwardReference(x, { w1, b1, w2, b2 }, drop);
      });
    });
  }
});

describe('training loop on webgpu: metrics read back only when it logs', () => {
  /** A least-squares fit w·x ≈ y with a logged scalar; `nanAt`: the loss is NaN at that step (1-based). */
  function task(nanAt: number | null): { task: TrainTask<number>; w: () => tf.Variable } {
    const p = new Params(3);
    const w = p.create('w', [4], { kind: 'normal', std: 1 });
    let n = 0;
    return {
      w: () => w,
      task: {
        params: p,
        nextBatch: (rng) => rng.int(1000),
        forward: (b) => {
          n++;
          const x = tf.tensor1d([1, 2, 3, 4].map((v) => v + (b % 7)));
          const err = tf.sub(tf.sum(tf.mul(w, x)), 3);
          const loss = tf.mul(tf.square(err), n === nanAt ? Number.NaN : 1) as tf.Scalar;
          return { loss, scalars: { err: err as tf.Scalar }, keep: [] };
        },
        disposeBatch: () => undefined,
        samplerState: () => null,
        restoreSampler: () => undefined,
      },
    };
  }
  const options = (out: string, steps: number) => ({
    out,
    steps,
    schedule: { kind: 'constant' as const, peak: 1e-2, warmupSteps: 0, totalSteps: steps, floor: 0 },
    clipNorm: 1,
    seed: 5,
    checkpointEvery: 0,
    validateEvery: 0,
    label: 'loop-test',
    resume: null,
    meta: { kind: 'test', model: {}, train: {}, data: null },
    quiet: true,
    logEvery: 3,
  });
  const lines = (dir: string) =>
    readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number | string>);

  it('writes the same metric lines as the cpu backend (fields, steps, values)', async (ctx) => {
    if (!gpu.info) {
      ctx.skip();
      return;
    }
    const gpuDir = tempDir();
    const cpuDir = tempDir();
    const g = task(null);
    const counter = GpuCounter.install();
    counter.reset();
    const readbacks: number[] = [];
    const afterStep = () => {
      readbacks.push(counter.snapshot().total.readbacks);
      return {};
    };
    await trainLoop({ ...g.task, afterStep }, options(gpuDir, 7));
    g.task.params.dispose();
    // read-backs so far, seen after each step's update: one per 3 steps (logEvery), none in between
    expect(readbacks).toEqual([0, 0, 0, 1, 1, 1, 2]);
    await onCpu(async () => {
      const c = task(null);
      await trainLoop({ ...c.task, afterStep: () => ({}) }, options(cpuDir, 7));
      c.task.params.dispose();
    });
    const got = lines(gpuDir);
    const want = lines(cpuDir);
    expect(got.map((l) => Object.keys(l))).toEqual(want.map((l) => Object.keys(l)));
    got.forEach((l, i) => {
      for (const k of ['step', 'lr']) expect(l[k]).toBe(want[i]?.[k]);
      for (const k of ['loss', 'err', 'grad_norm']) expect(l[k] as number).toBeCloseTo(want[i]?.[k] as number, 3);
    });
  });

  it('stops on a NaN loss at the step it happened; the fused Adam left the weights as they were', async (ctx) => {
    if (!gpu.info) {
      ctx.skip();
      return;
    }
    const dir = tempDir();
    const t = task(2);
    const before: number[] = [];
    const run = trainLoop(
      {
        ...t.task,
        afterStep: async () => {
          before.push(...((await t.w().data()) as Float32Array));
          return {};
        },
      },
      options(dir, 6),
    );
    await expect(run).rejects.toBeInstanceOf(TrainingDivergedError);
    await expect(run).rejects.toMatchObject({ step: 2 });
    // weights after step 1 and after the NaN step 2 are the same
    expect(before.slice(4, 8)).toEqual(before.slice(0, 4));
    expect(lines(dir).map((l) => l['step'])).toEqual([1]);
    t.task.params.dispose();
  });
});
