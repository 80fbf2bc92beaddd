/**
 * A whole VQ-VAE-2 residual layer as WGSL programs, beside its reference (residualLayerReference:
 * two conv1d with their ReLUs and the residual add, as ./conv1d.ts computes them):
 *
 *   y = x + b₂ + W₂ · relu(h),   h = b₁ + conv1d_d(relu(x), W₁)   (kernel K, dilation d, padding P)
 *
 * x [B, T, C], W₁ [K, C, R], b₁ [R], W₂ [1, R, C], b₂ [C]. One dispatch forward (a thread per time
 * step computes h in registers, then y), three backward: (1) relu(h) and dh = [h > 0]·W₂ᵀ·dy per
 * time step (h recomputed, nothing of size B·T·R is kept from the forward pass), (2) dx = dy +
 * [x > 0]·(conv1dᵀ of dh), (3) the four parameter gradients in one dispatch (a workgroup per entry).
 * The op-by-op version issues ~10 dispatches per layer on webgpu (2 fused convs × 4 + add + the
 * gradient sum), tfjs' own ops ~40.
 */
import * as tf from '@tensorflow/tfjs';
import { conv1d } from './conv1d';
import { RAW_WG, runRaw, threads, WG_REDUCE } from './webgpu-raw';

export interface ResidualWeights {
  w1: tf.Tensor3D;
  b1: tf.Tensor1D;
  w2: tf.Tensor3D;
  b2: tf.Tensor1D;
}

/** The reference: the same maths in the ops every backend has (autodiff through conv1d's own gradient). */
export function residualLayerReference(x: tf.Tensor3D, w: ResidualWeights, dilation: number, padding: number): tf.Tensor3D {
  const h = conv1d(tf.relu(x), w.w1, w.b1, { dilation, padding });
  return tf.add(x, conv1d(tf.relu(h), w.w2, w.b2)) as tf.Tensor3D;
}

interface Dims {
  B: number;
  T: number;
  C: number;
  R: number;
  K: number;
  D: number;
  P: number;
}

const consts = (d: Dims) => `const B = ${d.B}; const T = ${d.T}; const C = ${d.C}; const R = ${d.R}; const K = ${d.K}; const D = ${d.D}; const P = ${d.P};`;

/** WGSL: h (pre-activation) at row `bt` = b·T + t into the private array `h`. */
const HIDDEN = `
  fn hidden(bt : i32, h : ptr<function, array<f32, R>>) {
    let b = bt / T; let t = bt % T;
    for (var r = 0; r < R; r = r + 1) { (*h)[r] = B1[r]; }
    for (var j = 0; j < K; j = j + 1) {
      let u = t + j * D - P;
      if (u >= 0 && u < T) {
        let xb = (b * T + u) * C;
        for (var a = 0; a < C; a = a + 1) {
          let xv = max(X[xb + a], 0.0);
          if (xv != 0.0) {
            let wb = (j * C + a) * R;
            for (var r = 0; r < R; r = r + 1) { (*h)[r] = (*h)[r] + xv * W1[wb + r]; }
          }
        }
      }
    }
  }`;

function forward(x: tf.Tensor, w: tf.Tensor[], d: Dims): tf.Tensor {
  const [w1, b1, w2, b2] = w as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  const key = Object.values(d).join('_');
  return runRaw(
    'residual_fwd',
    key,
    [
      { name: 'X', tensor: x },
      { name: 'W1', tensor: w1 },
      { name: 'B1', tensor: b1 },
      { name: 'W2', tensor: w2 },
      { name: 'B2', tensor: b2 },
    ],
    [{ name: 'Y', shape: [d.B, d.T, d.C] }],
    threads(d.B * d.T),
    `
    if (index < B * T) {
      var h : array<f32, R>;
      hidden(index, &h);
      for (var r = 0; r < R; r = r + 1) { h[r] = max(h[r], 0.0); }
      for (var c = 0; c < C; c = c + 1) {
        var acc = X[index * C + c] + B2[c];
        for (var r = 0; r < R; r = r + 1) { acc = acc + h[r] * W2[r * C + c]; }
        Y[index * C + c] = acc;
      }
    }`,
    consts(d) + HIDDEN,
  )[0] as tf.Tensor;
}

