import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index';
import { conv1d, conv1dReference, convTranspose1d, convTranspose1dReference, reverseTaps } from '../src/ops/conv1d';
import { lookupRows, segmentSum, stopGradient, straightThrough } from '../src/ops/gradient';
import { Rng } from '../src/util/rng';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

function rand(shape: number[], seed: number): tf.Tensor {
  const r = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => r.range(-1, 1)),
    shape,
  );
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

/** Central finite differences of a scalar function with respect to a few entries of one input (float64 in JS). */
function finiteDiff(f: (xs: tf.Tensor[]) => tf.Scalar, inputs: tf.Tensor[], which: number, entries: number[], eps = 1e-2): number[] {
  const base = Float32Array.from(inputs[which]!.dataSync());
  return entries.map((e) => {
    const plus = base.slice();
    plus[e]! += eps;
    const minus = base.slice();
    minus[e]! -= eps;
    const at = (vals: Float32Array) =>
      tf.tidy(() => {
        const xs = inputs.map((t, i) => (i === which ? tf.tensor(vals, t.shape) : t));
        return f(xs).dataSync()[0] as number;
      });
    return (at(plus) - at(minus)) / (2 * eps);
  });
}

describe('conv1d from matMul (im2col)', () => {
  const cases = [
    { stride: 1, dilation: 1, padding: 1, kernel: 3 },
    { stride: 2, dilation: 1, padding: 1, kernel: 4 },
    { stride: 1, dilation: 6, padding: 6, kernel: 3 },
    { stride: 1, dilation: 27, padding: 27, kernel: 3 },
    { stride: 1, dilation: 1, padding: 0, kernel: 1 },
    { stride: 3, dilation: 2, padding: 2, kernel: 3 },
  ];
  for (const c of cases) {
    it(`matches tf.conv1d forward (kernel ${c.kernel}, stride ${c.stride}, dilation ${c.dilation}, padding ${c.padding})`, () => {
      tf.tidy(() => {
        const x = rand([2, 61, 3], 1) as tf.Tensor3D;
        const w = rand([c.kernel, 3, 4], 2) as tf.Tensor3D;
        const b = rand([4], 3) as tf.Tensor1D;
        const ours = conv1d(x, w, b, c);
        // reference: tf.conv1d with explicit zero padding (it supports dilation in the forward pass)
        const xp = tf.pad(x, [
          [0, 0],
          [c.padding, c.padding],
          [0, 0],
        ]);
        // (tf.conv1d refuses stride and dilation together: dilate with stride 1, then subsample)
        const dense = tf.conv1d(xp, w, 1, 'valid', 'NWC', c.dilation);
        const n = Math.floor((dense.shape[1] - 1) / c.stride) + 1;
        const sub = tf.stridedSlice(dense, [0, 0, 0], [2, (n - 1) * c.stride + 1, 4], [1, c.stride, 1]);
        const ref = tf.add(sub, b);
        expect(ours.shape).toEqual(ref.shape);
        expect(maxAbsDiff(ours, ref)).toBeLessThan(1e-5);
      });
    });
  }

  it('gradients match tf.conv1d where tfjs has them (stride 2)', () => {
    tf.tidy(() => {
      const x = rand([2, 32, 3], 4);
      const w = rand([4, 3, 5], 5);
      const target = rand([2, 16, 5], 6);
      const loss = (f: (x: tf.Tensor3D, w: tf.Tensor3D) => tf.Tensor3D) => (xx: tf.Tensor, ww: tf.Tensor) =>
        tf.mean(tf.square(tf.sub(f(xx as tf.Tensor3D, ww as tf.Tensor3D), target))) as tf.Scalar;
      const ours = tf.grads(loss((a, b) => conv1d(a, b, null, { stride: 2, padding: 1 })))([x, w]);
      const ref = tf.grads(
        loss((a, b) =>
          tf.conv1d(
            tf.pad(a, [
              [0, 0],
              [1, 1],
              [0, 0],
            ]),
            b,
            2,
            'valid',
          ),
        ),
      )([x, w]);
      expect(maxAbsDiff(ours[0]!, ref[0]!)).toBeLessThan(1e-5);
      expect(maxAbsDiff(ours[1]!, ref[1]!)).toBeLessThan(1e-5);
    });
  });

  it('dilated conv gradients (which tfjs lacks) agree with finite differences', () => {
    tf.tidy(() => {
      const x = rand([1, 40, 2], 7);
      const w = rand([3, 2, 3], 8);
      const f = (xs: tf.Tensor[]) => tf.sum(tf.sin(conv1d(xs[0] as tf.Tensor3D, xs[1] as tf.Tensor3D, null, { dilation: 9, padding: 9 }))) as tf.Scalar;
      const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => f([a, b]))([x, w]);
      const ex = [0, 5, 17, 40, 79];
      const ew = [0, 4, 9, 17];
      const fdx = finiteDiff(f, [x, w], 0, ex);
      const fdw = finiteDiff(f, [x, w], 1, ew);
      ex.forEach((e, i) => expect(gx!.dataSync()[e]).toBeCloseTo(fdx[i]!, 2));
      ew.forEach((e, i) => expect(gw!.dataSync()[e]).toBeCloseTo(fdw[i]!, 2));
    });
  });
  it('reverseTaps (the flipped kernel of the input gradient) equals tf.reverse over the taps, for 1 to 4 taps', () => {
    for (const kernel of [1, 2, 3, 4])
      tf.tidy(() => {
        const w = rand([kernel, 2, 3], 20 + kernel) as tf.Tensor3D;
        expect(reverseTaps(w).shape).toEqual([kernel, 2, 3]);
        expect(Array.from(reverseTaps(w).dataSync())).toEqual(Array.from(tf.reverse(w, 0).dataSync()));
      });
  });
});

