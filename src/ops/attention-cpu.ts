/**
 * Attention forward and backward in plain Float32Array loops, for the CPU backends (cpu, wasm).
 *
 * Why by hand: on tfjs-wasm a batched matMul with more than one batch entry falls back to a slow
 * generic loop (measured 0.35 GFLOPS for the heads × queries × keys products of the prior) and Exp
 * is not vectorised, so tensor-op attention cost 12 s per Top-prior step (quick preset). Row by row
 * in JS, causal rows stop at the diagonal (half the work), probabilities are never materialised
 * beyond one row, and the backward pass recomputes them from the saved log-sum-exp.
 * Keys and values are transposed per head first ([d][tk]) so every inner loop runs over keys,
 * contiguous in memory — what V8 compiles best.
 * Layout: q [bh, tq, d], k [bh, tk, d], v [bh, tk, dv]; query i sees the keys in keyRange(i) (inclusive).
 */
import type { KeyRange } from './attention-mask';

export interface CpuAttentionForward {
  out: Float32Array;
  lse: Float32Array;
}

/** [tk, d] block at `offset` → [d][tk] */
function transposeBlock(src: Float32Array, offset: number, tk: number, d: number, dst: Float32Array): void {
  for (let j = 0; j < tk; j++) for (let c = 0; c < d; c++) dst[c * tk + j] = src[offset + j * d + c];
}

export function attentionForwardCpu(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  bh: number,
  tq: number,
  tk: number,
  d: number,
  dv: number,
  range: KeyRange,
): CpuAttentionForward {
  const scale = 1 / Math.sqrt(d);
  const out = new Float32Array(bh * tq * dv);
  const lse = new Float32Array(bh * tq);
  const s = new Float32Array(tk);
  const kT = new Float32Array(d * tk);
  const vT = new Float32Array(dv * tk);
  for (let b = 0; b < bh; b++) {
    transposeBlock(k, b * tk * d, tk, d, kT);
    transposeBlock(v, b * tk * dv, tk, dv, vT);
    for (let i = 0; i < tq; i++) {
      const [lo, hi] = range(i);
      const qi = (b * tq + i) * d;
      s.fill(0, lo, hi + 1);
      for (let c = 0; c < d; c++) {
        const qc = q[qi + c] * scale;
        const row = c * tk;
        for (let j = lo; j <= hi; j++) s[j] = s[j] + qc * kT[row + j];
      }
      let max = -Infinity;
      for (let j = lo; j <= hi; j++) if (s[j] > max) max = s[j];
      let sum = 0;
      for (let j = lo; j <= hi; j++) {
        const e = Math.exp(s[j] - max);
        s[j] = e;
        sum += e;
      }
      const inv = 1 / sum;
      const oi = (b * tq + i) * dv;
      for (let c = 0; c < dv; c++) {
        const row = c * tk;
        let acc = 0;
        for (let j = lo; j <= hi; j++) acc += s[j] * vT[row + j];
        out[oi + c] = acc * inv;
      }
      lse[b * tq + i] = max + Math.log(sum);
    }
  }
  return { out, lse };
}

export function attentionBackwardCpu(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  out: Float32Array,
  lse: Float32Array,
  dOut: Float32Array,
  bh: number,
  tq: number,
  tk: number,
  d: number,
  dv: number,
  range: KeyRange,
): { dq: Float32Array; dk: Float32Array; dv: Float32Array } {
  const scale = 1 / Math.sqrt(d);
  const dq = new Float32Array(q.length);
  const dk = new Float32Array(k.length);
  const dV = new Float32Array(v.length);
  const kT = new Float32Array(d * tk);
  const vT = new Float32Array(dv * tk);
  const dkT = new Float32Array(d * tk);
  const dvT = new Float32Array(dv * tk);
  const p = new Float32Array(tk);
  const ds = new Float32Array(tk);
  for (let b = 0; b < bh; b++) {
    transposeBlock(k, b * tk * d, tk, d, kT);
    transposeBlock(v, b * tk * dv, tk, dv, vT);
    dkT.fill(0);
    dvT.fill(0);
    for (let i = 0; i < tq; i++) {
      const [lo, hi] = range(i);
      const qi = (b * tq + i) * d;
      const oi = (b * tq + i) * dv;
      const l = lse[b * tq + i];
      // p_j = exp(q·k_j·scale − lse)
      p.fill(0, lo, hi + 1);
      for (let c = 0; c < d; c++) {
        const qc = q[qi + c] * scale;
        const row = c * tk;
        for (let j = lo; j <= hi; j++) p[j] = p[j] + qc * kT[row + j];
      }
      for (let j = lo; j <= hi; j++) p[j] = Math.exp(p[j] - l);
      // dV_j += p_j dO_i ;  dP_j = dO_i · v_j
      let rowDot = 0;
      for (let c = 0; c < dv; c++) rowDot += dOut[oi + c] * out[oi + c];
      ds.fill(0, lo, hi + 1);
      for (let c = 0; c < dv; c++) {
        const g = dOut[oi + c];
        const row = c * tk;
        for (let j = lo; j <= hi; j++) {
          dvT[row + j] = dvT[row + j] + p[j] * g;
          ds[j] = ds[j] + g * vT[row + j];
        }
      }
      // dS_j = p_j (dP_j − rowDot) · scale
      for (let j = lo; j <= hi; j++) ds[j] = p[j] * (ds[j] - rowDot) * scale;
      // dQ_i = Σ_j dS_j k_j ;  dK_j += dS_j q_i
      for (let c = 0; c < d; c++) {
        const row = c * tk;
        const qc = q[qi + c];
        let acc = 0;
        for (let j = lo; j <= hi; j++) {
          const g = ds[j];
          acc += g * kT[row + j];
          dkT[row + j] = dkT[row + j] + g * qc;
        }
        dq[qi + c] = acc;
      }
    }
    for (let j = 0; j < tk; j++) {
      for (let c = 0; c < d; c++) dk[(b * tk + j) * d + c] = dkT[c * tk + j];
      for (let c = 0; c < dv; c++) dV[(b * tk + j) * dv + c] = dvT[c * tk + j];
    }
  }
  return { dq, dk, dv: dV };
}
