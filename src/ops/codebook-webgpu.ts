/**
 * Vector quantisation (distance + argmin + lookup, the two VQ losses) as WGSL programs, beside its
 * reference (Codebook.quantize in ../models/codebook.ts: nearest by ‖e‖² − 2·z·e, lookupRows,
 * stopGradient, straightThrough, two mean squared errors: ~40 dispatches per level on webgpu).
 *
 *   forward  (1) a thread per row: the nearest code (by ‖z − e‖²), its vector, the row's squared error
 *            (2) one workgroup: the mean squared error → the commitment and codebook loss values
 *   backward commitment: dz = dc · 2(z − e_id)/(N·D)                                (1 dispatch)
 *            codebook:   de_k = dcb · 2(count_k·e_k − Σ_{id_i = k} z_i)/(N·D)      (1 dispatch, a workgroup per code)
 *            quantised:  straight through (dz = dq, no dispatch)
 * flat [N, D], embeddings [K, D]. The ids are data (no gradient), as in the reference.
 */
import * as tf from '@tensorflow/tfjs';
import { straightThrough } from './gradient';
import { elementwiseProgram, runProgram } from './webgpu-program';
import { RAW_WG, runRaw, threads, WG_REDUCE } from './webgpu-raw';

export interface QuantizeWebGpu {
  ids: tf.Tensor1D;
  /** Quantised rows [N, D]: value e_id, gradient straight through to `flat`. */
  quantized: tf.Tensor2D;
  /** mean ‖z − sg(e)‖² (gradient to `flat` only). */
  commitLoss: tf.Scalar;
  /** mean ‖sg(z) − e‖² (gradient to the embeddings only). */
  codebookLoss: tf.Scalar;
}

export function quantizeWebGpu(flat: tf.Tensor2D, embeddings: tf.Tensor2D): QuantizeWebGpu {
  const [N, D] = flat.shape;
  const K = embeddings.shape[0];
  const key = `${N}_${D}_${K}`;
  const prelude = `const N = ${N}; const D = ${D}; const K = ${K};`;
  const [ids, q, err] = runRaw(
    'vq_nearest',
    key,
    [
      { name: 'Z', tensor: flat },
      { name: 'E', tensor: embeddings },
    ],
    [
      { name: 'Ids', shape: [N], dtype: 'int32' },
      { name: 'Q', shape: [N, D] },
      { name: 'Err', shape: [N] },
    ],
    threads(N),
    `
    if (index < N) {
      var z : array<f32, D>;
      for (var c = 0; c < D; c = c + 1) { z[c] = Z[index * D + c]; }
      var best = 0; var bestD = 3.0e38;
      for (var k = 0; k < K; k = k + 1) {
        var s = 0.0;
        for (var c = 0; c < D; c = c + 1) { let e = z[c] - E[k * D + c]; s = s + e * e; }
        if (s < bestD) { bestD = s; best = k; }
      }
      Ids[index] = best;
      var s = 0.0;
      for (var c = 0; c < D; c = c + 1) { let e = E[best * D + c]; Q[index * D + c] = e; s = s + (z[c] - e) * (z[c] - e); }
      Err[index] = s;
    }`,
    prelude,
  ) as [tf.Tensor1D, tf.Tensor2D, tf.Tensor1D];
  const [commitValue, codebookValue] = runRaw(
    'vq_loss',
    key,
    [{ name: 'Err', tensor: err }],
    [
      { name: 'Commit', shape: [] },
      { name: 'Codebook', shape: [] },
    ],
    1,
    `
    var acc = 0.0;
    for (var k = li; k < N; k = k + ${RAW_WG}) { acc = acc + Err[k]; }
    ${WG_REDUCE}
    if (li == 0) { let m = partial[0] / f32(N * D); Commit[0] = m; Codebook[0] = m; }`,
    `${prelude}\nvar<workgroup> partial : array<f32, ${RAW_WG}>;`,
  ) as [tf.Scalar, tf.Scalar];
  err.dispose();
  const scale = 2 / (N * D);

  const commit = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const z = args[0] as tf.Tensor2D;
    (args[1] as tf.GradSaveFunc)([z, q]);
    return {
      value: tf.clone(commitValue),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        runProgram(
          elementwiseProgram(
            'vq_dcommit',
            [N, D],
            ['Z', 'Q', 'Dy'],
            'scale : f32,',
            `setOutputAtIndex(index, (Z[index] - Q[index]) * uniforms.scale * Dy[0]);`,
          ),
          [saved[0] as tf.Tensor, saved[1] as tf.Tensor, dy],
          [{ type: 'float32', data: [scale] }],
        ),
    };
  });
  const codebook = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const e = args[0] as tf.Tensor2D;
    (args[1] as tf.GradSaveFunc)([e, flat, ids]);
    return {
      value: tf.clone(codebookValue),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        runRaw(
          'vq_dcodebook',
          key,
          [
            { name: 'E', tensor: saved[0] as tf.Tensor },
            { name: 'Z', tensor: saved[1] as tf.Tensor },
            { name: 'Ids', tensor: saved[2] as tf.Tensor },
            { name: 'Dy', tensor: dy },
          ],
          [{ name: 'DE', shape: [K, D] }],
          K,
          `
          let k = group;
          var sum : array<f32, D>;
          var count = 0.0;
          for (var i = li; i < N; i = i + ${RAW_WG}) {
            if (Ids[i] == k) {
              count = count + 1.0;
              for (var c = 0; c < D; c = c + 1) { sum[c] = sum[c] + Z[i * D + c]; }
            }
          }
          var acc = count;
          ${WG_REDUCE}
          let total = partial[0];
          for (var c = 0; c < D; c = c + 1) {
            workgroupBarrier();
            acc = sum[c];
            ${WG_REDUCE}
            if (li == 0) { DE[k * D + c] = Dy[0] * ${scale} * (total * E[k * D + c] - partial[0]); }
          }`,
          `${prelude}\nvar<workgroup> partial : array<f32, ${RAW_WG}>;`,
        )[0] as tf.Tensor,
    };
  });
  const out: QuantizeWebGpu = {
    ids,
    quantized: straightThrough(flat, q),
    commitLoss: commit(flat) as tf.Scalar,
    codebookLoss: codebook(embeddings) as tf.Scalar,
  };
  tf.dispose([commitValue, codebookValue]);
  return out;
}
