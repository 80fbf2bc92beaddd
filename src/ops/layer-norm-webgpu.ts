/**
 * Layer normalisation of rows x [rows, d] as WGSL programs (reference: layerNormReference in
 * ./layer-norm.ts). Forward: one dispatch (a thread per row: two-pass mean and biased variance, as
 * tf.moments). Backward: row statistics (mean, 1/σ), dx = (g − mean(g) − x̂·mean(g·x̂)) / σ with
 * g = dy·γ (a thread per row), dγ = Σ dy·x̂ and dβ = Σ dy (a workgroup per column): 4 dispatches.
 */
import * as tf from '@tensorflow/tfjs';
import { elementwiseProgram, reductionProgram, runProgram } from './webgpu-program';

const U = 'eps : f32, units : i32,';

const STATS = `
  fn rowStats(r : i32, d : i32) -> vec2<f32> {
    var s = 0.0;
    for (var c = 0; c < d; c = c + 1) { s = s + X[r * d + c]; }
    let mean = s / f32(d);
    var v = 0.0;
    for (var c = 0; c < d; c = c + 1) { let e = X[r * d + c] - mean; v = v + e * e; }
    return vec2<f32>(mean, 1.0 / sqrt(v / f32(d) + uniforms.eps));
  }`;

function forward(rows: number, d: number) {
  return elementwiseProgram(
    'layernorm_fwd',
    [rows, d],
    ['X', 'Gamma', 'Beta'],
    U,
    `
    let d = uniforms.xShape.y;
    let st = rowStats(index, d);
    for (var c = 0; c < d; c = c + 1) {
      setOutputAtIndex(index * d + c, (X[index * d + c] - st.x) * st.y * Gamma[c] + Beta[c]);
    }`,
    STATS,
    rows,
  );
}

function stats(rows: number) {
  return elementwiseProgram(
    'layernorm_stats',
    [rows, 2],
    ['X'],
    U,
    `
    let st = rowStats(index, uniforms.xShape.y);
    setOutputAtIndex(index * 2, st.x);
    setOutputAtIndex(index * 2 + 1, st.y);`,
    STATS,
    rows,
  );
}

function inputGrad(rows: number, d: number) {
  return elementwiseProgram(
    'layernorm_dx',
    [rows, d],
    ['Dy', 'X', 'Gamma', 'Stats'],
    U,
    `
    let d = uniforms.xShape.y;
    let mean = Stats[index * 2]; let rstd = Stats[index * 2 + 1];
    var sg = 0.0; var sgx = 0.0;
    for (var c = 0; c < d; c = c + 1) {
      let g = Dy[index * d + c] * Gamma[c];
      sg = sg + g; sgx = sgx + g * (X[index * d + c] - mean) * rstd;
    }
    let mg = sg / f32(d); let mgx = sgx / f32(d);
    for (var c = 0; c < d; c = c + 1) {
      let xh = (X[index * d + c] - mean) * rstd;
      setOutputAtIndex(index * d + c, (Dy[index * d + c] * Gamma[c] - mg - xh * mgx) * rstd);
    }`,
    '',
    rows,
  );
}

function gammaGrad(d: number) {
  return reductionProgram(
    'layernorm_dgamma',
    [d],
    ['Dy', 'X', 'Stats'],
    U,
    `let d = uniforms.xShape.y; let n = uniforms.xShape.x;`,
    'n',
    `Dy[k * d + o] * (X[k * d + o] - Stats[k * 2]) * Stats[k * 2 + 1]`,
  );
}

function betaGrad(d: number) {
  return reductionProgram('layernorm_dbeta', [d], ['Dy'], U, `let d = uniforms.dyShape.y; let n = uniforms.dyShape.x;`, 'n', `Dy[k * d + o]`);
}

/** y = layerNorm(x) · γ + β for x [rows, d]; gradients for x, γ and β. */
export function layerNormWebGpu(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon = 1e-5): tf.Tensor2D {
  const [rows, d] = x.shape;
  const uniforms = (units: number) => [
    { type: 'float32' as const, data: [epsilon] },
    { type: 'int32' as const, data: [units] },
  ];
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xx, g, b] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
    (args[3] as tf.GradSaveFunc)([xx, g]);
    return {
      value: runProgram(forward(rows, d), [xx, g, b], uniforms(rows)) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sg] = saved as [tf.Tensor2D, tf.Tensor1D];
        const st = runProgram(stats(rows), [sx], uniforms(rows));
        const dx = runProgram(inputGrad(rows, d), [dy, sx, sg, st], uniforms(rows));
        const dg = runProgram(gammaGrad(d), [dy, sx, st], uniforms(d));
        const db = runProgram(betaGrad(d), [dy], uniforms(d));
        st.dispose();
        return [dx, dg, db];
      },
    };
  });
  return f(x, gamma, beta) as tf.Tensor2D;
}