describe('hand-written backward passes equal autodiff of the taped references', () => {
  const cases = [
    { stride: 1, dilation: 1, padding: 1, kernel: 3, length: 37 },
    { stride: 2, dilation: 1, padding: 1, kernel: 4, length: 32 },
    { stride: 2, dilation: 1, padding: 1, kernel: 4, length: 33 },
    { stride: 1, dilation: 18, padding: 18, kernel: 3, length: 50 },
    { stride: 1, dilation: 1, padding: 0, kernel: 1, length: 20 },
    { stride: 3, dilation: 2, padding: 0, kernel: 3, length: 31 },
  ];
  for (const c of cases) {
    it(`conv1d kernel ${c.kernel} stride ${c.stride} dilation ${c.dilation} padding ${c.padding} length ${c.length}`, () => {
      tf.tidy(() => {
        const x = rand([2, c.length, 3], 21);
        const w = rand([c.kernel, 3, 4], 22);
        const b = rand([4], 23);
        const loss = (f: typeof conv1d) => (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(tf.sin(f(xx as tf.Tensor3D, ww as tf.Tensor3D, bb as tf.Tensor1D, c))) as tf.Scalar;
        expect(
          maxAbsDiff(conv1d(x as tf.Tensor3D, w as tf.Tensor3D, b as tf.Tensor1D, c), conv1dReference(x as tf.Tensor3D, w as tf.Tensor3D, b as tf.Tensor1D, c)),
        ).toBeLessThan(1e-5);
        const ours = tf.grads(loss(conv1d))([x, w, b]);
        const ref = tf.grads(loss(conv1dReference))([x, w, b]);
        ours.forEach((g, i) => expect(maxAbsDiff(g, ref[i]!)).toBeLessThan(1e-4));
      });
    });
  }
  it('convTranspose1d kernel 4 stride 2 padding 1, and kernel 8 stride 4 padding 2', () => {
    for (const o of [
      { kernel: 4, stride: 2, padding: 1 },
      { kernel: 8, stride: 4, padding: 2 },
      { kernel: 2, stride: 2, padding: 0 },
    ]) {
      tf.tidy(() => {
        const x = rand([2, 11, 3], 24);
        const w = rand([o.kernel, 3, 5], 25);
        const b = rand([5], 26);
        const loss = (f: typeof convTranspose1d) => (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(tf.sin(f(xx as tf.Tensor3D, ww as tf.Tensor3D, bb as tf.Tensor1D, o))) as tf.Scalar;
        expect(
          maxAbsDiff(
            convTranspose1d(x as tf.Tensor3D, w as tf.Tensor3D, b as tf.Tensor1D, o),
            convTranspose1dReference(x as tf.Tensor3D, w as tf.Tensor3D, b as tf.Tensor1D, o),
          ),
        ).toBeLessThan(1e-5);
        const ours = tf.grads(loss(convTranspose1d))([x, w, b]);
        const ref = tf.grads(loss(convTranspose1dReference))([x, w, b]);
        ours.forEach((g, i) => expect(maxAbsDiff(g, ref[i]!)).toBeLessThan(1e-4));
      });
    }
  });
  it('the same outputs and gradients on the wasm backend (explicit-transpose products, grouped-matMul transposed convs)', async () => {
    const run = () =>
      tf.tidy(() => {
        const out: number[][] = [];
        for (const c of [
          { kernel: 4, stride: 2, padding: 1 },
          { kernel: 3, stride: 2, padding: 1 },
          { kernel: 8, stride: 4, padding: 2 },
        ]) {
          const x = rand([2, 16, 3], 27);
          const w = rand([c.kernel, 3, 5], 28);
          const f1 = (xx: tf.Tensor, ww: tf.Tensor) => conv1d(xx as tf.Tensor3D, ww as tf.Tensor3D, null, c);
          const g1 = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.sin(f1(xx, ww))) as tf.Scalar)([x, w]);
          out.push(Array.from(f1(x, w).dataSync()), ...g1.map((g) => Array.from(g.dataSync())));
          if (c.kernel - 2 * c.padding === c.stride) {
            const f2 = (xx: tf.Tensor, ww: tf.Tensor) => convTranspose1d(xx as tf.Tensor3D, ww as tf.Tensor3D, null, c);
            const g2 = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.sin(f2(xx, ww))) as tf.Scalar)([x, w]);
            out.push(Array.from(f2(x, w).dataSync()), ...g2.map((g) => Array.from(g.dataSync())));
          }
        }
        return out;
      });
    const onCpu = run();
    await initBackend({ backend: 'wasm' });
    try {
      const onWasm = run();
      onWasm.forEach((g, i) => g.forEach((v, k) => expect(v).toBeCloseTo(onCpu[i]![k]!, 4)));
    } finally {
      await initBackend({ backend: 'cpu' });
    }
  });
});

