/**
 * What the WebGPU test files (gpu-parity, gpu-kernels) share: switching to webgpu before their tests
 * (or printing why no adapter started) and back after, running a reference on cpu, and the relative
 * error their comparisons use.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll } from 'vitest';
import { initBackend, quietCpuAdvert, type BackendInfo } from '../src/backend/index';

export interface WebGpuState {
  /** The webgpu backend once beforeAll ran; null when no adapter started. */
  info: BackendInfo | null;
  /** Why no adapter started ('' when one did). */
  reason: string;
  /** The skip message of a test that needs the adapter. */
  skipMessage: () => string;
}

/**
 * Register the file's beforeAll (switch to webgpu; without an adapter, `prefix: … reason` on stderr)
 * and afterAll (restore the backend found before, for the files that run after this one in the same
 * worker: vitest.mutation.config.ts has isolate false).
 */
export function useWebGpu(prefix: string): WebGpuState {
  const state: WebGpuState = {
    info: null,
    reason: '',
    skipMessage: () => `WebGPU cannot start on this machine (no adapter): ${state.reason}`,
  };
  let previous = '';
  beforeAll(async () => {
    previous = tf.getBackend();
    try {
      state.info = await initBackend({ backend: 'webgpu' });
    } catch (e) {
      state.reason = (e as Error).message;
      process.stderr.write(`${prefix} — no WebGPU adapter: ${state.reason}\n`);
    }
  }, 120_000);
  afterAll(async () => {
    if (previous && tf.getBackend() !== previous) await tf.setBackend(previous);
  });
  return state;
}

/** Run `fn` on the cpu backend, then switch back to the one in use. */
export async function onCpu<T>(fn: () => Promise<T> | T): Promise<T> {
  const here = tf.getBackend();
  await tf.setBackend('cpu');
  quietCpuAdvert();
  try {
    return await fn();
  } finally {
    await tf.setBackend(here);
  }
}

/** Worst |a − b| / (|b| + 1e-3) over the elements; Infinity for a NaN or for arrays of different lengths. */
export function maxRelative(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    const r = Math.abs((a[i] as number) - (b[i] as number)) / (Math.abs(b[i] as number) + 1e-3);
    worst = Number.isNaN(r) ? Infinity : Math.max(worst, r);
  }
  return worst;
}
