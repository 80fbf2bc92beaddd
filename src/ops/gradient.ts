/**
 * Gradient plumbing missing from tfjs: stop-gradient, a straight-through estimator, and a row
 * lookup (codebook / embedding) whose gradient is a segment sum computed with whichever kernel the
 * backend has (UnsortedSegmentSum, else ScatterNd), never a gather with graph-computed indices.
 */
import * as tf from '@tensorflow/tfjs';

/** Identity in the forward pass, zero gradient (PyTorch's detach / TF's stop_gradient). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const a = args[0] as tf.Tensor;
    return { value: tf.clone(a), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
  });
  return f(x) as T;
}

/**
 * Straight-through estimator: the value of `quantized`, the gradient of `x`.
 * Same as x + stopGradient(quantized − x), in one op.
 */
export function straightThrough<T extends tf.Tensor>(x: T, quantized: T): T {
  const q = quantized;
  const f = tf.customGrad((..._args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    return { value: tf.clone(q), gradFunc: (dy: tf.Tensor) => dy };
  });
  return f(x) as T;
}

/** Sum rows of `values` [n, d] into `numSegments` rows by `ids` [n] (int32). */
export function segmentSum(values: tf.Tensor2D, ids: tf.Tensor1D, numSegments: number): tf.Tensor2D {
  const backend = tf.getBackend();
  if (tf.getKernel(tf.UnsortedSegmentSum, backend)) return tf.unsortedSegmentSum(values, ids, numSegments);
  // ScatterNd sums duplicate indices (tfjs' documented semantics; tested on each backend).
  return tf.tidy(() => tf.scatterND(tf.reshape(ids, [-1, 1]), values, [numSegments, values.shape[1]]));
}

/**
 * rows = table[ids], with d(table) = segmentSum(dy, ids). `ids` are data, not part of the gradient
 * graph (they usually come from an argmin), so they are captured, not differentiated.
 */
export function lookupRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const [rows] = table.shape;
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const t = args[0] as tf.Tensor2D;
    // save() keeps ids alive until the backward pass (the forward scope disposes everything else).
    (args[1] as tf.GradSaveFunc)([ids]);
    return {
      value: tf.gather(t, ids),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => segmentSum(dy as tf.Tensor2D, saved[0] as tf.Tensor1D, rows),
    };
  });
  return f(table) as tf.Tensor2D;
}
