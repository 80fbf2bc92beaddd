/**
 * Scaled dot-product attention, softmax(Q·Kᵀ/√d + mask)·V, for q [b, tq, d], k/v [b, tk, d]
 * (heads folded into b).
 *
 * `attention` is memory-efficient: the forward pass runs over chunks of queries and keeps only the
 * output and each query's log-sum-exp; the backward pass recomputes each chunk's probabilities
 * (as FlashAttention does). The bottom prior's 3,600-token decoder would otherwise keep a
 * 3,600 × 3,600 probability matrix per head and layer for the backward pass (≈ 10 GB at batch 4).
 * `attentionReference` is the same maths in plain taped ops, for parity tests.
 * Which keys a query sees (causal, local windows) comes from attention-mask.ts for every implementation.
 */
import * as tf from '@tensorflow/tfjs';
import { bmm } from './matmul';
import { attentionBackwardCpu, attentionForwardCpu } from './attention-cpu';
import { isFull, keyRange, maskRows } from './attention-mask';

export interface AttentionOptions {
  /** Query i may attend to keys j ≤ i + (tk − tq). */
  causal: boolean;
  /** Local attention: the last W keys (causal) or W aligned keys (non-causal); null = all. */
  window?: number | null;
  /** Nominal query length for aligned windows (see attention-mask.ts). */
  queryLength?: number;
  /** Queries per chunk in the tensor-op implementation (default 256). */
  chunk?: number;
}

/** Additive mask [n, tk] for query rows [start, start + n), or null when nothing is masked. */
function maskTensor(o: AttentionOptions, start: number, n: number, tq: number, tk: number): tf.Tensor2D | null {
  if (isFull(o, tq, tk)) return null;
  return tf.tensor2d(maskRows(keyRange(o, tq, tk), start, n, tk), [n, tk]);
}

export function attentionReference(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, o: AttentionOptions): tf.Tensor3D {
  return tf.tidy(() => {
    const scale = 1 / Math.sqrt(q.shape[2]);
    let s = tf.mul(tf.matMul(q, k, false, true), scale);
    const mask = maskTensor(o, 0, q.shape[1], q.shape[1], k.shape[1]);
    if (mask) s = tf.add(s, mask);
    return tf.matMul(tf.softmax(s), v) as tf.Tensor3D;
  });
}

/** Attention on the CPU backends: hand-written loops over Float32Arrays (see attention-cpu.ts). */
function attentionOnCpu(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, o: AttentionOptions): tf.Tensor3D {
  const [bh, tq, d] = q.shape;
  const tk = k.shape[1];
  const dv = v.shape[2];
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qq, kk, vv] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
    const range = keyRange(o, tq, tk);
    const fwd = attentionForwardCpu(qq.dataSync() as Float32Array, kk.dataSync() as Float32Array, vv.dataSync() as Float32Array, bh, tq, tk, d, dv, range);
    const out = tf.tensor3d(fwd.out, [bh, tq, dv]);
    const lse = tf.tensor2d(fwd.lse, [bh, tq]);
    (args[3] as tf.GradSaveFunc)([qq, kk, vv, out, lse]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, so, sl] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor2D];
        const g = attentionBackwardCpu(
          sq.dataSync() as Float32Array,
          sk.dataSync() as Float32Array,
          sv.dataSync() as Float32Array,
          so.dataSync() as Float32Array,
          sl.dataSync() as Float32Array,
          dy.dataSync() as Float32Array,
          bh,
          tq,
          tk,
          d,
          dv,
          range,
        );
        return [tf.tensor3d(g.dq, [bh, tq, d]), tf.tensor3d(g.dk, [bh, tk, d]), tf.tensor3d(g.dv, [bh, tk, dv])];
      },
    };
  });
  return f(q, k, v) as tf.Tensor3D;
}

/**
 * Memory-efficient attention: on cpu/wasm the hand-written loops, elsewhere chunked tensor ops with
 * recomputation in the backward pass. `o.impl` forces one ('ops' is what GPU backends run).
 */
