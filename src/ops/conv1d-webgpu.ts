/**
 * conv1d (+ bias, + ReLU on the input) as hand-written WGSL programs run through tfjs-webgpu's
 * program interface (backend.runWebGPUProgram), beside its references conv1d / conv1dReference in
 * ./conv1d.ts (same maths: y[b, t, :] = bias + Σ_j act(x)[b, stride·t + dilation·j − padding, :] · w[j]).
 *
 * One dispatch forward (padding, bias and the input ReLU folded in) and three backward (dx with the
 * ReLU mask, dw, db), where the op-by-op version issues ~15 (pad, conv, bias add, relu; reverse,
 * transposes, pads, convs, slices, sums and step·multiply for the gradients).
 * Any stride, dilation and padding. Layout as ./conv1d.ts: x [batch, time, cin], w [kernel, cin, cout].
 */
import * as tf from '@tensorflow/tfjs';
import { conv1dOutputLength, type Conv1dOptions } from './conv1d';
import { elementwiseProgram, fusedWebGpuOps, reductionProgram, runProgram, type WebGpuProgram } from './webgpu-program';

const CONV_UNIFORMS = 'stride : i32, dilation : i32, pad : i32, inRelu : i32,';

/** Shared WGSL: the input activation. */
const ACT = `fn act(v : f32) -> f32 { if (uniforms.inRelu != 0) { return max(v, 0.0); } return v; }`;

const elementwise = (name: string, outputShape: number[], variableNames: string[], body: string) =>
  elementwiseProgram(name, outputShape, variableNames, CONV_UNIFORMS, body, ACT);
const reduction = (name: string, outputShape: number[], variableNames: string[], prologue: string, n: string, term: string) =>
  reductionProgram(name, outputShape, variableNames, CONV_UNIFORMS, prologue, n, term, ACT);

// Sizes read from the uniforms tfjs fills in: xShape = [B, L, Cin], wShape = [K, Cin, Cout], dyShape = [B, T, Cout].

function forwardProgram(outShape: number[]): WebGpuProgram {
  return elementwise(
    'conv1d_fwd',
    outShape,
    ['X', 'W', 'Bias'],
    `
    let L = uniforms.xShape.y; let cin = uniforms.xShape.z;
    let K = uniforms.wShape.x; let cout = uniforms.wShape.z; let T = uniforms.outShape.y;
    let c = index % cout; let bt = index / cout; let t = bt % T; let b = bt / T;
    var acc = Bias[c];
    for (var j = 0; j < K; j = j + 1) {
      let u = t * uniforms.stride + j * uniforms.dilation - uniforms.pad;
      if (u >= 0 && u < L) {
        let xb = (b * L + u) * cin; let wb = j * cin * cout + c;
        for (var a = 0; a < cin; a = a + 1) { acc = acc + act(X[xb + a]) * W[wb + a * cout]; }
      }
    }
    setOutputAtIndex(index, acc);`,
  );
}

function inputGradProgram(xShape: number[]): WebGpuProgram {
  return elementwise(
    'conv1d_dx',
    xShape,
    ['Dy', 'W', 'X'],
    `
    let L = uniforms.xShape.y; let cin = uniforms.xShape.z;
    let K = uniforms.wShape.x; let cout = uniforms.wShape.z; let T = uniforms.dyShape.y;
    let a = index % cin; let bu = index / cin; let u = bu % L; let b = bu / L;
    var acc = 0.0;
    for (var j = 0; j < K; j = j + 1) {
      let q = u + uniforms.pad - j * uniforms.dilation;
      if (q >= 0 && q % uniforms.stride == 0) {
        let t = q / uniforms.stride;
        if (t < T) {
          let gb = (b * T + t) * cout; let wb = (j * cin + a) * cout;
          for (var c = 0; c < cout; c = c + 1) { acc = acc + Dy[gb + c] * W[wb + c]; }
        }
      }
    }
    if (uniforms.inRelu != 0 && X[index] <= 0.0) { acc = 0.0; }
    setOutputAtIndex(index, acc);`,
  );
}

function weightGradProgram(wShape: number[]): WebGpuProgram {
  return reduction(
    'conv1d_dw',
    wShape,
    ['X', 'Dy'],
    `let L = uniforms.xShape.y; let cin = uniforms.xShape.z; let cout = uniforms.dyShape.z; let T = uniforms.dyShape.y;
     let c = o % cout; let ja = o / cout; let a = ja % cin; let j = ja / cin;
     let shift = j * uniforms.dilation - uniforms.pad;
     let n = uniforms.dyShape.x * T;`,
    'n',
    `select(0.0, act(X[(((k / T) * L + clamp((k % T) * uniforms.stride + shift, 0, L - 1)) * cin) + a]) * Dy[k * cout + c],
        (k % T) * uniforms.stride + shift >= 0 && (k % T) * uniforms.stride + shift < L)`,
  );
}

function biasGradProgram(cout: number): WebGpuProgram {
  return reduction('conv1d_db', [cout], ['Dy'], `let cout = uniforms.dyShape.z; let n = uniforms.dyShape.x * uniforms.dyShape.y;`, 'n', `Dy[k * cout + o]`);
}

function run(program: WebGpuProgram, inputs: tf.Tensor[], o: { stride: number; dilation: number; padding: number; inputRelu: boolean }): tf.Tensor {
  return runProgram(program, inputs, [
    { type: 'int32', data: [o.stride] },
    { type: 'int32', data: [o.dilation] },
    { type: 'int32', data: [o.padding] },
    { type: 'int32', data: [o.inputRelu ? 1 : 0] },
  ]);
}

export interface FusedConv1dOptions extends Conv1dOptions {
  /** ReLU applied to the input before the convolution (folded into the kernels). */
  inputRelu?: boolean;
}

/** Is the fused version available (webgpu backend)? */
export const fusedConv1dAvailable = fusedWebGpuOps;

/** y = bias + conv1d(inputRelu ? relu(x) : x, w) on webgpu: 1 dispatch forward, 3 backward. Gradients for x, w and bias. */
export function conv1dWebGpu(x: tf.Tensor3D, weight: tf.Tensor3D, bias: tf.Tensor1D | null, options: FusedConv1dOptions = {}): tf.Tensor3D {
  const o = { stride: options.stride ?? 1, dilation: options.dilation ?? 1, padding: options.padding ?? 0, inputRelu: options.inputRelu ?? false };
  const [batch, length, cin] = x.shape;
  const [kernel, wcin, cout] = weight.shape;
  if (wcin !== cin) throw new Error(`conv1d: input has ${cin} channels, weight expects ${wcin}`);
  const tout = conv1dOutputLength(length, kernel, o);
  if (tout < 1) throw new Error(`conv1d: input of length ${length} is too short for kernel ${kernel} (dilation ${o.dilation}, padding ${o.padding})`);
  const b = bias ?? tf.zeros([cout]);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xx, ww, bb] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor1D];
    (args[3] as tf.GradSaveFunc)([xx, ww]);
    return {
      value: run(forwardProgram([batch, tout, cout]), [xx, ww, bb], o) as tf.Tensor3D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor3D, tf.Tensor3D];
        return [
          run(inputGradProgram([batch, length, cin]), [dy, sw, sx], o),
          run(weightGradProgram([kernel, cin, cout]), [sx, dy], o),
          run(biasGradProgram(cout), [dy], o),
        ];
      },
    };
  });
  const y = f(x, weight, b) as tf.Tensor3D;
  if (!bias) b.dispose();
  return y;
}
