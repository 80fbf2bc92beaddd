/**
 * Dropout, optionally followed by a residual add — y = x + dropout(s) or y = dropout(s) — as one
 * WGSL program forward and one backward, beside its reference (tf.dropout and tf.add: Add, Floor,
 * RealDiv, Multiply and the add forward, two products backward, per call).
 *
 * Same random stream and same float32 arithmetic as tf.dropout: the uniform noise comes from
 * tf.randomUniform with the same seed (drawn in JS as tfjs does, then uploaded), the multiplier is
 * floor(u + keep) / keep. The gradient: dx = dy (no dispatch), ds = dy · multiplier.
 */
import * as tf from '@tensorflow/tfjs';
import { elementwiseProgram, runProgram } from './webgpu-program';

export function dropoutAddReference(x: tf.Tensor | null, s: tf.Tensor, rate: number, seed: number): tf.Tensor {
  const d = tf.dropout(s, rate, undefined, seed);
  return x ? tf.add(x, d) : d;
}

const MULTIPLIER = 'fn multiplier(u : f32) -> f32 { return floor(u + uniforms.keep) / uniforms.keep; }';

/** x + dropout(s) (x null: dropout(s)) on webgpu: 1 dispatch forward, 1 backward. */
export function dropoutAddWebGpu<T extends tf.Tensor>(x: T | null, s: T, rate: number, seed: number): T {
  const keep = 1 - rate;
  const uniforms = [{ type: 'float32' as const, data: [keep] }];
  const u = tf.randomUniform(s.shape, 0, 1, 'float32', seed);
  const shape = s.shape;
  const grad = (dy: tf.Tensor, saved: tf.Tensor[]) =>
    runProgram(
      elementwiseProgram('dropout_bwd', shape, ['Dy', 'U'], 'keep : f32,', 'setOutputAtIndex(index, Dy[index] * multiplier(U[index]));', MULTIPLIER),
      [dy, saved[0] as tf.Tensor],
      uniforms,
    );
  if (!x) {
    const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      (args[1] as tf.GradSaveFunc)([u]);
      return {
        value: runProgram(
          elementwiseProgram('dropout_fwd', shape, ['S', 'U'], 'keep : f32,', 'setOutputAtIndex(index, S[index] * multiplier(U[index]));', MULTIPLIER),
          [args[0] as tf.Tensor, u],
          uniforms,
        ),
        gradFunc: grad,
      };
    });
    const y = f(s) as T;
    u.dispose();
    return y;
  }
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    (args[2] as tf.GradSaveFunc)([u]);
    return {
      value: runProgram(
        elementwiseProgram(
          'dropout_add_fwd',
          shape,
          ['X', 'S', 'U'],
          'keep : f32,',
          'setOutputAtIndex(index, X[index] + S[index] * multiplier(U[index]));',
          MULTIPLIER,
        ),
        [args[0] as tf.Tensor, args[1] as tf.Tensor, u],
        uniforms,
      ),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.clone(dy), grad(dy, saved)],
    };
  });
  if (x.shape.join(',') !== shape.join(',')) throw new Error(`dropoutAdd: shapes [${x.shape}] and [${shape}] differ`);
  const y = f(x, s) as T;
  u.dispose();
  return y;
}

/** dropout(relu(s)) in one program, no gradient (for the feed-forward's forward pass, whose gradient is its own). */
export function reluDropoutWebGpu(s: tf.Tensor, rate: number, seed: number): tf.Tensor {
  const u = tf.randomUniform(s.shape, 0, 1, 'float32', seed);
  const program = elementwiseProgram(
    'relu_dropout_fwd',
    s.shape,
    ['S', 'U'],
    'keep : f32,',
    'setOutputAtIndex(index, max(S[index], 0.0) * multiplier(U[index]));',
    MULTIPLIER,
  );
  const y = runProgram(program, [s, u], [{ type: 'float32', data: [1 - rate] }]);
  u.dispose();
  return y;
}
