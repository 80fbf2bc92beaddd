/**
 * Scaled dot-product attention, softmax(Q·Kᵀ/√d + mask)·V, for q [b, tq, d], k/v [b, tk, d]
 * (heads folded into b).
 *
 * `attention` is memory-efficient: the forward pass keeps only its inputs and output (the CPU loops
 * also each query's log-sum-exp); the backward pass recomputes the probabilities chunk by chunk
 * (as FlashAttention does). The bottom prior's 3,600-token decoder would otherwise keep a
 * 3,600 × 3,600 probability matrix per head and layer for the backward pass (≈ 10 GB at batch 4).
 * `attentionReference` is the same maths in plain taped ops, for parity tests.
 * Which keys a query sees (causal, local windows) comes from attention-mask.ts for every implementation.
 */
import * as tf from '@tensorflow/tfjs';
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
function maskTensor(attn: AttentionOptions, start: number, n: number, tq: number, tk: number): tf.Tensor2D | null {
  if (isFull(attn, tq, tk)) return null;
  return tf.tensor2d(maskRows(keyRange(attn, tq, tk), start, n, tk), [n, tk]);
}

export function attentionReference(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, attn: AttentionOptions): tf.Tensor3D {
  return tf.tidy(() => {
    const scale = 1 / Math.sqrt(q.shape[2]);
    let s = tf.mul(tf.matMul(q, k, false, true), scale);
    const mask = maskTensor(attn, 0, q.shape[1], q.shape[1], k.shape[1]);
    if (mask) s = tf.add(s, mask);
    return tf.matMul(tf.softmax(s), v) as tf.Tensor3D;
  });
}

/** Attention on the CPU backends: hand-written loops over Float32Arrays (see attention-cpu.ts). */
function attentionOnCpu(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, attn: AttentionOptions): tf.Tensor3D {
  const [bh, tq, d] = q.shape;
  const tk = k.shape[1];
  const dv = v.shape[2];
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qq, kk, vv] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
    const range = keyRange(attn, tq, tk);
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

export type AttentionImpl = 'auto' | 'cpu' | 'ops' | 'blocks';

/**
 * Which implementation `auto` picks. GPU backends: chunked tensor ops. cpu: the JS loops. wasm: the
 * JS loops for local windows (little work per query), per-head blocks for full attention (the
 * thesis preset), where XNNPACK's 2-D matMul does the heavy products.
 */
export function attentionImpl(attn: AttentionOptions, tk: number, backend = tf.getBackend()): Exclude<AttentionImpl, 'auto'> {
  if (backend === 'cpu') return 'cpu';
  if (backend === 'wasm') return attn.window !== null && attn.window !== undefined && attn.window < Math.min(tk, 256) ? 'cpu' : 'blocks';
  return 'ops';
}

/**
 * Memory-efficient attention (see {@link attentionImpl} for which implementation runs); every one
 * recomputes the probabilities in the backward pass. `attn.impl` forces one.
 */
export function attention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, attn: AttentionOptions & { impl?: AttentionImpl }): tf.Tensor3D {
  const impl = !attn.impl || attn.impl === 'auto' ? attentionImpl(attn, k.shape[1]) : attn.impl;
  if (impl === 'cpu') return attentionOnCpu(q, k, v, attn);
  return attentionChunked(q, k, v, attn, impl === 'blocks');
}

/**
 * Chunked attention in tensor ops, with recomputation in the backward pass (as FlashAttention).
 * Queries are cut into chunks; each chunk attends to the span of keys its rows can see (causal chunks
 * skip the masked upper triangle), the softmax and the other element-wise work run once per chunk
 * over all heads, and the backward pass recomputes each chunk's probabilities, so nothing of size
 * queries × keys outlives a chunk. Operands are transposed explicitly, so every product is a plain one.
 *
 * `perHead` (the 'blocks' implementation, for tfjs-wasm): each product is one 2-D matMul per head.
 * Why: on wasm a batched matMul with more than one batch entry runs a generic loop (~0.35 GFLOPS) and
 * transposed operands ~1 GFLOPS, while a plain 2-D matMul goes through XNNPACK (5–15 GFLOPS); the
 * Softmax kernel is also ~5× faster than Exp there. Otherwise ('ops', GPU backends) one batched matMul.
 */
