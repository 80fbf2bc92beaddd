/**
 * Transposed conv1d (+ bias, + ReLU on the input) as WGSL programs, beside its references
 * convTranspose1d / convTranspose1dReference in ./conv1d.ts (same maths:
 * y[b, S·t + j − P, :] += act(x)[b, t, :] · w[j], output exactly S × longer: kernel − 2·P = S).
 *
 * One dispatch forward (a thread per output entry), two backward: dx (with the ReLU mask) and dw
 * with db in one dispatch (a workgroup per entry). tfjs' ops issue ~15 (Conv2DBackpropInput, slice,
 * bias add; pads, transposes, convs and slices for the gradients).
 * Layout: x [batch, time, cin], w [kernel, cin, cout] (as ./conv1d.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { RAW_WG, runRaw, threads, WG_REDUCE } from './webgpu-raw';

interface Dims {
  B: number;
  L: number;
  CI: number;
  CO: number;
  K: number;
  S: number;
  P: number;
  RELU: number;
}

const consts = (d: Dims) => `${Object.entries(d)
  .map(([k, v]) => `const ${k} = ${v};`)
  .join(' ')}
  const N = S * L;
  fn act(v : f32) -> f32 { if (RELU != 0) { return max(v, 0.0); } return v; }`;

function forward(x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor, d: Dims): tf.Tensor {
  return runRaw(
    'convT1d_fwd',
    Object.values(d).join('_'),
    [
      { name: 'X', tensor: x },
      { name: 'W', tensor: w },
      { name: 'Bias', tensor: bias },
    ],
    [{ name: 'Y', shape: [d.B, d.S * d.L, d.CO] }],
    threads(d.B * d.S * d.L * d.CO),
    `
    if (index < B * N * CO) {
      let c = index % CO; let bo = index / CO; let o = bo % N; let b = bo / N;
      var acc = Bias[c];
      for (var j = 0; j < K; j = j + 1) {
        let q = o + P - j;
        if (q >= 0 && q % S == 0 && q / S < L) {
          let xb = (b * L + q / S) * CI; let wb = j * CI * CO + c;
          for (var a = 0; a < CI; a = a + 1) { acc = acc + act(X[xb + a]) * W[wb + a * CO]; }
        }
      }
      Y[index] = acc;
    }`,
    consts(d),
  )[0] as tf.Tensor;
}

function backward(dy: tf.Tensor, x: tf.Tensor, w: tf.Tensor, d: Dims): tf.Tensor[] {
  const key = Object.values(d).join('_');
  const dx = runRaw(
    'convT1d_dx',
    key,
    [
      { name: 'Dy', tensor: dy },
      { name: 'W', tensor: w },
      { name: 'X', tensor: x },
    ],
    [{ name: 'Dx', shape: [d.B, d.L, d.CI] }],
    threads(d.B * d.L * d.CI),
    `
    if (index < B * L * CI) {
      let a = index % CI; let bt = index / CI; let t = bt % L; let b = bt / L;
      var acc = 0.0;
      if (RELU == 0 || X[index] > 0.0) {
        for (var j = 0; j < K; j = j + 1) {
          let o = S * t + j - P;
          if (o >= 0 && o < N) {
            let gb = (b * N + o) * CO; let wb = (j * CI + a) * CO;
            for (var c = 0; c < CO; c = c + 1) { acc = acc + Dy[gb + c] * W[wb + c]; }
          }
        }
      }
      Dx[index] = acc;
    }`,
    consts(d),
  )[0] as tf.Tensor;
  const nw = d.K * d.CI * d.CO;
  const [dw, db] = runRaw(
    'convT1d_dw',
    key,
    [
      { name: 'X', tensor: x },
      { name: 'Dy', tensor: dy },
    ],
    [
      { name: 'DW', shape: [d.K, d.CI, d.CO] },
      { name: 'DB', shape: [d.CO] },
    ],
    nw + d.CO,
    `
    let o = group;
    var acc = 0.0;
    if (o < ${nw}) {
      let c = o % CO; let ja = o / CO; let a = ja % CI; let j = ja / CI;
      for (var k = li; k < B * L; k = k + ${RAW_WG}) {
        let op = S * (k % L) + j - P;
        if (op >= 0 && op < N) { acc = acc + act(X[k * CI + a]) * Dy[((k / L) * N + op) * CO + c]; }
      }
    } else {
      let c = o - ${nw};
      for (var k = li; k < B * N; k = k + ${RAW_WG}) { acc = acc + Dy[k * CO + c]; }
    }
    ${WG_REDUCE}
    if (li == 0) {
      if (o < ${nw}) { DW[o] = partial[0]; } else { DB[o - ${nw}] = partial[0]; }
    }`,
    `${consts(d)}\nvar<workgroup> partial : array<f32, ${RAW_WG}>;`,
  ) as [tf.Tensor, tf.Tensor];
  return [dx, dw, db];
}

/** y = bias + convTranspose1d(inputRelu ? relu(x) : x, w) on webgpu: 1 dispatch forward, 2 backward; gradients for x, w and bias. */
export function convTranspose1dWebGpu(
  x: tf.Tensor3D,
  weight: tf.Tensor3D,
  bias: tf.Tensor1D,
  conv: { stride: number; padding: number; inputRelu?: boolean },
): tf.Tensor3D {
  const [B, L, CI] = x.shape;
  const [K, wcin, CO] = weight.shape;
  if (wcin !== CI) throw new Error(`convTranspose1d: input has ${CI} channels, weight expects ${wcin}`);
  if (K - 2 * conv.padding !== conv.stride)
    throw new Error(`convTranspose1d: needs kernel − 2·padding = stride (got kernel ${K}, padding ${conv.padding}, stride ${conv.stride})`);
  const d: Dims = { B, L, CI, CO, K, S: conv.stride, P: conv.padding, RELU: conv.inputRelu ? 1 : 0 };
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xx, ww, bb] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor1D];
    (args[3] as tf.GradSaveFunc)([xx, ww]);
    return {
      value: forward(xx, ww, bb, d) as tf.Tensor3D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => backward(dy, saved[0] as tf.Tensor, saved[1] as tf.Tensor, d),
    };
  });
  return f(x, weight, bias) as tf.Tensor3D;
}
