/**
 * A dense layer x·W + b on webgpu, beside its reference (matMul and add, ./matmul.ts): forward
 * tfjs' fused matMul with the bias (1 dispatch); backward the two products and the bias gradient as
 * one column-sum program (a workgroup per column) — tfjs' own Sum over the rows costs two dispatches
 * (a transpose and a reduction), so 3 dispatches instead of 4.
 */
import * as tf from '@tensorflow/tfjs';
import { reductionProgram, runProgram } from './webgpu-program';

/** Σ over rows of x [n, c] → [c] in one dispatch. */
export function columnSumWebGpu(x: tf.Tensor): tf.Tensor1D {
  const c = x.shape[x.rank - 1] as number;
  const program = reductionProgram('column_sum', [c], ['X'], '', 'let c = uniforms.xShape.y; let n = uniforms.xShape.x;', 'n', 'X[k * c + o]');
  return runProgram(program, [x.rank === 2 ? x : tf.reshape(x, [-1, c])]) as tf.Tensor1D;
}

/** x [m, k] · w [k, n] + bias [n]; gradients for x, w and bias. */
export function linearWebGpu(x: tf.Tensor2D, w: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xx, ww, bb] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
    (args[3] as tf.GradSaveFunc)([xx, ww]);
    return {
      value: tf.fused.matMul({ a: xx, b: ww, bias: bb }) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
        const g = dy as tf.Tensor2D;
        return [tf.matMul(g, sw, false, true), tf.matMul(sx, g, true, false), columnSumWebGpu(g)];
      },
    };
  });
  return f(x, w, bias) as tf.Tensor2D;
}
