/**
 * The wasm Slice/Unpack/SplitV replacements (src/backend/wasm-kernels.ts) give exactly what the cpu
 * backend gives, for every rank, strided and contiguous cases, int32 and bool, and through gradients.
 *
 * Upstream reproduction (tfjs-backend-wasm 4.22): kernels/Slice.ts reads its input with
 * `backend.readSync(x.dataId)`, which copies the whole tensor out of the heap before slicing, so
 * `tf.slice(x, [1, 0, 0], [1, 256, 901])` of a [4, 256, 901] tensor costs as much as copying all of
 * x (3.4 ms vs 0.13 ms here); `readSync(dataId, start, end)` or a heap view avoids it.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index';

type Case = { shape: number[]; begin: number[]; size: number[] };
const cases: Case[] = [
  { shape: [7], begin: [2], size: [4] },
  { shape: [5, 6], begin: [1, 0], size: [3, 6] },
  { shape: [5, 6], begin: [1, 2], size: [3, 3] },
  { shape: [4, 5, 6], begin: [1, 0, 0], size: [1, 5, 6] },
  { shape: [4, 5, 6], begin: [0, 2, 0], size: [4, 2, 6] },
  { shape: [4, 5, 6], begin: [1, 1, 3], size: [2, 3, 2] },
  { shape: [3, 4, 5, 6], begin: [0, 1, 0, 2], size: [3, 2, 5, 3] },
  { shape: [2, 3, 4, 5, 6], begin: [1, 0, 2, 1, 0], size: [1, 3, 2, 4, 6] },
  { shape: [4, 5, 6], begin: [1, 1, 1], size: [0, 3, 2] },
];

function compute() {
  return tf.tidy(() => {
    const out: number[][] = [];
    for (const c of cases) {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const x = tf.tensor(
        Array.from({ length: n }, (_, i) => i * 0.5 - 3),
        c.shape,
      );
      out.push(Array.from(tf.slice(x, c.begin, c.size).dataSync()));
      out.push(Array.from(tf.slice(tf.cast(x, 'int32'), c.begin, c.size).dataSync()));
      out.push(Array.from(tf.slice(tf.greater(x, 0), c.begin, c.size).dataSync()));
      // gradient of a slice is a pad: flows back through the replacement's registration
      out.push(
        Array.from(
          tf
            .grad((t: tf.Tensor) => tf.sum(tf.square(tf.slice(t, c.begin, c.size))))(x)
            .dataSync(),
        ),
      );
    }
    const y = tf.tensor3d(
      Array.from({ length: 60 }, (_, i) => i),
      [3, 4, 5],
    );
    for (const axis of [0, 1, 2]) for (const t of tf.unstack(y, axis)) out.push(Array.from(t.dataSync()));
    for (const t of tf.split(y, [1, 3], 1)) out.push(Array.from(t.dataSync()));
    for (const t of tf.split(y, 5, 2)) out.push(Array.from(t.dataSync()));
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.concat([t, tf.mul(t, 2)], 1), tf.range(0, 120).reshape([3, 8, 5]))))(y);
    out.push(Array.from(g.dataSync()));
    return out;
  });
}

describe('wasm kernel replacements', () => {
  afterAll(async () => {
    await initBackend({ backend: 'cpu' });
  });
  it('slice, unstack, split and their gradients equal the cpu backend', async () => {
    await initBackend({ backend: 'cpu' });
    const ref = compute();
    await initBackend({ backend: 'wasm' });
    const ours = compute();
    expect(ours.length).toBe(ref.length);
    ours.forEach((v, i) => expect(v, `output ${i}`).toEqual(ref[i]));
    expect(tf.getKernel('Slice', 'wasm')?.kernelFunc.toString()).not.toMatch(/readSync/);
  });
});
