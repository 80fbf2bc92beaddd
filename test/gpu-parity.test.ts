/**
 * Gradient parity on a WebGPU adapter: a tiny codec's and a tiny prior's gradients against the cpu
 * backend's, and every fused WebGPU op (src/ops/*-webgpu.ts) against its reference on the cpu
 * backend. Runs on whatever adapter Dawn finds — a GPU, or Mesa llvmpipe through Dawn's OpenGL ES
 * backend on CPU machines (apt-get install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri; .ci/run does).
 * Skipped, with the reason printed, only when no WebGPU adapter can start.
 * `npm run test:gpu-parity` runs this file alone.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, quietCpuAdvert, type BackendInfo } from '../src/backend/index';
import { Adam } from '../src/train/adam';
import { checkGradientParity } from '../src/train/parity';
import { Rng } from '../src/util/rng';

let info: BackendInfo | null = null;
let reason = '';

beforeAll(async () => {
  try {
    info = await initBackend({ backend: 'webgpu' });
  } catch (e) {
    reason = (e as Error).message;
    process.stderr.write(`gpu-parity: skipped — no WebGPU adapter: ${reason}\n`);
  }
}, 120_000);

/** Run `fn` on the cpu backend, then switch back to the one in use. */
async function onCpu<T>(fn: () => Promise<T>): Promise<T> {
  const here = tf.getBackend();
  await tf.setBackend('cpu');
  quietCpuAdvert();
  try {
    return await fn();
  } finally {
    await tf.setBackend(here);
  }
}

function maxRelative(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    const r = Math.abs((a[i] as number) - (b[i] as number)) / (Math.abs(b[i] as number) + 1e-3);
    worst = Number.isNaN(r) ? Infinity : Math.max(worst, r);
  }
  return worst;
}

describe('WebGPU gradient parity (webgpu vs cpu)', () => {
  for (const which of ['codec', 'prior'] as const) {
    it(`${which}: gradients agree with the cpu backend`, async (ctx) => {
      if (!info) {
        ctx.skip(); // no WebGPU adapter on this machine (reason on stderr)
        return;
      }
      const r = await checkGradientParity(which);
      expect(r.backend).toBe('webgpu');
      expect(r.maxRelative, `${which} on ${info.device}: worst ${r.worst}`).toBeLessThan(1e-2);
    });
  }
  it('reports why when WebGPU cannot start', () => {
    if (info) expect(info.adapter).toBeDefined();
    else expect(reason).toMatch(/webgpu/i);
  });
});

describe('fused WebGPU ops vs their references on cpu', () => {
  const SHAPES: number[][] = [[3, 5, 7], [7], [300, 11], [1], [64, 65]];

  /** Three clipped Adam steps over a few parameters (the 2nd step clips); values, moments and norms. */
  async function adamRun(fused: boolean, weightDecay: number) {
    const rng = new Rng(9);
    const rand = (shape: number[], scale: number) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()), shape);
    const vars = new Map(SHAPES.map((s, i) => [`p${i}`, tf.variable(rand(s, 1), true, `adam_parity_${fused}_${i}_${Math.random()}`)]));
    const adam = new Adam({ weightDecay }, fused ? 'auto' : 'off');
    expect(adam.usesFused()).toBe(fused);
    const norms: number[] = [];
    for (const [lr, maxNorm, scale] of [[1e-2, 1e3, 1], [3e-2, 0.5, 3], [1e-3, 0, 0.1]] as const) {
      const grads = new Map(SHAPES.map((s, i) => [`p${i}`, rand(s, scale)]));
      const norm = await adam.clipAndApply(vars, grads, lr, maxNorm);
      norms.push(((await norm.data()) as Float32Array)[0] as number);
      tf.dispose([norm, ...grads.values()]);
    }
    const state = adam.getState();
    const read = async (m: Map<string, tf.Tensor>) => Promise.all([...m.keys()].sort().map(async (k) => (await (m.get(k) as tf.Tensor).data()) as Float32Array));
    const out = { params: await read(vars), m: await read(state.m), v: await read(state.v), norms, step: adam.step };
    adam.dispose();
    tf.dispose([...vars.values()]);
    return out;
  }

  for (const weightDecay of [0, 0.01]) {
    it(`Adam: clip + update over all parameters in 2 dispatches equals the reference (weight decay ${weightDecay})`, async (ctx) => {
      if (!info) {
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
});
