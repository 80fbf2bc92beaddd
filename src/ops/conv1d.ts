/**
 * 1-D convolution and transposed convolution built from pad, slice, concat, reshape and one
 * matMul (im2col). Why not tf.conv1d: tfjs has no gradient for dilation > 1, and the wasm backend
 * has no Conv2DBackpropFilter kernel at all. Every op used here has forward and gradient kernels
 * on cpu, wasm, webgpu and tensorflow, so training works — and is right — on all of them.
 *
 * Layout: channels last. x: [batch, time, channelsIn]; weight: [kernel, channelsIn, channelsOut]
 * (tfjs' conv1d filter layout); bias: [channelsOut].
 *
 * Strided convolution: the padded input is folded into [batch, time/stride, stride·channelsIn]
 * ("space to depth"); tap j at offset j·dilation then lies in folded row floor(j·dilation/stride),
 * channel block (j·dilation mod stride). Transposed convolution with stride S is S interleaved
 * ordinary convolutions ("phases"), one per output position modulo S.
 */
import * as tf from '@tensorflow/tfjs';
import { matMul } from './matmul';

export interface Conv1dOptions {
  stride?: number;
  dilation?: number;
  /** Zeros added on both sides of the time axis. */
  padding?: number;
}

export function conv1dOutputLength(length: number, kernel: number, conv: Conv1dOptions = {}): number {
  const s = conv.stride ?? 1;
  const d = conv.dilation ?? 1;
  const p = conv.padding ?? 0;
  return Math.floor((length + 2 * p - d * (kernel - 1) - 1) / s) + 1;
}

/**
 * Reference conv1d in plain taped tfjs ops (autodiff through pad/slice/concat/matMul).
 * y[b, t, :] = bias + Σ_j x[b, stride·t + dilation·j − padding, :] · weight[j]  (zero outside x).
 */
export function conv1dReference(x: tf.Tensor3D, weight: tf.Tensor3D, bias: tf.Tensor1D | null, conv: Conv1dOptions = {}): tf.Tensor3D {
  const s = conv.stride ?? 1;
  const d = conv.dilation ?? 1;
  const p = conv.padding ?? 0;
  const [batch, length, cin] = x.shape;
  const [kernel, wcin, cout] = weight.shape;
  if (wcin !== cin) throw new Error(`conv1d: input has ${cin} channels, weight expects ${wcin}`);
  const tout = conv1dOutputLength(length, kernel, conv);
  if (tout < 1) throw new Error(`conv1d: input of length ${length} is too short for kernel ${kernel} (dilation ${d}, padding ${p})`);
  return tf.tidy(() => {
    // Pad so that the folded length covers every tap: stride·(tout − 1) + d·(kernel − 1) + 1 samples.
    const needed = s * (tout - 1) + d * (kernel - 1) + 1;
    const total = Math.ceil(needed / s) * s;
    const right = total - length - p;
    let xp: tf.Tensor3D = x;
    if (p > 0 || right > 0)
      xp = tf.pad(x, [
        [0, 0],
        [p, Math.max(0, right)],
        [0, 0],
      ]);
    if (right < 0) xp = tf.slice(xp, [0, 0, 0], [batch, total, cin]);
    const folded: tf.Tensor3D = s === 1 ? xp : tf.reshape(xp, [batch, total / s, s * cin]);
    const taps: tf.Tensor3D[] = [];
    for (let j = 0; j < kernel; j++) {
      const m = j * d;
      taps.push(tf.slice(folded, [0, Math.floor(m / s), (m % s) * cin], [batch, tout, cin]));
    }
    const cols = taps.length === 1 ? (taps[0] as tf.Tensor3D) : tf.concat(taps, 2);
    const y = matMul(tf.reshape(cols, [batch * tout, kernel * cin]), tf.reshape(weight, [kernel * cin, cout]));
    const out: tf.Tensor2D = bias ? (tf.add(y, bias) as tf.Tensor2D) : y;
    return tf.reshape(out, [batch, tout, cout]) as tf.Tensor3D;
  });
}

/**
 * Reference transposed convolution in plain taped tfjs ops (the gradient of conv1d with respect to its input, used as learned
 * upsampling): y[b, stride·t + j − padding, :] += x[b, t, :] · weight[j]. Requires
 * kernel − 2·padding = stride, so the output is exactly stride × longer (e.g. kernel 4, stride 2,
 * padding 1, as in VQ-VAE-2).
 */