function backward(dy: tf.Tensor, x: tf.Tensor, w: tf.Tensor[], d: Dims): tf.Tensor[] {
  const [w1, b1, w2] = w as [tf.Tensor, tf.Tensor, tf.Tensor];
  const key = Object.values(d).join('_');
  const prelude = consts(d);
  // (1) HG[bt] = [relu(h) (R values), dh (R values)]
  const hg = runRaw(
    'residual_dh',
    key,
    [
      { name: 'X', tensor: x },
      { name: 'W1', tensor: w1 },
      { name: 'B1', tensor: b1 },
      { name: 'W2', tensor: w2 },
      { name: 'Dy', tensor: dy },
    ],
    [{ name: 'HG', shape: [d.B * d.T, 2 * d.R] }],
    threads(d.B * d.T),
    `
    if (index < B * T) {
      var h : array<f32, R>;
      hidden(index, &h);
      for (var r = 0; r < R; r = r + 1) {
        var g = 0.0;
        if (h[r] > 0.0) { for (var c = 0; c < C; c = c + 1) { g = g + Dy[index * C + c] * W2[r * C + c]; } }
        HG[index * 2 * R + r] = max(h[r], 0.0);
        HG[index * 2 * R + R + r] = g;
      }
    }`,
    prelude + HIDDEN,
  )[0] as tf.Tensor;
  // (2) dx = dy + [x > 0] · Σ_j Σ_r dh[b, u + P − j·D, r] · W1[j, a, r]
  const dx = runRaw(
    'residual_dx',
    key,
    [
      { name: 'Dy', tensor: dy },
      { name: 'X', tensor: x },
      { name: 'W1', tensor: w1 },
      { name: 'HG', tensor: hg },
    ],
    [{ name: 'Dx', shape: [d.B, d.T, d.C] }],
    threads(d.B * d.T * d.C),
    `
    if (index < B * T * C) {
      let a = index % C; let bu = index / C; let u = bu % T; let b = bu / T;
      var acc = 0.0;
      if (X[index] > 0.0) {
        for (var j = 0; j < K; j = j + 1) {
          let t = u + P - j * D;
          if (t >= 0 && t < T) {
            let gb = (b * T + t) * 2 * R + R; let wb = (j * C + a) * R;
            for (var r = 0; r < R; r = r + 1) { acc = acc + HG[gb + r] * W1[wb + r]; }
          }
        }
      }
      Dx[index] = Dy[index] + acc;
    }`,
    prelude,
  )[0] as tf.Tensor;
  // (3) a workgroup per gradient entry: dW1 (K·C·R), db1 (R), dW2 (R·C), db2 (C), each a sum over B·T
  const n1 = d.K * d.C * d.R;
  const n2 = n1 + d.R;
  const n3 = n2 + d.R * d.C;
  const n4 = n3 + d.C;
  const grads = runRaw(
    'residual_dw',
    key,
    [
      { name: 'X', tensor: x },
      { name: 'HG', tensor: hg },
      { name: 'Dy', tensor: dy },
    ],
    [
      { name: 'DW1', shape: [d.K, d.C, d.R] },
      { name: 'DB1', shape: [d.R] },
      { name: 'DW2', shape: [1, d.R, d.C] },
      { name: 'DB2', shape: [d.C] },
    ],
    n4,
    `
    let o = group;
    var acc = 0.0;
    if (o < ${n1}) {
      let r = o % R; let ja = o / R; let a = ja % C; let j = ja / C;
      let shift = j * D - P;
      for (var k = li; k < B * T; k = k + ${RAW_WG}) {
        let u = k % T + shift;
        if (u >= 0 && u < T) { acc = acc + max(X[(k + shift) * C + a], 0.0) * HG[k * 2 * R + R + r]; }
      }
    } else if (o < ${n2}) {
      let r = o - ${n1};
      for (var k = li; k < B * T; k = k + ${RAW_WG}) { acc = acc + HG[k * 2 * R + R + r]; }
    } else if (o < ${n3}) {
      let c = (o - ${n2}) % C; let r = (o - ${n2}) / C;
      for (var k = li; k < B * T; k = k + ${RAW_WG}) { acc = acc + HG[k * 2 * R + r] * Dy[k * C + c]; }
    } else {
      let c = o - ${n3};
      for (var k = li; k < B * T; k = k + ${RAW_WG}) { acc = acc + Dy[k * C + c]; }
    }
    ${WG_REDUCE}
    if (li == 0) {
      if (o < ${n1}) { DW1[o] = partial[0]; }
      else if (o < ${n2}) { DB1[o - ${n1}] = partial[0]; }
      else if (o < ${n3}) { DW2[o - ${n2}] = partial[0]; }
      else { DB2[o - ${n3}] = partial[0]; }
    }`,
    `${prelude}\nvar<workgroup> partial : array<f32, ${RAW_WG}>;`,
  );
  hg.dispose();
  return [dx, ...grads];
}

/** y = x + conv1x1(relu(conv_d(relu(x)))) on webgpu: 1 dispatch forward, 3 backward; gradients for x and the four weights. */
export function residualLayerWebGpu(x: tf.Tensor3D, w: ResidualWeights, dilation: number, padding: number): tf.Tensor3D {
  const [B, T, C] = x.shape;
  const [K, wc, R] = w.w1.shape;
  if (wc !== C || w.w2.shape[1] !== R || w.w2.shape[2] !== C || w.w2.shape[0] !== 1)
    throw new Error(`residual layer: weights [${w.w1.shape}] / [${w.w2.shape}] do not fit ${C} channels`);
  if (T + 2 * padding - dilation * (K - 1) !== T)
    throw new Error(`residual layer: padding ${padding} must keep the length (kernel ${K}, dilation ${dilation})`);
  const d: Dims = { B, T, C, R, K, D: dilation, P: padding };
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const ins = args.slice(0, 5) as tf.Tensor[];
    (args[5] as tf.GradSaveFunc)(ins);
    return {
      value: forward(ins[0] as tf.Tensor, ins.slice(1), d) as tf.Tensor3D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => backward(dy, saved[0] as tf.Tensor, saved.slice(1), d),
    };
  });
  return f(x, w.w1, w.b1, w.w2, w.b2) as tf.Tensor3D;
}
