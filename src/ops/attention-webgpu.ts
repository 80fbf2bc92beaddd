/**
 * Multi-head attention as WGSL programs (flash-style: nothing of size queries × keys is stored),
 * causal or full, with the local windows of ./attention-mask.ts, beside its references
 * (attentionReference / attention in ./attention.ts; the same maths: softmax(Q·Kᵀ/√d + mask)·V).
 *
 * It reads the packed in-projection directly: `a` [B, TQ, 3·DM] holds the queries (columns 0…DM),
 * `kv` [B, TK, 3·DM] the keys (DM…2·DM) and values (2·DM…3·DM), heads side by side (head h at
 * h·DH); the output is [B, TQ, DM], heads merged. So no slice of the weights, no split or merge of
 * heads (transposes) and one product for self-attention (kv = a). Cross-attention projects both
 * sequences with the whole packed weight and ignores the unused columns (their gradient is zero).
 *
 *   forward   a thread per (batch, head, query): online softmax over its keys → output and log-sum-exp
 *   backward  (1) a thread per query: D = dO·O, then dQ (recomputing the probabilities)
 *             (2) a thread per key: dK and dV (the queries that see it, recomputed)
 * 1 dispatch forward, 2 backward, where the chunked tensor-op version issues ~20 per query chunk.
 */
import * as tf from '@tensorflow/tfjs';
import type { MaskSpec } from './attention-mask';
import { runRaw, threads } from './webgpu-raw';

interface Dims {
  B: number;
  H: number;
  DH: number;
  TQ: number;
  TK: number;
  CAUSAL: number;
  WIN: number;
  NOM: number;
  SELF: number;
}

function prelude(d: Dims): string {
  return `${Object.entries(d)
    .map(([k, v]) => `const ${k} = ${v};`)
    .join(' ')}
  const DM = H * DH; const S = 3 * DM;
  const SCALE = ${1 / Math.sqrt(d.DH)};
  // attention-mask.ts' keyRange, in integers: inclusive [lo, hi] of the keys query i sees
  fn keyRange(i : i32) -> vec2<i32> {
    if (CAUSAL != 0) {
      let hi = min(TK - 1, i + TK - TQ);
      if (WIN > 0) { return vec2<i32>(max(0, hi - WIN + 1), hi); }
      return vec2<i32>(0, hi);
    }
    if (WIN > 0 && WIN < TK) {
      let c = ((2 * i + 1) * TK) / (2 * NOM);
      let lo = max(0, min(TK - WIN, c - WIN / 2));
      return vec2<i32>(lo, lo + WIN - 1);
    }
    return vec2<i32>(0, TK - 1);
  }`;
}

const key = (d: Dims) => Object.values(d).join('_');

function forward(a: tf.Tensor, kv: tf.Tensor, d: Dims): [tf.Tensor, tf.Tensor] {
  return runRaw(
    'attention_fwd',
    key(d),
    [
      { name: 'A', tensor: a },
      { name: 'KV', tensor: kv },
    ],
    [
      { name: 'O', shape: [d.B, d.TQ, d.H * d.DH] },
      { name: 'Lse', shape: [d.B * d.H * d.TQ] },
    ],
    threads(d.B * d.H * d.TQ),
    `
    if (index < B * H * TQ) {
      let i = index % TQ; let bh = index / TQ; let h = bh % H; let b = bh / H;
      let rg = keyRange(i);
      var q : array<f32, DH>; var acc : array<f32, DH>;
      let qb = (b * TQ + i) * S + h * DH;
      for (var c = 0; c < DH; c = c + 1) { q[c] = A[qb + c] * SCALE; }
      var m = -3.0e38; var l = 0.0;
      for (var j = rg.x; j <= rg.y; j = j + 1) {
        let kb = (b * TK + j) * S + DM + h * DH;
        var s = 0.0;
        for (var c = 0; c < DH; c = c + 1) { s = s + q[c] * KV[kb + c]; }
        if (s > m) {
          let corr = exp(m - s);
          l = l * corr;
          for (var c = 0; c < DH; c = c + 1) { acc[c] = acc[c] * corr; }
          m = s;
        }
        let p = exp(s - m);
        l = l + p;
        for (var c = 0; c < DH; c = c + 1) { acc[c] = acc[c] + p * KV[kb + DM + c]; }
      }
      let ob = (b * TQ + i) * DM + h * DH;
      let inv = select(0.0, 1.0 / l, l > 0.0);
      for (var c = 0; c < DH; c = c + 1) { O[ob + c] = acc[c] * inv; }
      Lse[index] = select(0.0, m + log(l), l > 0.0);
    }`,
    prelude(d),
  ) as [tf.Tensor, tf.Tensor];
}