describe('convTranspose1d', () => {
  it('matches tf.conv2dTranspose forward and doubles the length (kernel 4, stride 2, padding 1)', () => {
    tf.tidy(() => {
      const x = rand([2, 9, 3], 9) as tf.Tensor3D;
      const w = rand([4, 3, 5], 10) as tf.Tensor3D;
      const ours = convTranspose1d(x, w, null, { stride: 2, padding: 1 });
      expect(ours.shape).toEqual([2, 18, 5]);
      // reference: tf.conv2dTranspose on [batch, 1, time, ch]; its filter is [h, w, out, in]
      const filter = tf.reshape(tf.transpose(w, [0, 2, 1]), [1, 4, 5, 3]) as tf.Tensor4D;
      const full = tf.conv2dTranspose(tf.reshape(x, [2, 1, 9, 3]) as tf.Tensor4D, filter, [2, 1, 20, 5], [1, 2], 'valid');
      const ref = tf.slice(tf.reshape(full, [2, 20, 5]), [0, 1, 0], [2, 18, 5]); // padding 1 crops one sample each side
      expect(maxAbsDiff(ours, ref)).toBeLessThan(1e-5);
    });
  });
  it('is the adjoint of the strided conv1d: ⟨conv(x), y⟩ = ⟨x, convT(y)⟩', () => {
    tf.tidy(() => {
      const x = rand([1, 20, 3], 11) as tf.Tensor3D;
      const y = rand([1, 10, 4], 12) as tf.Tensor3D;
      const w = rand([4, 3, 4], 13) as tf.Tensor3D;
      const lhs = tf.sum(tf.mul(conv1d(x, w, null, { stride: 2, padding: 1 }), y)).dataSync()[0]!;
      const wt = tf.transpose(w, [0, 2, 1]) as tf.Tensor3D; // [k, cout, cin]
      const rhs = tf.sum(tf.mul(x, convTranspose1d(y, wt, null, { stride: 2, padding: 1 }))).dataSync()[0]!;
      expect(lhs).toBeCloseTo(rhs, 3);
    });
  });
  it('gradients agree with finite differences', () => {
    tf.tidy(() => {
      const x = rand([1, 6, 2], 14);
      const w = rand([4, 2, 3], 15);
      const f = (xs: tf.Tensor[]) => tf.sum(tf.tanh(convTranspose1d(xs[0] as tf.Tensor3D, xs[1] as tf.Tensor3D, null, { stride: 2, padding: 1 }))) as tf.Scalar;
      const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => f([a, b]))([x, w]);
      const fdx = finiteDiff(f, [x, w], 0, [0, 3, 11]);
      const fdw = finiteDiff(f, [x, w], 1, [0, 7, 23]);
      [0, 3, 11].forEach((e, i) => expect(gx!.dataSync()[e]).toBeCloseTo(fdx[i]!, 2));
      [0, 7, 23].forEach((e, i) => expect(gw!.dataSync()[e]).toBeCloseTo(fdw[i]!, 2));
    });
  });
});

