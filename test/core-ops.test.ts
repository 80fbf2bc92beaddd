/**
 * The loss and the attention masks against references written out in the test itself (plain JS
 * loops, masks from the definitions in attention-mask.ts' comment — not from keyRange/maskRows).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index';
import { attention, attentionReference } from '../src/ops/attention';
import { isFull, keyRange, maskRows } from '../src/ops/attention-mask';
import { crossEntropy } from '../src/ops/loss';
import { Rng } from '../src/util/rng';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

const LOGITS = [
  [2, -1, 0.5, 0],
  [0, 0, 0, 3],
  [-2, 1, 1, 0.25],
];
const TARGETS = [0, 3, 2];

/** −log softmax(z)_j in double precision. */
function negLogSoftmax(z: number[]): number[] {
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((s, x) => s + Math.exp(x - m), 0));
  return z.map((x) => lse - x);
}

describe('cross-entropy', () => {
  it('value: mean −log p(target); with smoothing ε: (1 − ε)·that + ε·mean over the vocabulary of −log p', () => {
    const nls = LOGITS.map(negLogSoftmax);
    const nll = TARGETS.reduce((s, t, i) => s + nls[i]![t]!, 0) / 3;
    const uniform = nls.reduce((s, row) => s + row.reduce((a, b) => a + b, 0) / 4, 0) / 3;
    for (const eps of [0, 0.1, 0.5]) {
      const v = tf.tidy(() => crossEntropy(tf.tensor2d(LOGITS), tf.tensor1d(TARGETS, 'int32'), eps).dataSync()[0] as number);
      expect(v).toBeCloseTo((1 - eps) * nll + eps * uniform, 5);
    }
    // hand-checked anchor: uniform logits over 4 classes cost log 4 whatever the target and ε
    const u = tf.tidy(() => crossEntropy(tf.zeros([2, 4]) as tf.Tensor2D, tf.tensor1d([1, 3], 'int32'), 0.2).dataSync()[0] as number);
    expect(u).toBeCloseTo(Math.log(4), 6);
  });

  it('gradient is dy · (softmax − target) / n for an upstream dy ≠ 1 (and ε)', () => {
    for (const [eps, dy] of [
      [0, 2.5],
      [0.2, -0.75],
    ] as const) {
      const g = tf.tidy(() => {
        const f = (x: tf.Tensor) => crossEntropy(x as tf.Tensor2D, tf.tensor1d(TARGETS, 'int32'), eps);
        return Array.from(tf.grad(f)(tf.tensor2d(LOGITS), tf.scalar(dy)).dataSync());
      });
      const expected = LOGITS.flatMap((z, i) => {
        const p = negLogSoftmax(z).map((x) => Math.exp(-x));
        return p.map((pj, j) => (dy * (pj - ((j === TARGETS[i] ? 1 - eps : 0) + eps / 4))) / 3);
      });
      g.forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 6));
    }
    // a scaled loss scales the gradient (dy reaches the gradient through the chain rule)
    const [g1, g3] = tf.tidy(() => {
      const t = tf.tensor1d(TARGETS, 'int32');
      const z = tf.tensor2d(LOGITS);
      return [
        tf
          .grad((x: tf.Tensor) => crossEntropy(x as tf.Tensor2D, t))(z)
          .dataSync(),
        tf
          .grad((x: tf.Tensor) => tf.mul(crossEntropy(x as tf.Tensor2D, t), 3) as tf.Scalar)(z)
          .dataSync(),
      ];
    });
    g1!.forEach((x, i) => expect(g3![i]!).toBeCloseTo(3 * x, 6));
  });
});

interface Spec {
  causal: boolean;
  window?: number | null;
  queryLength?: number;
}

/** Allowed[i][j], written from the definitions (not from keyRange). */
function explicitMask(spec: Spec, tq: number, tk: number): boolean[][] {
  return Array.from({ length: tq }, (_, i) =>
    Array.from({ length: tk }, (_, j) => {
      const w = spec.window ?? null;
      if (spec.causal) {
        const diag = i + (tk - tq); // the key aligned with query i
        if (j > diag) return false; // never a future key
        return w === null || j > diag - w; // the last w keys up to the diagonal
      }
      if (w === null || w >= tk) return true;
      const c = Math.floor(((i + 0.5) * tk) / (spec.queryLength ?? tq));
      let lo = c - Math.floor(w / 2);
      if (lo + w > tk) lo = tk - w;
      if (lo < 0) lo = 0;
      return j >= lo && j < lo + w;
    }),
  );
}

/** softmax(q·kᵀ/√d with masked keys removed)·v in double precision, one batch entry at a time. */
function naiveAttention(q: number[][][], k: number[][][], v: number[][][], allowed: boolean[][]): number[][][] {
  return q.map((qb, b) =>
    qb.map((qi, i) => {
      const scores = k[b]!.map((kj, j) => (allowed[i]![j] ? qi.reduce((s, x, t) => s + x * kj[t]!, 0) / Math.sqrt(qi.length) : -Infinity));
      const m = Math.max(...scores);
      const e = scores.map((s) => (s === -Infinity ? 0 : Math.exp(s - m)));
      const z = e.reduce((a, b2) => a + b2, 0);
      return v[b]![0]!.map((_, c) => e.reduce((s, ej, j) => s + (ej / z) * v[b]![j]![c]!, 0));
    }),
  );
}

