/**
 * 2-D matrix product whose gradient avoids transposed-operand kernels where they are slow.
 *
 * Measured (tfjs 4.22 wasm, 1 thread, 2-core x86): a plain matMul runs at 8–12 GFLOPS through
 * XNNPACK, but any transposeA/transposeB product falls back to a generic loop at ~1 GFLOPS — and
 * both gradient products of a matMul are transposed ones. On wasm we therefore transpose the
 * operand explicitly (a cheap copy) and multiply plainly; other backends keep their native flags.
 */
import * as tf from '@tensorflow/tfjs';
import { linearWebGpu } from './linear-webgpu';

function explicitTransposes(): boolean {
  return tf.getBackend() === 'wasm';
}

/** a [m, k] × b [k, n] → [m, n], optionally with b given transposed ([n, k]). */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D, transposeB = false): tf.Tensor2D {
  if (!explicitTransposes()) return tf.matMul(a, b, false, transposeB);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const x = args[0] as tf.Tensor2D;
    const y = args[1] as tf.Tensor2D;
    (args[2] as tf.GradSaveFunc)([x, y]);
    const yy = transposeB ? tf.transpose(y) : y;
    return {
      value: tf.matMul(x, yy),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy] = saved as [tf.Tensor2D, tf.Tensor2D];
        const d = dy as tf.Tensor2D;
        // y = x·B with B = transposeB ? yᵀ : y.  dx = dy·Bᵀ ;  dB = xᵀ·dy ; dy_param = transposeB ? dBᵀ = dyᵀ·x : dB
        const dx = tf.matMul(d, transposeB ? sy : tf.transpose(sy));
        const dParam = transposeB ? tf.matMul(tf.transpose(d), sx) : tf.matMul(tf.transpose(sx), d);
        return [dx, dParam];
      },
    };
  });
  return f(a, b) as tf.Tensor2D;
}

/** Plain product with transposition flags, no custom gradient (for use inside backward passes). */
export function matMulT(a: tf.Tensor2D, b: tf.Tensor2D, transposeA = false, transposeB = false): tf.Tensor2D {
  if (!explicitTransposes()) return tf.matMul(a, b, transposeA, transposeB);
  return tf.matMul(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b);
}

/**
 * x [m, k] · w [k, n] + bias [n]. With the fused WebGPU ops on: ./linear-webgpu.ts (1 dispatch forward,
 * 3 backward instead of 2 and 4); elsewhere matMul and add.
 */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  if (tf.getBackend() === 'webgpu' && process.env.SOUNDTRACK_FUSED !== '0') return linearWebGpu(x, w, bias);
  return tf.add(matMul(x, w), bias) as tf.Tensor2D;
}
