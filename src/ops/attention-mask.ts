/**
 * Which keys each query may attend to, as an inclusive index range per query. One description
 * drives every attention implementation (CPU loops, chunked tensor ops, the KV-cache sampler), so
 * they cannot disagree.
 *
 * - full:            all keys
 * - causal:          keys j ≤ i + (tk − tq)
 * - causal window W: the W most recent keys up to the diagonal (local self-attention)
 * - aligned window W: W keys centred on query i's aligned position c = ⌊(i + ½)·tk/tq⌋ (local
 *   cross-attention between sequences at different rates, e.g. 3600 bottom vs 900 top codes)
 */
export type KeyRange = (i: number) => readonly [number, number];

export interface MaskSpec {
  causal: boolean;
  /** Limit to W keys (causal: the last W; non-causal: W aligned keys). null/undefined = no limit. */
  window?: number | null;
  /**
   * Length the aligned window is defined for (default: the actual number of queries). Decoding a
   * prefix must align queries as the full-length training sequence did.
   */
  queryLength?: number;
}

export function keyRange(spec: MaskSpec, tq: number, tk: number): KeyRange {
  const w = spec.window ?? null;
  if (spec.causal) {
    const offset = tk - tq;
    if (w === null) return (i) => [0, Math.min(tk - 1, i + offset)];
    return (i) => {
      const hi = Math.min(tk - 1, i + offset);
      return [Math.max(0, hi - w + 1), hi];
    };
  }
  if (w === null || w >= tk) return () => [0, tk - 1];
  const before = Math.floor(w / 2);
  const nominal = spec.queryLength ?? tq;
  return (i) => {
    const c = Math.floor(((i + 0.5) * tk) / nominal);
    const lo = Math.max(0, Math.min(tk - w, c - before));
    return [lo, lo + w - 1];
  };
}

/** Additive mask rows [n, tk] (0 allowed, −1e9 masked) for queries start … start+n−1. */
export function maskRows(range: KeyRange, start: number, n: number, tk: number): Float32Array {
  const m = new Float32Array(n * tk).fill(-1e9);
  for (let r = 0; r < n; r++) {
    const [lo, hi] = range(start + r);
    m.fill(0, r * tk + lo, r * tk + hi + 1);
  }
  return m;
}

/** True when every query sees every key (no mask needed). */
export function isFull(spec: MaskSpec, _tq: number, tk: number): boolean {
  return !spec.causal && (spec.window === null || spec.window === undefined || spec.window >= tk);
}