function randArray(b: number, n: number, d: number, seed: number): number[][][] {
  const r = new Rng(seed);
  return Array.from({ length: b }, () => Array.from({ length: n }, () => Array.from({ length: d }, () => r.range(-2, 2))));
}

describe('attention masks against explicit definitions', () => {
  it('keyRange by hand: causal, causal window, aligned window, with tk ≠ tq', () => {
    const ranges = (spec: Spec, tq: number, tk: number) => Array.from({ length: tq }, (_, i) => [...keyRange(spec, tq, tk)(i)]);
    expect(ranges({ causal: true }, 4, 4)).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [0, 3],
    ]);
    // 2 queries at the end of 5 keys (decoding with a cache): query 0 is key 3's position
    expect(ranges({ causal: true }, 2, 5)).toEqual([
      [0, 3],
      [0, 4],
    ]);
    expect(ranges({ causal: true, window: 2 }, 4, 4)).toEqual([
      [0, 0],
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    // the window with a cache offset: 2 queries at the end of 5 keys, the last 2 keys up to the diagonal
    expect(ranges({ causal: true, window: 2 }, 2, 5)).toEqual([
      [2, 3],
      [3, 4],
    ]);
    // 8 queries over 4 keys, window 2: centre ⌊(i + ½)/2⌋ = 0,0,1,1,2,2,3,3; start centre − 1, clamped to [0, 2]
    expect(ranges({ causal: false, window: 2 }, 8, 4)).toEqual([
      [0, 1],
      [0, 1],
      [0, 1],
      [0, 1],
      [1, 2],
      [1, 2],
      [2, 3],
      [2, 3],
    ]);
    // a prefix of 3 queries aligned as the full 8-query sequence was
    expect(ranges({ causal: false, window: 2, queryLength: 8 }, 3, 4)).toEqual([
      [0, 1],
      [0, 1],
      [0, 1],
    ]);
    // window ≥ keys and no window: everything
    expect(ranges({ causal: false, window: 5 }, 2, 4)).toEqual([
      [0, 3],
      [0, 3],
    ]);
    expect(ranges({ causal: false }, 1, 3)).toEqual([[0, 2]]);
  });

  it('maskRows: 0 where allowed, −1e9 elsewhere, for a block of rows starting mid-sequence', () => {
    const m = maskRows(keyRange({ causal: true }, 4, 4), 1, 2, 4);
    expect(Array.from(m)).toEqual([0, 0, -1e9, -1e9, 0, 0, 0, -1e9].map(Math.fround));
    expect(isFull({ causal: false }, 3, 3)).toBe(true);
    expect(isFull({ causal: false, window: 3 }, 5, 3)).toBe(true);
    expect(isFull({ causal: false, window: 2 }, 5, 3)).toBe(false);
    expect(isFull({ causal: true }, 1, 1)).toBe(false);
    expect(isFull({ causal: false, window: null }, 2, 9)).toBe(true);
  });

  const specs: Array<[Spec, number, number]> = [
    [{ causal: true }, 6, 6],
    [{ causal: true }, 3, 7],
    [{ causal: true, window: 3 }, 7, 7],
    [{ causal: false }, 5, 3],
    [{ causal: false, window: 2 }, 9, 4],
    [{ causal: false, window: 3, queryLength: 12 }, 5, 6],
  ];
  for (const [spec, tq, tk] of specs) {
    it(`every implementation and attentionReference equal plain loops with the explicit mask (${JSON.stringify(spec)}, tq ${tq}, tk ${tk})`, () => {
      const allowed = explicitMask(spec, tq, tk);
      const q = randArray(2, tq, 4, 1);
      const k = randArray(2, tk, 4, 2);
      const v = randArray(2, tk, 3, 3);
      const want = naiveAttention(q, k, v, allowed).flat(2);
      const run = (f: (a: tf.Tensor3D, b: tf.Tensor3D, c: tf.Tensor3D) => tf.Tensor3D) =>
        tf.tidy(() => Array.from(f(tf.tensor3d(q), tf.tensor3d(k), tf.tensor3d(v)).dataSync()));
      const outs = {
        reference: run((a, b, c) => attentionReference(a, b, c, spec)),
        ops: run((a, b, c) => attention(a, b, c, { ...spec, chunk: 2, impl: 'ops' })),
        cpu: run((a, b, c) => attention(a, b, c, { ...spec, impl: 'cpu' })),
        blocks: run((a, b, c) => attention(a, b, c, { ...spec, chunk: 2, impl: 'blocks' })),
      };
      for (const [name, got] of Object.entries(outs)) {
        expect(got.length, name).toBe(want.length);
        got.forEach((x, i) => expect(Math.abs(x - want[i]!), `${name} [${i}]`).toBeLessThan(1e-4));
      }
    });
  }
});