describe('gradient plumbing', () => {
  it('stopGradient passes values and blocks gradients; straightThrough swaps value and gradient', () => {
    tf.tidy(() => {
      const x = tf.tensor1d([1, 2, 3]);
      const q = tf.tensor1d([10, 20, 30]);
      const g1 = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(stopGradient(a), a)))(x);
      expect(Array.from(g1.dataSync())).toEqual([1, 2, 3]);
      const st = straightThrough(x, q);
      expect(Array.from(st.dataSync())).toEqual([10, 20, 30]);
      const g2 = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(straightThrough(a, q), tf.scalar(2))))(x);
      expect(Array.from(g2.dataSync())).toEqual([2, 2, 2]);
    });
  });
  it('lookupRows: gather forward, segment-sum backward, with argmin-computed ids', () => {
    tf.tidy(() => {
      const table = rand([5, 3], 16) as tf.Tensor2D;
      const z = rand([7, 3], 17) as tf.Tensor2D;
      const ids = tf.argMin(tf.sum(tf.square(tf.sub(tf.expandDims(z, 1), tf.expandDims(table, 0))), 2), 1) as tf.Tensor1D;
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(lookupRows(t as tf.Tensor2D, ids))))(table);
      // reference: d/dt Σ_i ‖t[ids_i]‖² = 2 · count(row) · t[row]
      const counts = new Array(5).fill(0);
      for (const i of ids.dataSync()) counts[i]++;
      const t = table.arraySync();
      const want = t.map((row, r) => row.map((v) => 2 * counts[r] * v));
      const got = g.arraySync() as number[][];
      got.forEach((row, r) => row.forEach((v, c) => expect(v).toBeCloseTo(want[r]![c]!, 5)));
    });
  });
  it('segmentSum with ScatterNd (wasm path) equals UnsortedSegmentSum', async () => {
    const values = [
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ];
    const ids = [0, 2, 0, 0];
    const ref = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor2d(values), tf.tensor1d(ids, 'int32'), 3).arraySync());
    await initBackend({ backend: 'wasm' });
    try {
      const got = tf.tidy(() => segmentSum(tf.tensor2d(values), tf.tensor1d(ids, 'int32'), 3).arraySync());
      expect(got).toEqual(ref);
      expect(ref).toEqual([
        [8, 8],
        [0, 0],
        [2, 2],
      ]);
    } finally {
      await initBackend({ backend: 'cpu' });
    }
  });
});