export function attention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, o: AttentionOptions & { impl?: 'auto' | 'cpu' | 'ops' }): tf.Tensor3D {
  const impl = o.impl ?? 'auto';
  const backend = tf.getBackend();
  if (impl === 'cpu' || (impl === 'auto' && (backend === 'cpu' || backend === 'wasm'))) return attentionOnCpu(q, k, v, o);
  return attentionOps(q, k, v, o);
}

function attentionOps(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, o: AttentionOptions): tf.Tensor3D {
  const [b, tq, d] = q.shape;
  const tk = k.shape[1];
  const dv = v.shape[2];
  const chunk = Math.max(1, o.chunk ?? 256);
  const scale = 1 / Math.sqrt(d);
  const chunks: Array<[number, number]> = [];
  for (let s = 0; s < tq; s += chunk) chunks.push([s, Math.min(chunk, tq - s)]);

  const scores = (qc: tf.Tensor3D, kk: tf.Tensor3D, start: number, n: number) => {
    let s = tf.mul(bmm(qc, kk, false, true), scale) as tf.Tensor3D;
    const mask = maskTensor(o, start, n, tq, tk);
    if (mask) s = tf.add(s, mask);
    return s;
  };

  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qq, kk, vv] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
    const save = args[3] as tf.GradSaveFunc;
    const outs: tf.Tensor3D[] = [];
    const lses: tf.Tensor2D[] = [];
    for (const [start, n] of chunks) {
      const [oc, lse] = tf.tidy(() => {
        const qc = chunks.length === 1 ? qq : tf.slice(qq, [0, start, 0], [b, n, d]);
        const s = scores(qc, kk, start, n);
        const l = tf.logSumExp(s, 2, true); // [b, n, 1]
        const p = tf.exp(tf.sub(s, l));
        return [bmm(p as tf.Tensor3D, vv), tf.reshape(l, [b, n]) as tf.Tensor2D];
      });
      outs.push(oc);
      lses.push(lse);
    }
    const out = outs.length === 1 ? (outs[0] as tf.Tensor3D) : (tf.concat(outs, 1) as tf.Tensor3D);
    const lse = lses.length === 1 ? (lses[0] as tf.Tensor2D) : (tf.concat(lses, 1) as tf.Tensor2D);
    if (outs.length > 1) tf.dispose([...outs, ...lses]);
    save([qq, kk, vv, out, lse]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [sq, sk, sv, so, sl] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor2D];
          const dO = dy as tf.Tensor3D;
          let dk: tf.Tensor3D = tf.zeros([b, tk, d]);
          let dvAcc: tf.Tensor3D = tf.zeros([b, tk, dv]);
          const dqs: tf.Tensor3D[] = [];
          for (const [start, n] of chunks) {
            const [dqc, dkc, dvc] = tf.tidy(() => {
              const one = chunks.length === 1;
              const qc = one ? sq : tf.slice(sq, [0, start, 0], [b, n, d]);
              const doc = one ? dO : tf.slice(dO, [0, start, 0], [b, n, dv]);
              const oc = one ? so : tf.slice(so, [0, start, 0], [b, n, dv]);
              const lc = tf.reshape(one ? sl : tf.slice(sl, [0, start], [b, n]), [b, n, 1]);
              const p = tf.exp(tf.sub(scores(qc, sk, start, n), lc)); // [b, n, tk]
              const dV = bmm(p as tf.Tensor3D, doc, true, false); // [b, tk, dv]
              const dP = bmm(doc, sv, false, true); // [b, n, tk]
              const rowDot = tf.sum(tf.mul(doc, oc), 2, true); // [b, n, 1]
              const dS = tf.mul(tf.mul(p, tf.sub(dP, rowDot)), scale);
              return [bmm(dS as tf.Tensor3D, sk), bmm(dS as tf.Tensor3D, qc, true, false), dV];
            });
            dqs.push(dqc);
            const nk = tf.add(dk, dkc) as tf.Tensor3D;
            const nv = tf.add(dvAcc, dvc) as tf.Tensor3D;
            tf.dispose([dk, dvAcc, dkc, dvc]);
            dk = nk;
            dvAcc = nv;
          }
          const dq = dqs.length === 1 ? (dqs[0] as tf.Tensor3D) : tf.concat(dqs, 1);
          return [dq, dk, dvAcc];
        }),
    };
  });
  return f(q, k, v) as tf.Tensor3D;
}