function attentionChunked(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, attn: AttentionOptions, perHeadProducts: boolean): tf.Tensor3D {
  const [bh, tq, d] = q.shape;
  const tk = k.shape[1];
  const dv = v.shape[2];
  const scale = 1 / Math.sqrt(d);
  const range = keyRange(attn, tq, tk);
  const size = Math.max(1, attn.chunk ?? 256);
  interface Block {
    start: number;
    n: number;
    lo: number;
    m: number;
    mask: Float32Array | null;
  }
  const blocks: Block[] = [];
  for (let start = 0; start < tq; start += size) {
    const n = Math.min(size, tq - start);
    // Key ranges are monotone in the query index, so a chunk's span runs from its first row's lo to its last row's hi.
    let lo = tk;
    let hi = -1;
    let ragged = false;
    for (let r = start; r < start + n; r++) {
      const [a, b] = range(r);
      lo = Math.min(lo, a);
      hi = Math.max(hi, b);
    }
    for (let r = start; r < start + n && !ragged; r++) {
      const [a, b] = range(r);
      ragged = a !== lo || b !== hi;
    }
    const m = hi - lo + 1;
    const shifted: typeof range = (i) => {
      const [a, b] = range(i);
      return [a - lo, b - lo];
    };
    blocks.push({ start, n, lo, m, mask: ragged ? maskRows(shifted, start, n, m) : null });
  }

  /** a[h] · b[h] for [bh, r, c] × [bh, c, s] → [bh, r, s]: batched, or per head as 2-D products. */
  const perHead = (a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D => {
    if (!perHeadProducts) return tf.matMul(a, b);
    if (bh === 1)
      return tf.reshape(tf.matMul(tf.reshape(a, a.shape.slice(1) as [number, number]), tf.reshape(b, b.shape.slice(1) as [number, number])), [
        1,
        a.shape[1],
        b.shape[2],
      ]);
    // One contiguous slice per head (cheap with the Slice kernel of backend/wasm-kernels.ts), then stacked.
    const [, r, c] = a.shape;
    const s = b.shape[2];
    const head = (x: tf.Tensor3D, h: number, rows: number, cols: number) => tf.reshape(tf.slice(x, [h, 0, 0], [1, rows, cols]), [rows, cols]) as tf.Tensor2D;
    const outs: tf.Tensor2D[] = [];
    for (let h = 0; h < bh; h++) outs.push(tf.matMul(head(a, h, r, c), head(b, h, c, s)));
    return tf.stack(outs) as tf.Tensor3D;
  };
  const sliceRows = (x: tf.Tensor3D, start: number, n: number): tf.Tensor3D =>
    start === 0 && n === x.shape[1] ? x : tf.slice(x, [0, start, 0], [x.shape[0], n, x.shape[2]]);
  /** Probabilities [bh, n, m] of one block from queries qc and transposed keys kT [bh, d, m]. */
  const probs = (qc: tf.Tensor3D, kT: tf.Tensor3D, blk: Block): tf.Tensor3D => {
    let s = perHead(tf.mul(qc, scale) as tf.Tensor3D, kT);
    if (blk.mask) s = tf.add(s, tf.tensor2d(blk.mask, [blk.n, blk.m]));
    return tf.softmax(s) as tf.Tensor3D;
  };

  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qq, kk, vv] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
    const out = tf.tidy(() => {
      const kT = tf.transpose(kk, [0, 2, 1]) as tf.Tensor3D; // [bh, d, tk]
      const outs = blocks.map((blk) =>
        tf.tidy(() => {
          const kTc = blk.lo === 0 && blk.m === tk ? kT : (tf.slice(kT, [0, 0, blk.lo], [bh, d, blk.m]) as tf.Tensor3D);
          const p = probs(sliceRows(qq, blk.start, blk.n), kTc, blk);
          return perHead(p, sliceRows(vv, blk.lo, blk.m));
        }),
      );
      return outs.length === 1 ? (outs[0] as tf.Tensor3D) : (tf.concat(outs, 1) as tf.Tensor3D);
    });
    (args[3] as tf.GradSaveFunc)([qq, kk, vv, out]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [sq, sk, sv, so] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
          const dO = dy as tf.Tensor3D;
          const kT = tf.transpose(sk, [0, 2, 1]) as tf.Tensor3D; // [bh, d, tk]
          const vT = tf.transpose(sv, [0, 2, 1]) as tf.Tensor3D; // [bh, dv, tk]
          const dqs: tf.Tensor3D[] = [];
          let dk = tf.zeros([bh, tk, d]) as tf.Tensor3D;
          let dV = tf.zeros([bh, tk, dv]) as tf.Tensor3D;
          for (const blk of blocks) {
            const [dqc, dkc, dvc] = tf.tidy(() => {
              const whole = blk.lo === 0 && blk.m === tk;
              const kTc = whole ? kT : (tf.slice(kT, [0, 0, blk.lo], [bh, d, blk.m]) as tf.Tensor3D);
              const vTc = whole ? vT : (tf.slice(vT, [0, 0, blk.lo], [bh, dv, blk.m]) as tf.Tensor3D);
              const qc = sliceRows(sq, blk.start, blk.n);
              const doc = sliceRows(dO, blk.start, blk.n);
              const p = probs(qc, kTc, blk); // [bh, n, m]
              const dP = perHead(doc, vTc); // [bh, n, m]
              const rowDot = tf.sum(tf.mul(doc, sliceRows(so, blk.start, blk.n)), 2, true); // [bh, n, 1]
              const dS = tf.mul(p, tf.mul(tf.sub(dP, rowDot), scale)) as tf.Tensor3D;
              const dQ = perHead(dS, sliceRows(sk, blk.lo, blk.m)); // [bh, n, d]
              // dK = dSᵀ·Q and dV = Pᵀ·dO with dS and P transposed explicitly: the product the other way
              // round (Qᵀ·dS, a [d, n] × [n, m] product) runs at ~3 GFLOPS in XNNPACK, this at ~10.
              const dK = perHead(tf.transpose(dS, [0, 2, 1]) as tf.Tensor3D, qc); // [bh, m, d]
              const dVc = perHead(tf.transpose(p, [0, 2, 1]) as tf.Tensor3D, doc); // [bh, m, dv]
              const pad = (x: tf.Tensor3D) =>
                whole
                  ? x
                  : tf.pad(x, [
                      [0, 0],
                      [blk.lo, tk - blk.lo - blk.m],
                      [0, 0],
                    ]);
              return [dQ, pad(dK), pad(dVc)];
            });
            dqs.push(dqc);
            const nk = tf.add(dk, dkc) as tf.Tensor3D;
            const nv = tf.add(dV, dvc) as tf.Tensor3D;
            tf.dispose([dk, dV, dkc, dvc]);
            dk = nk;
            dV = nv;
          }
          const dq = dqs.length === 1 ? (dqs[0] as tf.Tensor3D) : tf.concat(dqs, 1);
          return [dq, dk, dV];
        }),
    };
  });
  return f(q, k, v) as tf.Tensor3D;
}