function backward(dO: tf.Tensor, a: tf.Tensor, kv: tf.Tensor, o: tf.Tensor, lse: tf.Tensor, d: Dims): [tf.Tensor, tf.Tensor | null] {
  const [ga, drow] = runRaw(
    'attention_dq',
    key(d),
    [
      { name: 'A', tensor: a },
      { name: 'KV', tensor: kv },
      { name: 'O', tensor: o },
      { name: 'DO', tensor: dO },
      { name: 'Lse', tensor: lse },
    ],
    [
      { name: 'GA', shape: [d.B, d.TQ, 3 * d.H * d.DH] },
      { name: 'Drow', shape: [d.B * d.H * d.TQ] },
    ],
    threads(d.B * d.H * d.TQ),
    `
    if (index < B * H * TQ) {
      let i = index % TQ; let bh = index / TQ; let h = bh % H; let b = bh / H;
      let rg = keyRange(i);
      var q : array<f32, DH>; var g : array<f32, DH>; var dq : array<f32, DH>;
      let qb = (b * TQ + i) * S + h * DH;
      let ob = (b * TQ + i) * DM + h * DH;
      var di = 0.0;
      for (var c = 0; c < DH; c = c + 1) { q[c] = A[qb + c] * SCALE; g[c] = DO[ob + c]; di = di + g[c] * O[ob + c]; }
      let lse = Lse[index];
      for (var j = rg.x; j <= rg.y; j = j + 1) {
        let kb = (b * TK + j) * S + DM + h * DH;
        var s = 0.0; var dp = 0.0;
        for (var c = 0; c < DH; c = c + 1) { s = s + q[c] * KV[kb + c]; dp = dp + g[c] * KV[kb + DM + c]; }
        let ds = exp(s - lse) * (dp - di);
        for (var c = 0; c < DH; c = c + 1) { dq[c] = dq[c] + ds * KV[kb + c]; }
      }
      for (var c = 0; c < DH; c = c + 1) {
        GA[qb + c] = dq[c] * SCALE;
        if (SELF == 0) { GA[qb + DM + c] = 0.0; GA[qb + 2 * DM + c] = 0.0; }
      }
      Drow[index] = di;
    }`,
    prelude(d),
  ) as [tf.Tensor, tf.Tensor];
  const [gkv] = runRaw(
    'attention_dkv',
    key(d),
    [
      { name: 'A', tensor: a },
      { name: 'KV', tensor: kv },
      { name: 'DO', tensor: dO },
      { name: 'Lse', tensor: lse },
      { name: 'Drow', tensor: drow },
    ],
    [d.SELF ? { name: 'GKV', shape: ga.shape, into: ga } : { name: 'GKV', shape: [d.B, d.TK, 3 * d.H * d.DH] }],
    threads(d.B * d.H * d.TK),
    `
    if (index < B * H * TK) {
      let j = index % TK; let bh = index / TK; let h = bh % H; let b = bh / H;
      var k : array<f32, DH>; var v : array<f32, DH>; var dk : array<f32, DH>; var dv : array<f32, DH>;
      let kb = (b * TK + j) * S + DM + h * DH;
      for (var c = 0; c < DH; c = c + 1) { k[c] = KV[kb + c] * SCALE; v[c] = KV[kb + DM + c]; }
      var start = 0;
      if (CAUSAL != 0) { start = max(0, j - (TK - TQ)); }
      for (var i = start; i < TQ; i = i + 1) {
        let rg = keyRange(i);
        if (j >= rg.x && j <= rg.y) {
          let qb = (b * TQ + i) * S + h * DH;
          let ob = (b * TQ + i) * DM + h * DH;
          let r = bh * TQ + i;
          var s = 0.0; var dp = 0.0;
          for (var c = 0; c < DH; c = c + 1) { s = s + A[qb + c] * k[c]; dp = dp + DO[ob + c] * v[c]; }
          let p = exp(s - Lse[r]);
          let ds = p * (dp - Drow[r]);
          for (var c = 0; c < DH; c = c + 1) { dv[c] = dv[c] + p * DO[ob + c]; dk[c] = dk[c] + ds * A[qb + c]; }
        }
      }
      for (var c = 0; c < DH; c = c + 1) {
        GKV[kb + c] = dk[c] * SCALE;
        GKV[kb + DM + c] = dv[c];
        if (SELF == 0) { GKV[kb - DM + c] = 0.0; }
      }
    }`,
    prelude(d),
  ) as [tf.Tensor];
  drow.dispose();
  return [ga, d.SELF ? null : gkv];
}

/**
 * Attention over packed projections: `a` [B, TQ, 3·DM] (queries in the first DM columns; for
 * self-attention also keys and values), `kv` [B, TK, 3·DM] (keys, values) or null for self-attention.
 * Returns [B, TQ, DM]. Gradients flow to `a` (and `kv`).
 */
export function packedAttentionWebGpu(a: tf.Tensor3D, kv: tf.Tensor3D | null, heads: number, mask: MaskSpec): tf.Tensor3D {
  const [B, TQ, S] = a.shape;
  const TK = kv ? kv.shape[1] : TQ;
  if (S % (3 * heads) !== 0) throw new Error(`attention: ${S} packed columns do not split into q, k, v of ${heads} heads`);
  if (kv && (kv.shape[0] !== B || kv.shape[2] !== S)) throw new Error(`attention: keys/values [${kv.shape}] do not match queries [${a.shape}]`);
  const d: Dims = {
    B,
    H: heads,
    DH: S / 3 / heads,
    TQ,
    TK,
    CAUSAL: mask.causal ? 1 : 0,
    WIN: mask.window ?? 0,
    NOM: mask.queryLength ?? TQ,
    SELF: kv ? 0 : 1,
  };
  if (kv) {
    const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [aa, kk] = args as [tf.Tensor3D, tf.Tensor3D];
      const [o, lse] = forward(aa, kk, d);
      (args[2] as tf.GradSaveFunc)([aa, kk, o, lse]);
      lse.dispose();
      return {
        value: o as tf.Tensor3D,
        gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) => backward(dy, s[0] as tf.Tensor, s[1] as tf.Tensor, s[2] as tf.Tensor, s[3] as tf.Tensor, d) as tf.Tensor[],
      };
    });
    return f(a, kv) as tf.Tensor3D;
  }
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const aa = args[0] as tf.Tensor3D;
    const [o, lse] = forward(aa, aa, d);
    (args[1] as tf.GradSaveFunc)([aa, o, lse]);
    lse.dispose();
    return {
      value: o as tf.Tensor3D,
      gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) => backward(dy, s[0] as tf.Tensor, s[0] as tf.Tensor, s[1] as tf.Tensor, s[2] as tf.Tensor, d)[0],
    };
  });
  return f(a) as tf.Tensor3D;
}