export function convTranspose1dReference(
  x: tf.Tensor3D,
  weight: tf.Tensor3D,
  bias: tf.Tensor1D | null,
  conv: { stride: number; padding: number },
): tf.Tensor3D {
  const s = conv.stride;
  const p = conv.padding;
  const [batch, length, cin] = x.shape;
  const [kernel, wcin, cout] = weight.shape;
  if (wcin !== cin) throw new Error(`convTranspose1d: input has ${cin} channels, weight expects ${wcin}`);
  if (kernel - 2 * p !== s) throw new Error(`convTranspose1d: needs kernel − 2·padding = stride (got kernel ${kernel}, padding ${p}, stride ${s})`);
  return tf.tidy(() => {
    // For output phase r, tap j contributes x[u + (r + p − j)/s] when (r + p − j) is a multiple of s.
    const phases: Array<Array<{ j: number; offset: number }>> = [];
    let lo = 0;
    let hi = 0;
    for (let r = 0; r < s; r++) {
      const taps: Array<{ j: number; offset: number }> = [];
      for (let j = 0; j < kernel; j++) {
        const q = r + p - j;
        if (((q % s) + s) % s === 0) {
          const offset = q / s;
          taps.push({ j, offset });
          lo = Math.min(lo, offset);
          hi = Math.max(hi, offset);
        }
      }
      phases.push(taps);
    }
    const xp =
      lo < 0 || hi > 0
        ? tf.pad(x, [
            [0, 0],
            [-lo, hi],
            [0, 0],
          ])
        : x;
    const outs = phases.map((taps) => {
      const cols = taps.map(({ offset }) => tf.slice(xp, [0, offset - lo, 0], [batch, length, cin]));
      const w = taps.map(({ j }) => tf.reshape(tf.slice(weight, [j, 0, 0], [1, cin, cout]), [cin, cout]));
      const y = matMul(
        tf.reshape(cols.length === 1 ? (cols[0] as tf.Tensor3D) : tf.concat(cols, 2), [batch * length, taps.length * cin]),
        w.length === 1 ? (w[0] as tf.Tensor2D) : (tf.concat(w, 0) as tf.Tensor2D),
      );
      return tf.reshape(y, [batch, length, 1, cout]);
    });
    const interleaved: tf.Tensor3D = tf.reshape(outs.length === 1 ? (outs[0] as tf.Tensor4D) : tf.concat(outs, 2), [batch, length * s, cout]) as tf.Tensor3D;
    return bias ? (tf.add(interleaved, bias) as tf.Tensor3D) : interleaved;
  });
}

// ---------------------------------------------------------------------------------------------
// The ops the models use: the same maths as the references above, computed with tfjs' own forward
// convolution kernels (Conv2D, and Conv2DBackpropInput as transposed convolution — on wasm grouped
// matMuls instead, see transposedConv), which every backend has, with hand-written backward passes
// built from the same two kernels:
//   dx of a conv      = a conv of dy with the flipped, transposed kernel (stride 1), or a transposed conv (stride > 1)
//   dw of a conv      = a conv of the input (batch moved to channels) with dy as the filter, whose stride
//                       is the conv's dilation and whose dilation is the conv's stride
// No Conv2DBackpropFilter (missing on wasm) and no dilated-conv gradient (missing in tfjs) is needed.
// Each op saves only its input and weight for the backward pass and records one tape node.
// Measured on wasm (4 × 14,400 × 8, kernel 3): one Conv2D ≈ 5 ms, the im2col slices + concat ≈ 60 ms.
// ---------------------------------------------------------------------------------------------

/** Pad (positive) or crop (negative) the time axis of [batch, time, ch]. */
function padTime(x: tf.Tensor3D, left: number, right: number): tf.Tensor3D {
  let y = x;
  if (left > 0 || right > 0)
    y = tf.pad(y, [
      [0, 0],
      [Math.max(0, left), Math.max(0, right)],
      [0, 0],
    ]);
  if (left < 0 || right < 0) {
    const start = Math.max(0, -left);
    y = tf.slice(y, [0, start, 0], [y.shape[0], y.shape[1] - start - Math.max(0, -right), y.shape[2]]);
  }
  return y;
}

