/**
 * The transformer's feed-forward block, y = dropout(relu(x·W1 + b1))·W2 + b2, as one op with a
 * hand-written gradient that keeps only x and the hidden activation h for the backward pass.
 *
 * Why: taped op by op, the block keeps ~8 tensors of [tokens, FF] alive per layer (matMul output,
 * bias sum, relu, the dropout mask and its arithmetic); at FF 1024 that is most of a prior's
 * activation memory (batch 4 × 901 tokens: ~120 MB per layer, 18 layers). The relu and dropout
 * gradients are both recoverable from h: dh_pre = dh ⊙ [h > 0] / keep, because h > 0 exactly where
 * the unit was active and not dropped. The dropout mask is drawn by tf.dropout with the same seed,
 * so the maths and the random stream equal the taped version (tested).
 */
import * as tf from '@tensorflow/tfjs';
import { reluDropoutWebGpu } from './dropout-webgpu';
import { columnSumWebGpu } from './linear-webgpu';
import { matMul, matMulT } from './matmul';
import { elementwiseProgram, fusedWebGpuOps, runProgram } from './webgpu-program';

/** dh · [h > 0] · scale in one WGSL program (h is the hidden activation after ReLU and dropout). */
function reluMaskWebGpu(dh: tf.Tensor2D, h: tf.Tensor2D, scale: number): tf.Tensor2D {
  const program = elementwiseProgram(
    'relu_mask',
    dh.shape,
    ['Dh', 'H'],
    'scale : f32,',
    'setOutputAtIndex(index, select(0.0, Dh[index] * uniforms.scale, H[index] > 0.0));',
  );
  return runProgram(program, [dh, h], [{ type: 'float32', data: [scale] }]) as tf.Tensor2D;
}

export interface FeedForwardWeights {
  w1: tf.Tensor2D;
  b1: tf.Tensor1D;
  w2: tf.Tensor2D;
  b2: tf.Tensor1D;
}

/** Taped reference (the layout the model used before): same outputs and gradients. */
export function feedForwardReference(x: tf.Tensor2D, w: FeedForwardWeights, dropout: { rate: number; seed: number } | null): tf.Tensor2D {
  return tf.tidy(() => {
    let h = tf.relu(tf.add(matMul(x, w.w1), w.b1)) as tf.Tensor2D;
    if (dropout && dropout.rate > 0) h = tf.dropout(h, dropout.rate, undefined, dropout.seed) as tf.Tensor2D;
    return tf.add(matMul(h, w.w2), w.b2) as tf.Tensor2D;
  });
}

/** x [n, d] → [n, d]. `dropout` null (or rate 0) = no dropout. */
export function feedForward(x: tf.Tensor2D, w: FeedForwardWeights, dropout: { rate: number; seed: number } | null): tf.Tensor2D {
  const rate = dropout ? dropout.rate : 0;
  // webgpu: products with bias in tfjs' fused matMul; ReLU + dropout, and the gradient's ReLU/dropout mask, one program each
  const fused = fusedWebGpuOps();
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xx, w1, b1, w2, b2] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D];
    const h = tf.tidy(() => {
      if (fused) {
        // under a gradient tape tfjs fuses only a linear activation: ReLU (and dropout) in one program of ours
        const a = tf.fused.matMul({ a: xx, b: w1, bias: b1 }) as tf.Tensor2D;
        return (rate > 0 && dropout ? reluDropoutWebGpu(a, rate, dropout.seed) : tf.relu(a)) as tf.Tensor2D;
      }
      const a = tf.relu(tf.add(tf.matMul(xx, w1), b1)) as tf.Tensor2D;
      return rate > 0 && dropout ? (tf.dropout(a, rate, undefined, dropout.seed) as tf.Tensor2D) : a;
    });
    const y = tf.tidy(() => (fused ? (tf.fused.matMul({ a: h, b: w2, bias: b2 }) as tf.Tensor2D) : (tf.add(tf.matMul(h, w2), b2) as tf.Tensor2D)));
    (args[5] as tf.GradSaveFunc)([xx, w1, w2, h]);
    h.dispose();
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [sx, sw1, sw2, sh] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
          const g = dy as tf.Tensor2D;
          const dW2 = matMulT(sh, g, true, false);
          const db2 = fused ? columnSumWebGpu(g) : tf.sum(g, 0);
          const dhAll = matMulT(g, sw2, false, true);
          let dh: tf.Tensor2D;
          if (fused) dh = reluMaskWebGpu(dhAll, sh, 1 / (1 - rate));
          else {
            dh = tf.mul(dhAll, tf.step(sh)) as tf.Tensor2D;
            if (rate > 0) dh = tf.mul(dh, 1 / (1 - rate));
          }
          // dW1 = xᵀ·dh, computed as (dhᵀ·x)ᵀ: with the wide dh as the left operand XNNPACK runs ~3× faster
          // on wasm ([100, n] × [n, 1024] packs the whole dh as weights); elsewhere the native flags.
          const dW1 = tf.getBackend() === 'wasm' ? tf.transpose(tf.matMul(tf.transpose(dh), sx)) : matMulT(sx, dh, true, false);
          const db1 = fused ? columnSumWebGpu(dh) : tf.sum(dh, 0);
          const dx = matMulT(dh, sw1, false, true);
          return [dx, dW1, db1, dW2, db2];
        }),
    };
  });
  return f(x, w.w1, w.b1, w.w2, w.b2) as tf.Tensor2D;
}
