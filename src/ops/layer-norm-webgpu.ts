/**
 * Layer normalisation of rows x [rows, d] as WGSL programs (reference: layerNormReference in
 * ./layer-norm.ts). Forward: one dispatch (a thread per row: two-pass mean and biased variance, as
 * tf.moments). Backward: dx = (g − mean(g) − x̂·mean(g·x̂)) / σ with g = dy·γ and the row
 * statistics (mean, 1/σ) in one dispatch (a thread per row), dγ = Σ dy·x̂ and dβ = Σ dy in another (a
 * workgroup per entry): 2 dispatches.
 */
import * as tf from '@tensorflow/tfjs';
import { elementwiseProgram, runProgram } from './webgpu-program';
import { RAW_WG, runRaw, threads, WG_REDUCE } from './webgpu-raw';

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

/** dx (a thread per row: its statistics, then dx) and the rows' statistics (mean, 1/σ) for dγ, dβ: 1 dispatch. */
function inputGrad(dy: tf.Tensor, x: tf.Tensor, gamma: tf.Tensor, rows: number, d: number, eps: number): [tf.Tensor, tf.Tensor] {
  return runRaw(
    'layernorm_dx',
    `${rows}_${d}_${eps}`,
    [
      { name: 'Dy', tensor: dy },
      { name: 'X', tensor: x },
      { name: 'Gamma', tensor: gamma },
    ],
    [
      { name: 'Dx', shape: [rows, d] },
      { name: 'Stats', shape: [rows, 2] },
    ],
    threads(rows),
    `
    if (index < ROWS) {
      var s = 0.0;
      for (var c = 0; c < D; c = c + 1) { s = s + X[index * D + c]; }
      let mean = s / f32(D);
      var v = 0.0;
      for (var c = 0; c < D; c = c + 1) { let e = X[index * D + c] - mean; v = v + e * e; }
      let rstd = 1.0 / sqrt(v / f32(D) + EPS);
      var sg = 0.0; var sgx = 0.0;
      for (var c = 0; c < D; c = c + 1) {
        let g = Dy[index * D + c] * Gamma[c];
        sg = sg + g; sgx = sgx + g * (X[index * D + c] - mean) * rstd;
      }
      let mg = sg / f32(D); let mgx = sgx / f32(D);
      for (var c = 0; c < D; c = c + 1) {
        let xh = (X[index * D + c] - mean) * rstd;
        Dx[index * D + c] = (Dy[index * D + c] * Gamma[c] - mg - xh * mgx) * rstd;
      }
      Stats[index * 2] = mean; Stats[index * 2 + 1] = rstd;
    }`,
    `const ROWS = ${rows}; const D = ${d}; const EPS = ${eps};`,
  ) as [tf.Tensor, tf.Tensor];
}

/** dγ = Σ dy·x̂ and dβ = Σ dy: a workgroup per entry, 1 dispatch. */
function paramGrads(dy: tf.Tensor, x: tf.Tensor, st: tf.Tensor, rows: number, d: number): tf.Tensor[] {
  return runRaw(
    'layernorm_dparams',
    `${rows}_${d}`,
    [
      { name: 'Dy', tensor: dy },
      { name: 'X', tensor: x },
      { name: 'Stats', tensor: st },
    ],
    [
      { name: 'DG', shape: [d] },
      { name: 'DB', shape: [d] },
    ],
    2 * d,
    `
    let o = group % D; let beta = group >= D;
    var acc = 0.0;
    for (var k = li; k < ROWS; k = k + ${RAW_WG}) {
      let g = Dy[k * D + o];
      acc = acc + select(g * (X[k * D + o] - Stats[k * 2]) * Stats[k * 2 + 1], g, beta);
    }
    ${WG_REDUCE}
    if (li == 0) { if (beta) { DB[o] = partial[0]; } else { DG[o] = partial[0]; } }`,
    `const ROWS = ${rows}; const D = ${d};\nvar<workgroup> partial : array<f32, ${RAW_WG}>;`,
  );
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
        const [dx, st] = inputGrad(dy, sx, sg, rows, d, epsilon);
        const [dg, db] = paramGrads(dy, sx, st, rows, d) as [tf.Tensor, tf.Tensor];
        st.dispose();
        return [dx, dg, db];
      },
    };
  });
  return f(x, gamma, beta) as tf.Tensor2D;
}
