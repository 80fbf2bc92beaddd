/**
 * The WebGPU kernel files (src/ops/*-webgpu.ts, webgpu-program.ts, webgpu-raw.ts, webgpu-internals.ts)
 * exactly, where test/gpu-parity.test.ts (values and gradients against the references on cpu) cannot
 * see a difference: the program descriptions and WGSL they build, the argument checks and their
 * messages, which programs each fused op dispatches (by name, counted with GpuCounter), the pipeline
 * caches and their descriptors, dispatches past 65 535 workgroups, cache keys that must not collide,
 * and the fused Adam's buffers, state round trip and checks.
 *
 * The first block needs no GPU (it runs on the cpu backend everywhere). The rest runs on a WebGPU
 * adapter — a GPU, or Mesa llvmpipe through Dawn's OpenGL ES backend on CPU machines (as
 * gpu-parity) — and is skipped, with the reason printed, only when no WebGPU adapter can start.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { GpuCounter } from '../src/backend/gpu-counter';
import { FusedAdamWebGpu, type FusedAdamHyper } from '../src/ops/adam-webgpu';
import { attentionReference } from '../src/ops/attention';
import { packedAttentionWebGpu } from '../src/ops/attention-webgpu';
import { quantizeWebGpu } from '../src/ops/codebook-webgpu';
import { convTranspose1dWebGpu } from '../src/ops/conv-transpose-webgpu';
import { conv1dReference, convTranspose1dReference } from '../src/ops/conv1d';
import { conv1dWebGpu } from '../src/ops/conv1d-webgpu';
import { dropoutAddWebGpu } from '../src/ops/dropout-webgpu';
import { feedForward } from '../src/ops/feed-forward';
import { layerNorm, layerNormReference } from '../src/ops/layer-norm';
import { layerNormWebGpu } from '../src/ops/layer-norm-webgpu';
import { linearWebGpu } from '../src/ops/linear-webgpu';
import { linear } from '../src/ops/matmul';
import { residualLayerReference, residualLayerWebGpu } from '../src/ops/residual-webgpu';
import { bufferOf, type GpuBuffer, type GpuDevice, type WebGpuBackendInternals, webgpuInternals } from '../src/ops/webgpu-internals';
import { elementwiseProgram, fusedWebGpuOps, reductionProgram, runProgram } from '../src/ops/webgpu-program';
import { RAW_WG, runRaw, threads } from '../src/ops/webgpu-raw';
import { Rng } from '../src/util/rng';
import { maxRelative, onCpu, useWebGpu } from './webgpu-setup';

const gpu = useWebGpu('gpu-kernels: WebGPU tests skipped');

/**
 * Tensors quantizeWebGpu leaves besides its four results: the raw code rows, which the commitment
 * gradient keeps (saved) and the straight-through output is a copy of; the caller's tf.tidy frees
 * it, as it frees the reference's intermediates (Codebook.quantize runs inside one).
 */
const LEFT_BY_QUANTIZE = 1;

/** `fn` with SOUNDTRACK_FUSED set to `value` (undefined: unset), restored afterwards. */
async function withFusedEnv<T>(value: string | undefined, fn: () => Promise<T> | T): Promise<T> {
  const before = process.env.SOUNDTRACK_FUSED;
  if (value === undefined) delete process.env.SOUNDTRACK_FUSED;
  else process.env.SOUNDTRACK_FUSED = value;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.SOUNDTRACK_FUSED;
    else process.env.SOUNDTRACK_FUSED = before;
  }
}

/** Whitespace-normalised WGSL. */
const squash = (code: string): string => code.replace(/\s+/g, ' ').trim();

const t1 = (n: number) => tf.zeros([n]) as tf.Tensor1D;
const t2 = (a: number, b: number) => tf.zeros([a, b]) as tf.Tensor2D;
const t3 = (a: number, b: number, c: number) => tf.zeros([a, b, c]) as tf.Tensor3D;

