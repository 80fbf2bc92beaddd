/**
 * Choosing the next token from logits: restrict to code tokens, classifier-free guidance mix,
 * temperature, top-k (the thesis: k = 6), top-p (nucleus), then a draw from a seeded Rng.
 */
import type { Rng } from '../util/rng';

export interface SamplingOptions {
  /** Keep the k most likely codes (default 6, as the thesis; 0 = no limit). */
  topK?: number;
  /** Keep the smallest set of codes whose probability reaches p (default 1 = off). */
  topP?: number;
  /** Divide logits by this (default 1; 0 = greedy). */
  temperature?: number;
  /** Classifier-free guidance scale for the Top prior (1 = plain conditional). */
  guidance?: number;
  seed?: number | string;
}

export const DEFAULT_SAMPLING: Required<Omit<SamplingOptions, 'seed'>> = { topK: 6, topP: 1, temperature: 1, guidance: 1 };

/** uncond + g·(cond − uncond), over the first `n` entries. */
export function guide(cond: Float32Array, uncond: Float32Array, g: number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = uncond[i] + g * (cond[i] - uncond[i]);
  return out;
}

/** Pick a token among the first `n` logits (the codes; special tokens are never sampled). */
export function pickToken(logits: Float32Array, n: number, sampling: Required<Omit<SamplingOptions, 'seed' | 'guidance'>>, rng: Rng): number {
  if (sampling.temperature === 0) {
    let best = 0;
    for (let i = 1; i < n; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  // candidates sorted by logit (descending); top-k cut
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => logits[b] - logits[a] || a - b);
  const k = sampling.topK > 0 ? Math.min(sampling.topK, n) : n;
  const kept = idx.slice(0, k);
  const maxLogit = logits[kept[0]] as number;
  const probs = kept.map((i) => Math.exp((logits[i] - maxLogit) / sampling.temperature));
  let total = probs.reduce((a, b) => a + b, 0);
  let count = kept.length;
  if (sampling.topP < 1) {
    let acc = 0;
    count = 0;
    while (count < kept.length) {
      acc += probs[count] / total;
      count++;
      if (acc >= sampling.topP) break;
    }
    total = probs.slice(0, count).reduce((a, b) => a + b, 0);
  }
  let u = rng.uniform() * total;
  for (let i = 0; i < count; i++) {
    u -= probs[i];
    if (u <= 0) return kept[i];
  }
  return kept[count - 1];
}