/**
 * Full transposed convolution, no padding: y[b, stride·t + j, :] += x[b, t, :] · w[j], for x [batch, L, cin]
 * and w [kernel, cin, cout] → y [batch, (L − 1)·stride + kernel, cout].
 *
 * tfjs' Conv2DBackpropInput computes it on every backend, but on wasm that kernel is a plain C++ loop
 * (~1.4 GFLOPS; 750 ms for one decoder upsampling of the thesis codec at batch 8, most of a step).
 * There the taps are grouped by stride: group q (taps q·s … q·s + s − 1) is one matMul x · W_q
 * ([batch·L, cin] × [cin, s·cout], XNNPACK) whose rows, read as [batch, L·s, cout], are already in
 * output order; the groups are added at offsets q·s.
 */
function transposedConv(x: tf.Tensor3D, w: tf.Tensor3D, stride: number): tf.Tensor3D {
  const [batch, length, cin] = x.shape;
  const [kernel, , cout] = w.shape;
  const full = (length - 1) * stride + kernel;
  if (tf.getBackend() !== 'wasm') {
    const filter = tf.reshape(tf.transpose(w, [0, 2, 1]), [1, kernel, cout, cin]) as tf.Tensor4D; // [h, w, out(y), in(x)]
    return tf.reshape(tf.conv2dTranspose(tf.reshape(x, [batch, 1, length, cin]) as tf.Tensor4D, filter, [batch, 1, full, cout], [1, stride], 'valid'), [
      batch,
      full,
      cout,
    ]) as tf.Tensor3D;
  }
  return tf.tidy(() => {
    const groups = Math.ceil(kernel / stride);
    const wp =
      groups * stride === kernel
        ? w
        : (tf.pad(w, [
            [0, groups * stride - kernel],
            [0, 0],
            [0, 0],
          ]) as tf.Tensor3D);
    const x2 = tf.reshape(x, [batch * length, cin]) as tf.Tensor2D;
    let y: tf.Tensor3D | null = null;
    for (let q = 0; q < groups; q++) {
      const wq = tf.reshape(tf.transpose(tf.slice(wp, [q * stride, 0, 0], [stride, cin, cout]), [1, 0, 2]), [cin, stride * cout]) as tf.Tensor2D;
      const zq = tf.reshape(tf.matMul(x2, wq), [batch, length * stride, cout]) as tf.Tensor3D;
      const placed = padTime(zq, q * stride, (groups - 1 - q) * stride);
      y = y ? (tf.add(y, placed) as tf.Tensor3D) : placed;
    }
    return padTime(y as tf.Tensor3D, 0, full - (length + groups - 1) * stride);
  });
}

/**
 * weight[kernel − 1 − j] for every tap j, as one slice per tap and one concat: wasm's Reverse kernel
 * takes 0.5–1.8 ms for a [3, 128, 128] weight (13 % of a mel-flow training step), the slices ~0.1 ms.
 */
export function reverseTaps(w: tf.Tensor3D): tf.Tensor3D {
  const [kernel, cin, cout] = w.shape;
  if (kernel === 1) return w;
  const taps = Array.from({ length: kernel }, (_, j) => tf.slice(w, [kernel - 1 - j, 0, 0], [1, cin, cout]));
  return tf.concat(taps, 0) as tf.Tensor3D;
}

/** dw[j, a, c] = Σ_{b,t} xp[b, stride·t + dilation·j, a] · dy[b, t, c] for j < kernel, as one forward conv. */
function correlate(xp: tf.Tensor3D, dy: tf.Tensor3D, kernel: number, stride: number, dilation: number): tf.Tensor3D {
  const input = tf.transpose(xp, [2, 1, 0]) as tf.Tensor3D; // [a, time, batch]
  const filter = tf.transpose(dy, [1, 0, 2]) as tf.Tensor3D; // [t, batch, c]
  const out = tf.conv1d(input, filter, dilation, 'valid', 'NWC', stride); // [a, ≥kernel, c]
  return tf.transpose(tf.slice(out, [0, 0, 0], [out.shape[0], kernel, out.shape[2]]), [1, 0, 2]) as tf.Tensor3D; // [kernel, a, c]
}