describe('WebGPU program descriptions and argument checks (no GPU needed)', () => {
  it('elementwiseProgram: a thread per output element (or per unit), 64 per workgroup, the guard on uniforms.size / uniforms.units', () => {
    const { getUserCode, ...p } = elementwiseProgram('probe_ew', [3, 50], ['X', 'Y'], 'a : f32,', 'BODY;', 'PRELUDE');
    expect(p).toStrictEqual({
      outputShape: [3, 50],
      shaderKey: 'soundtrack_probe_ew',
      dispatchLayout: { x: [0, 1] },
      dispatch: [3, 1, 1],
      variableNames: ['X', 'Y'],
      uniforms: 'a : f32,',
      workgroupSize: [64, 1, 1],
      size: true,
    });
    expect(squash(getUserCode())).toBe('PRELUDE fn main(index : i32) { if (index >= uniforms.size) { return; } BODY; }');
    // `units` threads instead of one per output element; no uniforms of its own, no prelude
    const u = elementwiseProgram('probe_units', [1000], ['X'], '', 'B;', '', 130);
    const { getUserCode: code, ...q } = u;
    expect(q).toStrictEqual({
      outputShape: [1000],
      shaderKey: 'soundtrack_probe_units',
      dispatchLayout: { x: [0] },
      dispatch: [3, 1, 1],
      variableNames: ['X'],
      workgroupSize: [64, 1, 1],
      size: true,
    });
    expect(squash(code())).toBe('fn main(index : i32) { if (index >= uniforms.units) { return; } B; }');
    expect(squash(elementwiseProgram('probe_default', [4], ['X'], '', 'B;').getUserCode())).toBe(
      'fn main(index : i32) { if (index >= uniforms.size) { return; } B; }',
    );
  });

  it('reductionProgram: a workgroup of 64 per output element, a tree sum over the workgroup', () => {
    const { getUserCode, ...p } = reductionProgram('probe_red', [2, 3], ['X'], 'n : i32,', 'let m = 2;', 'uniforms.n', 'X[k]', 'PRE');
    expect(p).toStrictEqual({
      outputShape: [2, 3],
      shaderKey: 'soundtrack_probe_red',
      dispatchLayout: { x: [0, 1] },
      dispatch: [6, 1, 1],
      variableNames: ['X'],
      uniforms: 'n : i32,',
      workgroupSize: [64, 1, 1],
      size: true,
    });
    expect(squash(getUserCode())).toBe(
      squash(`PRE var<workgroup> partial : array<f32, 64>;
      fn main(index : i32) {
        let o = i32(workgroupId.y * numWorkgroups.x + workgroupId.x);
        let li = i32(localIndex);
        var acc = 0.0;
        if (o < uniforms.size) { let m = 2; for (var k = li; k < uniforms.n; k = k + 64) { acc = acc + X[k]; } }
        partial[li] = acc;
        workgroupBarrier();
        for (var w = 32; w > 0; w = w / 2) { if (li < w) { partial[li] = partial[li] + partial[li + w]; } workgroupBarrier(); }
        if (li == 0 && o < uniforms.size) { setOutputAtIndex(o, partial[0]); }
      }`),
    );
    const { getUserCode: code, ...q } = reductionProgram('probe_red2', [5], ['X'], '', '', '1', '0.0');
    expect(q).not.toHaveProperty('uniforms');
    expect(squash(code()).startsWith('var<workgroup> partial : array<f32, 64>; fn main(index : i32) {')).toBe(true);
  });

  it('threads(units): workgroups of 64 for one thread per unit', () => {
    expect(RAW_WG).toBe(64);
    expect([0, 1, 64, 65, 128, 129, 6400].map(threads)).toEqual([0, 1, 1, 2, 2, 3, 100]);
  });

  it('on the cpu backend: no fused ops, no internals, and each runner names the backend it needs', async () => {
    await onCpu(() => {
      expect(fusedWebGpuOps()).toBe(false);
      expect(webgpuInternals()).toBeNull();
      const x = tf.tensor1d([1, 2]);
      expect(() => runProgram(elementwiseProgram('probe_cpu', [2], ['X'], '', ''), [x])).toThrow(
        /^soundtrack_probe_cpu: needs the webgpu backend \(active: cpu\)$/,
      );
      expect(() => runRaw('probe_cpu', 'k', [{ name: 'X', tensor: x }], [{ name: 'Y', shape: [2] }], 1, '')).toThrow(
        /^probe_cpu: needs the webgpu backend \(active: cpu\)$/,
      );
      expect(() => new FusedAdamWebGpu([{ name: 'a', shape: [2] }])).toThrow(/^FusedAdamWebGpu needs the webgpu backend$/);
      x.dispose();
    });
  });

  it('bufferOf uploads the tensor, marks it in use by the pending commands and returns its buffer; a tensor without one is an error', () => {
    const buffer: GpuBuffer = { size: 8, destroy: () => undefined };
    const dataId = {};
    const uploaded: object[] = [];
    const fake = (resource: GpuBuffer | null) =>
      ({
        uploadToGPU: (id: object) => {
          uploaded.push(id);
        },
        tensorMap: { get: (id: object) => (id === dataId ? { resource, refCount: 1 } : undefined) },
        commandQueueOwnedIds: new WeakSet<object>(),
      }) as unknown as WebGpuBackendInternals;
    const b = fake(buffer);
    expect(bufferOf(b, { dataId })).toBe(buffer);
    expect(uploaded.length).toBe(1);
    expect(uploaded[0]).toBe(dataId);
    expect(b.commandQueueOwnedIds.has(dataId)).toBe(true);
    expect(() => bufferOf(fake(null), { dataId })).toThrow(/^webgpu: tensor has no GPU buffer$/);
  });

  it('argument checks of the fused ops, before any GPU work (exact messages; a valid call gets as far as the GPU program)', async () => {
    await onCpu(() =>
      tf.tidy(() => {
        const needs = (op: string) => new RegExp(`^${op}: needs the webgpu backend \\(active: cpu\\)$`);
        // conv1d: channels, too short (no output position), exactly one output position passes
        expect(() => conv1dWebGpu(t3(1, 5, 3), t3(3, 2, 4), null)).toThrow(/^conv1d: input has 3 channels, weight expects 2$/);
        expect(() => conv1dWebGpu(t3(1, 2, 3), t3(3, 3, 4), null)).toThrow(/^conv1d: input of length 2 is too short for kernel 3 \(dilation 1, padding 0\)$/);
        expect(() => conv1dWebGpu(t3(1, 2, 3), t3(3, 3, 4), null, { dilation: 2, padding: 1 })).toThrow(
          /^conv1d: input of length 2 is too short for kernel 3 \(dilation 2, padding 1\)$/,
        );
        expect(() => conv1dWebGpu(t3(1, 3, 3), t3(3, 3, 4), null)).toThrow(needs('soundtrack_conv1d_fwd'));
        // transposed conv1d: channels, kernel − 2·padding = stride
        expect(() => convTranspose1dWebGpu(t3(1, 5, 3), t3(4, 2, 2), t1(2), { stride: 2, padding: 1 })).toThrow(
          /^convTranspose1d: input has 3 channels, weight expects 2$/,
        );
        expect(() => convTranspose1dWebGpu(t3(1, 5, 3), t3(4, 3, 2), t1(2), { stride: 3, padding: 1 })).toThrow(
          /^convTranspose1d: needs kernel − 2·padding = stride \(got kernel 4, padding 1, stride 3\)$/,
        );
        expect(() => convTranspose1dWebGpu(t3(1, 5, 3), t3(6, 3, 2), t1(2), { stride: 2, padding: 2 })).toThrow(needs('convT1d_fwd'));
        // residual layer: each weight-shape condition alone, then the padding that must keep the length
        const [C, R] = [6, 5];
        const shapes: Array<[[number, number, number], [number, number, number]]> = [
          [
            [3, 4, R],
            [1, R, C],
          ],
          [
            [3, C, R],
            [1, 4, C],
          ],
          [
            [3, C, R],
            [1, R, 4],
          ],
          [
            [3, C, R],
            [2, R, C],
          ],
        ];
        const weights = (w1: [number, number, number], w2: [number, number, number]) => ({ w1: t3(...w1), b1: t1(R), w2: t3(...w2), b2: t1(C) });
        for (const [w1, w2] of shapes) {
          expect(() => residualLayerWebGpu(t3(1, 8, C), weights(w1, w2), 1, 1)).toThrow(
            new RegExp(`^residual layer: weights \\[${w1.join(',')}\\] / \\[${w2.join(',')}\\] do not fit 6 channels$`),
          );
        }
        expect(() => residualLayerWebGpu(t3(1, 8, C), weights([3, C, R], [1, R, C]), 1, 2)).toThrow(
          /^residual layer: padding 2 must keep the length \(kernel 3, dilation 1\)$/,
        );
        expect(() => residualLayerWebGpu(t3(1, 8, C), weights([3, C, R], [1, R, C]), 2, 2)).toThrow(needs('residual_fwd'));
        // attention: packed columns, keys/values that do not match (batch, columns)
        const full = { causal: false };
        expect(() => packedAttentionWebGpu(t3(2, 4, 12), null, 3, full)).toThrow(/^attention: 12 packed columns do not split into q, k, v of 3 heads$/);
        expect(() => packedAttentionWebGpu(t3(2, 4, 18), t3(1, 5, 18), 3, full)).toThrow(
          /^attention: keys\/values \[1,5,18\] do not match queries \[2,4,18\]$/,
        );
        expect(() => packedAttentionWebGpu(t3(2, 4, 18), t3(2, 5, 9), 3, full)).toThrow(/^attention: keys\/values \[2,5,9\] do not match queries \[2,4,18\]$/);
        expect(() => packedAttentionWebGpu(t3(2, 4, 18), t3(2, 5, 18), 3, full)).toThrow(needs('attention_fwd'));
        expect(() => packedAttentionWebGpu(t3(2, 4, 18), null, 3, full)).toThrow(needs('attention_fwd'));
        // dropout + residual add: the shapes must agree
        expect(() => dropoutAddWebGpu(t2(2, 3), t2(3, 2), 0.5, 1)).toThrow(/^dropoutAdd: shapes \[2,3\] and \[3,2\] differ$/);
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// On a WebGPU adapter

interface Input {
  shape: number[];
  values: Float32Array;
}
const randn = (rng: Rng, shape: number[], scale = 1): Input => ({
  shape,
  values: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()),
});

/**
 * Worst relative difference of `op` on webgpu against `ref` on cpu: the values and the gradients of a
 * loss that weights each output entry differently, for every input.
 */
async function worstVsCpu(inputs: Input[], op: (xs: tf.Tensor[]) => tf.Tensor, ref: (xs: tf.Tensor[]) => tf.Tensor): Promise<number> {
  const run = async (f: (xs: tf.Tensor[]) => tf.Tensor) => {
    const xs = inputs.map((i) => tf.tensor(i.values, i.shape));
    const loss = (...a: tf.Tensor[]) => {
      const y = f(a);
      return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
    };
    const y = f(xs);
    const grads = tf.grads(loss)(xs);
    const out = [(await y.data()) as Float32Array, ...(await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array)))];
    tf.dispose([...xs, y, ...grads]);
    return out;
  };
  const got = await run(op);
  const want = await onCpu(() => run(ref));
  return Math.max(...want.map((w, i) => maxRelative(got[i] as Float32Array, w)));
}

/** Dispatches by op name (soundtrack_* programs and the fused Adam) while `fn` runs. */
async function dispatches(fn: () => Promise<void> | void): Promise<Record<string, number>> {
  const snap = await GpuCounter.install().measure(fn);
  return Object.fromEntries(
    Object.entries(snap.byOp)
      .filter(([op, c]) => (op.startsWith('soundtrack_') || op === 'FusedAdam') && c.dispatches > 0)
      .map(([op, c]) => [op, c.dispatches]),
  );
}

/** Forward and backward of sum(f(xs)) (all gradients read back). */
function forwardBackward(xs: tf.Tensor[], f: (...a: tf.Tensor[]) => tf.Tensor): () => Promise<void> {
  return async () => {
    const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(f(...a)))(xs);
    await Promise.all(grads.map((g) => g.data()));
    tf.dispose(grads);
  };
}

type PipelineDescriptor = Parameters<GpuDevice['createComputePipeline']>[0];
type BufferDescriptor = Parameters<GpuDevice['createBuffer']>[0];

/**
 * Run `fn` with the backend's device behind a proxy — a new key for the per-device pipeline caches
 * (webgpu-raw.ts, adam-webgpu.ts) — that records the compute pipelines and buffers made through it
 * and counts each such buffer's destroy().
 */
function spyDevice<T>(fn: () => T): {
  result: T;
  pipelines: Array<{ layout: unknown; entryPoint: string; label: string | undefined }>;
  buffers: number[];
  destroyed: () => number;
} {
  const b = webgpuInternals() as WebGpuBackendInternals;
  const real = b.device;
  const pipelines: Array<{ layout: unknown; entryPoint: string; label: string | undefined }> = [];
  const buffers: number[] = [];
  let destroyed = 0;
  b.device = new Proxy(real, {
    get(target, key) {
      if (key === 'createComputePipeline') {
        return (d: PipelineDescriptor) => {
          pipelines.push({ layout: d.layout, entryPoint: d.compute.entryPoint, label: d.label });
          return target.createComputePipeline(d);
        };
      }
      if (key === 'createBuffer') {
        return (d: BufferDescriptor) => {
          const buf = target.createBuffer(d);
          buffers.push(d.size);
          const destroy = buf.destroy.bind(buf);
          buf.destroy = () => {
            destroyed++;
            destroy();
          };
          return buf;
        };
      }
      const v: unknown = Reflect.get(target, key);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  try {
    return { result: fn(), pipelines, buffers, destroyed: () => destroyed };
  } finally {
    b.device = real;
  }
}

describe('fused WebGPU ops, exactly (on a WebGPU adapter)', () => {
  it('fusedWebGpuOps: on for webgpu, off with SOUNDTRACK_FUSED=0; webgpuInternals: the backend, or null when it lacks a field it needs', async (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    expect(fusedWebGpuOps()).toBe(true);
    await withFusedEnv('0', () => expect(fusedWebGpuOps()).toBe(false));
    await withFusedEnv('1', () => expect(fusedWebGpuOps()).toBe(true));
    expect(webgpuInternals()).toBe(tf.backend());
    // a tfjs-webgpu without one of the fields (shadowed on the instance for a moment)
    const backend = tf.backend() as unknown as Record<string, unknown>;
    for (const field of ['device', 'tensorMap', 'uploadToGPU']) {
      const own = Object.getOwnPropertyDescriptor(backend, field);
      backend[field] = undefined;
      try {
        expect(webgpuInternals(), field).toBeNull();
      } finally {
        if (own) Object.defineProperty(backend, field, own);
        else delete backend[field];
      }
    }
    expect(webgpuInternals()).toBe(tf.backend());
  });

  it('runRaw: float32 and int32 buffers, no prelude, outputs of the given shapes and dtypes', async (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    const x = tf.tensor1d([1, 2, 3, 4, 5]);
    const i = tf.tensor1d([10, 20, 30, 40, 50], 'int32');
    const [y, j] = runRaw(
      'probe_copy',
      '5',
      [
        { name: 'X', tensor: x },
        { name: 'I', tensor: i },
      ],
      [
        { name: 'Y', shape: [5, 1] },
        { name: 'J', shape: [5], dtype: 'int32' },
      ],
      threads(5),
      'if (index < 5) { Y[index] = X[index] * 2.0; J[index] = I[index] + 1; }',
    ) as [tf.Tensor, tf.Tensor];
    expect([y.dtype, y.shape]).toEqual(['float32', [5, 1]]);
    expect([j.dtype, j.shape]).toEqual(['int32', [5]]);
    expect(Array.from(await y.data())).toEqual([2, 4, 6, 8, 10]);
    expect(Array.from(await j.data())).toEqual([11, 21, 31, 41, 51]);
    tf.dispose([x, i, y, j]);
  });

  it('runRaw: one pipeline per op and key (layout auto, entry point main, labelled), cached per device', async (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    const x = tf.tensor1d([1, 2, 3]);
    const run = (key: string, factor: number) =>
      runRaw(
        'probe_cache',
        key,
        [{ name: 'X', tensor: x }],
        [{ name: 'Y', shape: [3] }],
        1,
        `if (index < 3) { Y[index] = X[index] * ${factor}.0; }`,
      )[0] as tf.Tensor;
    const spy = spyDevice(() => [run('a', 2), run('a', 2), run('b', 3)]);
    expect(spy.pipelines).toEqual([
      { layout: 'auto', entryPoint: 'main', label: 'soundtrack_probe_cache_a' },
      { layout: 'auto', entryPoint: 'main', label: 'soundtrack_probe_cache_b' },
    ]);
    const values = await Promise.all(spy.result.map(async (t) => Array.from(await t.data())));
    expect(values).toEqual([
      [2, 4, 6],
      [2, 4, 6],
      [3, 6, 9],
    ]);
    tf.dispose([x, ...spy.result]);
  });

  it('runRaw: at most 8 storage buffers (all 8 bound in order); no dispatch for 0 workgroups; counted under soundtrack_<op>', async (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    const ins = [1, 2, 3, 4].map((v, k) => ({ name: `I${k}`, tensor: tf.tensor1d([v]) }));
    const outs = [0, 1, 2, 3].map((k) => ({ name: `O${k}`, shape: [1] }));
    let got: tf.Tensor[] = [];
    const counts = await dispatches(() => {
      got = runRaw('probe_eight', 'k', ins, outs, 1, 'if (index == 0) { O0[0] = I0[0]; O1[0] = I1[0] * 2.0; O2[0] = I2[0] * 3.0; O3[0] = I3[0] * 4.0; }');
    });
    expect(counts).toEqual({ soundtrack_probe_eight: 1 });
    expect(await Promise.all(got.map(async (t) => (await t.data())[0]))).toEqual([1, 4, 9, 16]);
    const extra = tf.tensor1d([5]);
    expect(() => runRaw('probe_nine', 'k', [...ins, { name: 'I4', tensor: extra }], outs, 1, '')).toThrow(/^probe_nine: 9 storage buffers \(at most 8\)$/);
    let none: tf.Tensor[] = [];
    const noDispatch = await dispatches(() => {
      none = runRaw('probe_none', 'k', [{ name: 'X', tensor: extra }], [{ name: 'Y', shape: [4] }], 0, 'Y[0] = X[0];');
    });
    expect(noDispatch).toEqual({});
    expect(none.map((t) => t.shape)).toEqual([[4]]);
    tf.dispose([...ins.map((i) => i.tensor), ...got, extra, ...none]);
  });

  it('runRaw: more than 65 535 workgroups are split over two dispatch dimensions, every workgroup index once', async (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    const G = 65_537;
    const x = tf.tensor1d([0.5]);
    const [y] = runRaw(
      'probe_many',
      String(G),
      [{ name: 'X', tensor: x }],
      [{ name: 'Y', shape: [G] }],
      G,
      'if (li == 0 && group < G) { Y[group] = f32(group) + X[0]; }',
      `const G = ${G};`,
    ) as [tf.Tensor];
    const v = (await y.data()) as Float32Array;
    let wrong = 0;
    for (let k = 0; k < G; k++) if (v[k] !== k + 0.5) wrong++;
    expect(wrong).toBe(0);
    tf.dispose([x, y]);
  });

  it('runRaw: an output `into` an earlier output is written in place and returned as is', async (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    const x = tf.tensor1d([1, 2, 3]);
    const [first] = runRaw('probe_into', 'a', [{ name: 'X', tensor: x }], [{ name: 'Y', shape: [3] }], 1, 'if (index < 3) { Y[index] = X[index]; }') as [
      tf.Tensor,
    ];
    const [second] = runRaw(
      'probe_into',
      'b',
      [{ name: 'X', tensor: x }],
      [{ name: 'Y', shape: [3], into: first }],
      1,
      'if (index < 3) { Y[index] = X[index] + 100.0; }',
    ) as [tf.Tensor];
    expect(second).toBe(first);
    expect(Array.from(await first.data())).toEqual([101, 102, 103]);
    tf.dispose([x, first]);
  });

  it('runProgram: a float32 output, no uniforms of its own by default, counted under its shader key', async (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    let y: tf.Tensor | null = null;
    const counts = await dispatches(() => {
      y = runProgram(elementwiseProgram('probe_triple', [2, 3], ['X'], '', 'setOutputAtIndex(index, X[index] * 3.0);'), [x]);
    });
    expect(counts).toEqual({ soundtrack_probe_triple: 1 });
    const out = y as unknown as tf.Tensor;
    expect([out.dtype, out.shape]).toEqual(['float32', [2, 3]]);
    expect(Array.from(await out.data())).toEqual([3, 6, 9, 12, 15, 18]);
    tf.dispose([x, out]);
  });

  /** A tensor of N(0, 1) values from a fixed stream. */
  const normal =
    (rng: Rng) =>
    (...shape: number[]) => {
      const i = randn(rng, shape);
      return tf.tensor(i.values, i.shape);
    };
  /** Each case: forward and backward of one fused op (by name), the programs it dispatches, and whether SOUNDTRACK_FUSED=0 turns them all off. */
  const CASES: Array<{
    name: string;
    runs: Array<{ what: string; fn: (r: (...shape: number[]) => tf.Tensor) => () => Promise<void>; want: Record<string, number>; off?: boolean }>;
  }> = [
    {
      name: 'dense layer (linearWebGpu; linear in ops/matmul.ts)',
      runs: [
        {
          what: 'linearWebGpu',
          fn: (r) => forwardBackward([r(7, 3), r(3, 4), r(4)], (a, c, d) => linearWebGpu(a as tf.Tensor2D, c as tf.Tensor2D, d as tf.Tensor1D)),
          want: { soundtrack_column_sum: 1 },
        },
        {
          what: 'linear',
          fn: (r) => forwardBackward([r(7, 3), r(3, 4), r(4)], (a, c, d) => linear(a as tf.Tensor2D, c as tf.Tensor2D, d as tf.Tensor1D)),
          want: { soundtrack_column_sum: 1 },
          off: true,
        },
      ],
    },
    {
      name: 'layer norm (layerNormWebGpu; layerNorm of a 3-D input)',
      runs: [
        {
          what: 'layerNormWebGpu',
          fn: (r) => forwardBackward([r(7, 3), r(3), r(3)], (a, c, d) => layerNormWebGpu(a as tf.Tensor2D, c as tf.Tensor1D, d as tf.Tensor1D)),
          want: { soundtrack_layernorm_fwd: 1, soundtrack_layernorm_dx: 1, soundtrack_layernorm_dparams: 1 },
        },
        {
          what: 'layerNorm',
          fn: (r) => forwardBackward([r(2, 4, 3), r(3), r(3)], (a, c, d) => layerNorm(a as tf.Tensor3D, c as tf.Tensor1D, d as tf.Tensor1D)),
          want: { soundtrack_layernorm_fwd: 1, soundtrack_layernorm_dx: 1, soundtrack_layernorm_dparams: 1 },
          off: true,
        },
      ],
    },
    {
      name: 'dropout (with and without the residual add)',
      runs: [
        {
          what: 'x + dropout(s)',
          fn: (r) => forwardBackward([r(7, 3), r(7, 3)], (a, c) => dropoutAddWebGpu(a as tf.Tensor, c as tf.Tensor, 0.3, 5)),
          want: { soundtrack_dropout_add_fwd: 1, soundtrack_dropout_bwd: 1 },
        },
        {
          what: 'dropout(s)',
          fn: (r) => forwardBackward([r(7, 3)], (c) => dropoutAddWebGpu(null, c as tf.Tensor, 0.3, 5)),
          want: { soundtrack_dropout_fwd: 1, soundtrack_dropout_bwd: 1 },
        },
      ],
    },
    {
      name: 'feed-forward (dropout 0.25, 0 and none)',
      runs: ([{ rate: 0.25, seed: 7 }, { rate: 0, seed: 7 }, null] as const).map((dropout) => ({
        what: `dropout ${JSON.stringify(dropout)}`,
        fn: (r: (...shape: number[]) => tf.Tensor) =>
          forwardBackward([r(7, 3), r(3, 5), r(5), r(5, 3), r(3)], (a, w1, b1, w2, b2) =>
            feedForward(a as tf.Tensor2D, { w1: w1 as tf.Tensor2D, b1: b1 as tf.Tensor1D, w2: w2 as tf.Tensor2D, b2: b2 as tf.Tensor1D }, dropout),
          ),
        // ReLU + dropout in one program only when there is dropout; the gradient's mask and both bias gradients always
        want: { ...(dropout?.rate ? { soundtrack_relu_dropout_fwd: 1 } : {}), soundtrack_relu_mask: 1, soundtrack_column_sum: 2 },
        off: true,
      })),
    },
    {
      name: 'conv1d',
      runs: [
        {
          what: 'padding 1',
          fn: (r) =>
            forwardBackward([r(2, 9, 3), r(3, 3, 4), r(4)], (a, c, d) => conv1dWebGpu(a as tf.Tensor3D, c as tf.Tensor3D, d as tf.Tensor1D, { padding: 1 })),
          want: { soundtrack_conv1d_fwd: 1, soundtrack_conv1d_dx: 1, soundtrack_conv1d_dw: 1, soundtrack_conv1d_db: 1 },
        },
      ],
    },
    {
      name: 'transposed conv1d',
      runs: [
        {
          what: 'k4 s2 p1',
          fn: (r) =>
            forwardBackward([r(2, 5, 3), r(4, 3, 2), r(2)], (a, c, d) =>
              convTranspose1dWebGpu(a as tf.Tensor3D, c as tf.Tensor3D, d as tf.Tensor1D, { stride: 2, padding: 1 }),
            ),
          want: { soundtrack_convT1d_fwd: 1, soundtrack_convT1d_dx: 1, soundtrack_convT1d_dw: 1 },
        },
      ],
    },
    {
      name: 'residual layer',
      runs: [
        {
          what: 'k3 d1',
          fn: (r) =>
            forwardBackward([r(2, 7, 4), r(3, 4, 5), r(5), r(1, 5, 4), r(4)], (a, w1, b1, w2, b2) =>
              residualLayerWebGpu(a as tf.Tensor3D, { w1: w1 as tf.Tensor3D, b1: b1 as tf.Tensor1D, w2: w2 as tf.Tensor3D, b2: b2 as tf.Tensor1D }, 1, 1),
            ),
          want: { soundtrack_residual_fwd: 1, soundtrack_residual_dh: 1, soundtrack_residual_dx: 1, soundtrack_residual_dw: 1 },
        },
      ],
    },
    {
      name: 'attention (self, cross)',
      runs: [
        {
          what: 'self, causal',
          fn: (r) => forwardBackward([r(2, 5, 18)], (a) => packedAttentionWebGpu(a as tf.Tensor3D, null, 3, { causal: true })),
          want: { soundtrack_attention_fwd: 1, soundtrack_attention_dq: 1, soundtrack_attention_dkv: 1 },
        },
        {
          what: 'cross, full',
          fn: (r) => forwardBackward([r(2, 5, 18), r(2, 6, 18)], (a, kv) => packedAttentionWebGpu(a as tf.Tensor3D, kv as tf.Tensor3D, 3, { causal: false })),
          want: { soundtrack_attention_fwd: 1, soundtrack_attention_dq: 1, soundtrack_attention_dkv: 1 },
        },
      ],
    },
    {
      name: 'vector quantisation',
      runs: [
        {
          what: 'quantizeWebGpu',
          fn: (r) =>
            forwardBackward([r(9, 4), r(5, 4)], (z, e) => {
              const q = quantizeWebGpu(z as tf.Tensor2D, e as tf.Tensor2D);
              q.ids.dispose();
              return tf.addN([tf.sum(q.quantized), q.commitLoss, q.codebookLoss]);
            }),
          want: { soundtrack_vq_nearest: 1, soundtrack_vq_loss: 1, soundtrack_vq_dcommit: 1, soundtrack_vq_dcodebook: 1 },
        },
      ],
    },
  ];
  for (const c of CASES) {
    it(`programs dispatched, forward and backward, by name: ${c.name}`, async (ctx) => {
      if (!gpu.info) {
        ctx.skip(gpu.skipMessage());
        return;
      }
      const before = tf.memory().numTensors;
      for (const run of c.runs) {
        const inputs: tf.Tensor[] = [];
        const r = (...shape: number[]) => {
          const t = normal(new Rng(inputs.length + 3))(...shape);
          inputs.push(t);
          return t;
        };
        const fn = run.fn(r);
        expect(await dispatches(fn), run.what).toEqual(run.want);
        if (run.off) expect(await withFusedEnv('0', () => dispatches(fn)), `${run.what}, SOUNDTRACK_FUSED=0`).toEqual({});
        tf.dispose(inputs);
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('conv1d: the defaults (stride 1, dilation 1, padding 0, no input ReLU) and no bias equal conv1dReference; nothing left behind', async (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    const rng = new Rng(11);
    const before = tf.memory().numTensors;
    const worst = await worstVsCpu(
      [randn(rng, [2, 9, 3]), randn(rng, [3, 3, 4], 0.5)],
      ([x, w]) => conv1dWebGpu(x as tf.Tensor3D, w as tf.Tensor3D, null),
      ([x, w]) => conv1dReference(x as tf.Tensor3D, w as tf.Tensor3D, null),
    );
    expect(worst).toBeLessThan(1e-3);
    const x = tf.tensor3d(randn(rng, [1, 6, 3]).values, [1, 6, 3]);
    const w = tf.tensor3d(randn(rng, [2, 3, 2]).values, [2, 3, 2]);
    const mid = tf.memory().numTensors;
    const y = conv1dWebGpu(x, w, null, {});
    expect(tf.memory().numTensors - mid).toBe(1); // y only: the zero bias made for the call is freed
    // a bias the caller gives stays the caller's (only the zero bias made for the call is freed)
    const bias = tf.tensor1d([0.5, -0.5]);
    const yb = conv1dWebGpu(x, w, bias);
    expect(bias.isDisposed).toBe(false);
    tf.dispose([x, w, y, bias, yb]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('layer norm: two shapes and two ε in turn (each program compiled for its own sizes) equal layerNormReference', async (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    const rng = new Rng(12);
    for (const [rows, d, eps] of [
      [3, 5, 1e-5],
      [5, 3, 1e-5],
      [3, 5, 0.5],
    ] as const) {
      const worst = await worstVsCpu(
        [randn(rng, [rows, d], 2), randn(rng, [d]), randn(rng, [d])],
        ([x, g, b]) => layerNormWebGpu(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, eps),
        ([x, g, b]) => layerNormReference(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, eps),
      );
      expect(worst, `[${rows}, ${d}] ε ${eps}`).toBeLessThan(1e-3);
    }
  });

  // Cache keys: the programs of webgpu-raw.ts bake their sizes in and are cached under the sizes joined
  // with '_'; two shapes whose sizes written without separators are the same digits must not share one.
  it('cache keys: attention of 1 × 12 and 11 × 2 queries × keys (dims B H DH TQ TK … read "…112…" both) equal attentionReference', async (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    const rng = new Rng(13);
    const [H, DH] = [3, 2];
    const DM = H * DH;
    const mask = { causal: false, window: null, queryLength: 5 };
    const heads = (x: tf.Tensor, from: number) => {
      const [b, t] = x.shape as [number, number, number];
      return tf.reshape(tf.transpose(tf.reshape(tf.slice(x, [0, 0, from], [b, t, DM]), [b, t, H, DH]), [0, 2, 1, 3]), [b * H, t, DH]) as tf.Tensor3D;
    };
    for (const [tq, tk] of [
      [1, 12],
      [11, 2],
    ] as const) {
      const worst = await worstVsCpu(
        [randn(rng, [1, tq, 3 * DM]), randn(rng, [1, tk, 3 * DM])],
        ([a, kv]) => packedAttentionWebGpu(a as tf.Tensor3D, kv as tf.Tensor3D, H, mask),
        ([a, kv]) => {
          const o = attentionReference(heads(a as tf.Tensor, 0), heads(kv as tf.Tensor, DM), heads(kv as tf.Tensor, 2 * DM), mask);
          return tf.reshape(tf.transpose(tf.reshape(o, [1, H, tq, DH]), [0, 2, 1, 3]), [1, tq, DM]);
        },
      );
      expect(worst, `attention ${tq} × ${tk}`).toBeLessThan(1e-3);
    }
  });

  it('cache keys: transposed conv of length 1 × 23 channels and 12 × 3 (dims B L CI …) equal convTranspose1dReference', async (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    const rng = new Rng(14);
    for (const [L, CI] of [
      [1, 23],
      [12, 3],
    ] as const) {
      const worst = await worstVsCpu(
        [randn(rng, [1, L, CI]), randn(rng, [4, CI, 2], 0.5), randn(rng, [2])],
        ([x, w, b]) => convTranspose1dWebGpu(x as tf.Tensor3D, w as tf.Tensor3D, b as tf.Tensor1D, { stride: 2, padding: 1 }),
        ([x, w, b]) => convTranspose1dReference(x as tf.Tensor3D, w as tf.Tensor3D, b as tf.Tensor1D, { stride: 2, padding: 1 }),
      );
      expect(worst, `transposed conv L ${L}, ${CI} channels`).toBeLessThan(1e-3);
    }
  });

  it('cache keys: residual layers of length 1 × 23 channels and 12 × 3 (dims B T C …) equal residualLayerReference', async (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    const rng = new Rng(15);
    for (const [T, C] of [
      [1, 23],
      [12, 3],
    ] as const) {
      const worst = await worstVsCpu(
        [randn(rng, [1, T, C]), randn(rng, [3, C, 2], 0.5), randn(rng, [2], 0.3), randn(rng, [1, 2, C], 0.5), randn(rng, [C], 0.3)],
        (a) => {
          const [x, w1, b1, w2, b2] = a as [tf.Tensor3D, tf.Tensor3D, tf.Tensor1D, tf.Tensor3D, tf.Tensor1D];
          return residualLayerWebGpu(x, { w1, b1, w2, b2 }, 1, 1);
        },
        (a) => {
          const [x, w1, b1, w2, b2] = a as [tf.Tensor3D, tf.Tensor3D, tf.Tensor1D, tf.Tensor3D, tf.Tensor1D];
          return residualLayerReference(x, { w1, b1, w2, b2 }, 1, 1);
        },
      );
      expect(worst, `residual T ${T}, ${C} channels`).toBeLessThan(1e-3);
    }
  });

  it('vector quantisation: two shapes in turn (each compiled for its own sizes): the nearest codes, their rows and both loss values worked out in JS; no tensor left behind', async (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    const rng = new Rng(16);
    for (const [N, D, K] of [
      [7, 3, 5],
      [4, 2, 6],
    ] as const) {
      const z = randn(rng, [N, D]).values;
      const e = randn(rng, [K, D]).values;
      const ids: number[] = [];
      const rows: number[] = [];
      let err = 0;
      for (let i = 0; i < N; i++) {
        let best = 0;
        let bestD = Infinity;
        for (let k = 0; k < K; k++) {
          let s = 0;
          for (let c = 0; c < D; c++) s += ((z[i * D + c] as number) - (e[k * D + c] as number)) ** 2;
          if (s < bestD) [best, bestD] = [k, s];
        }
        ids.push(best);
        err += bestD;
        for (let c = 0; c < D; c++) rows.push(e[best * D + c] as number);
      }
      const zt = tf.tensor2d(z, [N, D]);
      const et = tf.tensor2d(e, [K, D]);
      const before = tf.memory().numTensors;
      const q = quantizeWebGpu(zt, et);
      const outs = [q.ids, q.quantized, q.commitLoss, q.codebookLoss];
      expect(Array.from(await q.ids.data()), `[${N}, ${D}] × ${K}`).toEqual(ids);
      expect(Array.from(await q.quantized.data())).toEqual(Array.from(Float32Array.from(rows)));
      expect((await q.commitLoss.data())[0]).toBeCloseTo(err / (N * D), 5);
      expect((await q.codebookLoss.data())[0]).toBeCloseTo(err / (N * D), 5);
      tf.dispose(outs);
      expect(tf.memory().numTensors - before).toBe(LEFT_BY_QUANTIZE);
      tf.dispose([zt, et]);
    }
  });
});

describe('fused Adam on WebGPU, exactly (on a WebGPU adapter)', () => {
  const LAYOUT = [
    { name: 'a', shape: [2, 3] },
    { name: 'z', shape: [0] },
    { name: 'b', shape: [4] },
  ];
  const HYPER: FusedAdamHyper = { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, step: 1, maxNorm: 0 };

  it('two pipelines per device (norm, update: layout auto, entry point main, labelled), compiled once; six buffers, all destroyed by dispose()', (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    const spy = spyDevice(() => [new FusedAdamWebGpu(LAYOUT), new FusedAdamWebGpu(LAYOUT)]);
    expect(spy.pipelines).toEqual([
      { layout: 'auto', entryPoint: 'main', label: 'soundtrack-adam-norm' },
      { layout: 'auto', entryPoint: 'main', label: 'soundtrack-adam' },
    ]);
    // per instance: p, g, m, v (10 floats each), the norm, the 48-byte uniforms
    expect(spy.buffers).toEqual([40, 40, 40, 40, 4, 48, 40, 40, 40, 40, 4, 48]);
    expect(spy.result[0]?.total).toBe(10);
    spy.result[0]?.dispose();
    expect(spy.destroyed()).toBe(6);
    spy.result[1]?.dispose();
    expect(spy.destroyed()).toBe(12);
  });

  it('matches: the same names and shapes in the same order, nothing else', (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    const f = new FusedAdamWebGpu(LAYOUT);
    expect(f.matches(LAYOUT.map((p) => ({ name: p.name, shape: [...p.shape] })))).toBe(true);
    const [a, z, b] = LAYOUT as [(typeof LAYOUT)[0], (typeof LAYOUT)[0], (typeof LAYOUT)[0]];
    for (const other of [
      [a, z],
      [a, z, b, { name: 'c', shape: [1] }],
      [a, z, { name: 'c', shape: [4] }],
      [a, z, { name: 'b', shape: [2, 2] }],
      [{ name: 'a', shape: [3, 2] }, z, b],
      [b, z, a],
    ]) {
      expect(f.matches(other), JSON.stringify(other)).toBe(false);
    }
    f.dispose();
  });

  it('loadState / exportState: moments round trip by name (a missing name is zeros), a later load starts from zeros; loading is counted as FusedAdam', async (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    const f = new FusedAdamWebGpu(LAYOUT);
    const ma = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const mb = tf.tensor1d([7, 8, 9, 10]);
    const va = tf.tensor2d([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [2, 3]);
    const vb = tf.tensor1d([0.7, 0.8, 0.9, 1.5]); // after a (6) and z (0): offset 6, where a wrong byte offset would land elsewhere
    const load = await GpuCounter.install().measure(() =>
      f.loadState(
        new Map([
          ['a', ma],
          ['z', tf.zeros([0])],
          ['b', mb],
        ]),
        new Map<string, tf.Tensor>([
          ['a', va],
          ['b', vb],
        ]),
      ),
    );
    // counted as the fused Adam's: the two uploads of zeros (m, v) before the copies; no dispatch
    expect([load.byOp['FusedAdam']?.writes, load.byOp['FusedAdam']?.dispatches]).toEqual([2, 0]);
    const read = async (m: Map<string, tf.Tensor>) =>
      Object.fromEntries(await Promise.all([...m].map(async ([k, t]) => [k, { shape: t.shape, values: Array.from(await t.data()) }] as const)));
    const s1 = f.exportState();
    expect(await read(s1.m)).toEqual({
      a: { shape: [2, 3], values: [1, 2, 3, 4, 5, 6] },
      z: { shape: [0], values: [] },
      b: { shape: [4], values: [7, 8, 9, 10] },
    });
    const v1 = await read(s1.v);
    expect(v1['z']).toEqual({ shape: [0], values: [] });
    expect(maxRelative(Float32Array.from(v1['b']?.values ?? []), Float32Array.from([0.7, 0.8, 0.9, 1.5]))).toBe(0);
    expect(maxRelative(Float32Array.from(v1['a']?.values ?? []), Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]))).toBe(0);
    f.loadState(new Map(), new Map());
    const s2 = f.exportState();
    expect(await read(s2.m)).toEqual({
      a: { shape: [2, 3], values: [0, 0, 0, 0, 0, 0] },
      z: { shape: [0], values: [] },
      b: { shape: [4], values: [0, 0, 0, 0] },
    });
    tf.dispose([ma, mb, va, vb, ...s1.m.values(), ...s1.v.values(), ...s2.m.values(), ...s2.v.values()]);
    f.dispose();
  });

  it('step: two dispatches (norm, update) for all parameters; a missing parameter or gradient is named', async (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    const f = new FusedAdamWebGpu([{ name: 'a', shape: [3] }]);
    const va = tf.variable(tf.tensor1d([1, 2, 3]), true, `adam_exact_${Math.random()}`);
    const ga = tf.tensor1d([3, 0, -4]);
    let norm: tf.Scalar | null = null;
    const counts = await dispatches(() => {
      norm = f.step(new Map([['a', va]]), new Map([['a', ga]]), HYPER);
    });
    expect(counts).toEqual({ FusedAdam: 2 });
    const n = norm as unknown as tf.Scalar;
    expect((await n.data())[0]).toBeCloseTo(5, 5);
    // first Adam step: m̂ = g, v̂ = g², update = lr · g / (|g| + ε) = ±0.1 (0 where g = 0)
    const after = Array.from(await va.data());
    [0.9, 2, 3.1].forEach((want, i) => expect(after[i]).toBeCloseTo(want, 5));
    expect(() => f.step(new Map(), new Map([['a', ga]]), HYPER)).toThrow(/^FusedAdam: no parameter a$/);
    expect(() => f.step(new Map([['a', va]]), new Map(), HYPER)).toThrow(/^FusedAdam: no gradient for a$/);
    tf.dispose([va, ga, n]);
    f.dispose();
  });

  it('step over 65 536 parameters (256 workgroups: one row of the dispatch) and an empty one; a step over no parameters dispatches only the norm', async (ctx) => {
    if (!gpu.info) {
      ctx.skip(gpu.skipMessage());
      return;
    }
    const n = 65_536;
    const f = new FusedAdamWebGpu([
      { name: 'big', shape: [n] },
      { name: 'z', shape: [0] },
    ]);
    const vars = new Map([
      ['big', tf.variable(tf.zeros([n]), true, `adam_big_${Math.random()}`)],
      ['z', tf.variable(tf.zeros([0]), true, `adam_empty_${Math.random()}`)],
    ]);
    const grads = new Map([
      ['big', tf.tensor1d(Float32Array.from({ length: n }, (_, i) => (i % 2 === 0 ? -1 : 1)))],
      ['z', tf.zeros([0])],
    ]);
    const norm = f.step(vars, grads, HYPER);
    expect((await norm.data())[0]).toBeCloseTo(256, 3);
    // first step, no clipping: p − lr · g / (|g| + ε) = ±0.1 for every entry
    const p = (await (vars.get('big') as tf.Variable).data()) as Float32Array;
    let wrong = 0;
    for (let i = 0; i < n; i++) if (Math.abs((p[i] as number) - (i % 2 === 0 ? 0.1 : -0.1)) > 1e-6) wrong++;
    expect(wrong).toBe(0);
    expect((vars.get('z') as tf.Variable).shape).toEqual([0]);
    tf.dispose([norm, ...vars.values(), ...grads.values()]);
    f.dispose();

    const none = new FusedAdamWebGpu([]);
    expect(none.total).toBe(0);
    let zero: tf.Scalar | null = null;
    expect(
      await dispatches(() => {
        zero = none.step(new Map(), new Map(), HYPER);
      }),
    ).toEqual({ FusedAdam: 1 });
    const z0 = zero as unknown as tf.Scalar;
    expect((await z0.data())[0]).toBe(0);
    z0.dispose();
    none.dispose();
  });
});
