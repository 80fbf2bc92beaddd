/**
 * Cross-entropy over a large vocabulary with a hand-written gradient (softmax − target), so no
 * gather gradient (UnsortedSegmentSum, missing on wasm) and no saved one-hot matrix are needed.
 * logits [n, vocab], targets int32 [n]; mean over n. Label smoothing ε spreads ε over the vocabulary.
 */
import * as tf from '@tensorflow/tfjs';

export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D, labelSmoothing = 0): tf.Scalar {
  const [n, vocab] = logits.shape;
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const z = args[0] as tf.Tensor2D;
    (args[1] as tf.GradSaveFunc)([z, targets]);
    const value = tf.tidy(() => {
      const logp = tf.logSoftmax(z);
      const rows = tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(vocab, 'int32'));
      const picked = tf.gather(tf.reshape(logp, [-1]), tf.add(rows, tf.cast(targets, 'int32')));
      const nll = tf.neg(tf.mean(picked));
      if (labelSmoothing === 0) return nll;
      return tf.add(tf.mul(nll, 1 - labelSmoothing), tf.mul(tf.neg(tf.mean(logp)), labelSmoothing));
    });
    return {
      value: value as tf.Scalar,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [sz, st] = saved as [tf.Tensor2D, tf.Tensor1D];
          const target = tf.add(tf.mul(tf.oneHot(st, vocab), 1 - labelSmoothing), labelSmoothing / vocab);
          return [tf.mul(tf.div(tf.sub(tf.softmax(sz), target), n), dy)];
        }),
    };
  });
  return f(logits) as tf.Scalar;
}