/** y[b, t, :] = bias + Σ_j x[b, stride·t + dilation·j − padding, :] · weight[j]  (zero outside x). */
export function conv1d(x: tf.Tensor3D, weight: tf.Tensor3D, bias: tf.Tensor1D | null, conv: Conv1dOptions = {}): tf.Tensor3D {
  const s = conv.stride ?? 1;
  const d = conv.dilation ?? 1;
  const p = conv.padding ?? 0;
  if (s > 1 && d > 1) return conv1dReference(x, weight, bias, conv); // tfjs kernels take one or the other
  const [_batch, length, cin] = x.shape;
  const [kernel, wcin, _cout] = weight.shape;
  if (wcin !== cin) throw new Error(`conv1d: input has ${cin} channels, weight expects ${wcin}`);
  const tout = conv1dOutputLength(length, kernel, conv);
  if (tout < 1) throw new Error(`conv1d: input of length ${length} is too short for kernel ${kernel} (dilation ${d}, padding ${p})`);
  // Padded length actually read by the kernel (a strided conv may leave a tail unread).
  const used = s * (tout - 1) + d * (kernel - 1) + 1;
  const core = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xx = args[0] as tf.Tensor3D;
    const ww = args[1] as tf.Tensor3D;
    (args[2] as tf.GradSaveFunc)([xx, ww]);
    const value = tf.tidy(() => tf.conv1d(padTime(xx, p, used - length - p), ww, s, 'valid', 'NWC', d));
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [sx, sw] = saved as [tf.Tensor3D, tf.Tensor3D];
          const g = dy as tf.Tensor3D;
          let dxp: tf.Tensor3D; // gradient w.r.t. the padded input, length `used`
          if (s === 1) {
            const flipped = tf.transpose(reverseTaps(sw), [0, 2, 1]) as tf.Tensor3D; // [k, cout, cin]
            const reach = d * (kernel - 1);
            dxp = tf.conv1d(padTime(g, reach, reach), flipped, 1, 'valid', 'NWC', d);
          } else {
            // dxp[b, s·t + j, a] += Σ_c g[b, t, c] · w[j, a, c]: a transposed conv with the kernel's channels swapped
            const yFull = transposedConv(g, tf.transpose(sw, [0, 2, 1]) as tf.Tensor3D, s); // length (tout − 1)·s + kernel = used
            dxp = yFull.shape[1] === used ? yFull : padTime(yFull, 0, used - yFull.shape[1]);
          }
          const dx = padTime(dxp, -p, length + p - used);
          const dw = correlate(padTime(sx, p, used - length - p), g, kernel, s, d);
          return [dx, dw];
        }),
    };
  });
  const y = core(x, weight) as tf.Tensor3D;
  return bias ? (tf.add(y, bias) as tf.Tensor3D) : y;
}

/**
 * Transposed convolution (learned ×stride upsampling): y[b, stride·t + j − padding, :] += x[b, t, :] · weight[j].
 * Requires kernel − 2·padding = stride, so the output is exactly stride × longer (VQ-VAE-2: kernel 4, stride 2, padding 1).
 */
export function convTranspose1d(x: tf.Tensor3D, weight: tf.Tensor3D, bias: tf.Tensor1D | null, conv: { stride: number; padding: number }): tf.Tensor3D {
  const s = conv.stride;
  const p = conv.padding;
  const [batch, length, cin] = x.shape;
  const [kernel, wcin, cout] = weight.shape;
  if (wcin !== cin) throw new Error(`convTranspose1d: input has ${cin} channels, weight expects ${wcin}`);
  if (kernel - 2 * p !== s) throw new Error(`convTranspose1d: needs kernel − 2·padding = stride (got kernel ${kernel}, padding ${p}, stride ${s})`);
  const core = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xx = args[0] as tf.Tensor3D;
    const ww = args[1] as tf.Tensor3D;
    (args[2] as tf.GradSaveFunc)([xx, ww]);
    const value = tf.tidy(() => tf.slice(transposedConv(xx, ww, s), [0, p, 0], [batch, s * length, cout]));
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [sx, sw] = saved as [tf.Tensor3D, tf.Tensor3D];
          const dyFull = padTime(dy as tf.Tensor3D, p, p); // [batch, full, cout]
          const dx = tf.conv1d(dyFull, tf.transpose(sw, [0, 2, 1]) as tf.Tensor3D, s, 'valid');
          // dw[j, a, c] = Σ x[b, t, a] · dyFull[b, s·t + j, c]: correlate(dyFull, x) gives [kernel, cout, cin]
          const dw = tf.transpose(correlate(dyFull, sx, kernel, s, 1), [0, 2, 1]);
          return [dx, dw];
        }),
    };
  });
  const y = core(x, weight) as tf.Tensor3D;
  return bias ? (tf.add(y, bias) as tf.Tensor3D) : y;
}
