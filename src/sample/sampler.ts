/**
 * Sampling codes from a prior: the Top prior from class labels (optionally with classifier-free
 * guidance), the Bottom prior from top codes. Incremental (KV-cached) decoding by default; full
 * recomputation with tfjs as a reference (tests check both give the same tokens).
 */
import * as tf from '@tensorflow/tfjs';
import type { Prior } from '../models/prior';
import { Rng } from '../util/rng';
import { IncrementalDecoder, PriorWeights, encodeSources } from './kv-cache';
import { DEFAULT_SAMPLING, guide, pickToken, type SamplingOptions } from './strategy';

export interface SampleStats {
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
}

function resolve(sampling: SamplingOptions) {
  return {
    topK: sampling.topK ?? DEFAULT_SAMPLING.topK,
    topP: sampling.topP ?? DEFAULT_SAMPLING.topP,
    temperature: sampling.temperature ?? DEFAULT_SAMPLING.temperature,
    guidance: sampling.guidance ?? DEFAULT_SAMPLING.guidance,
  };
}

/** The Rng of item i of a batch: independent streams from one seed. */
export function itemRng(seed: number | string | undefined, i: number): Rng {
  return new Rng(`${seed ?? 0}/sample/${i}`);
}

/**
 * Sample target sequences for each source row with the KV cache. `unconditional` (same number of
 * rows) enables classifier-free guidance with `options.guidance`.
 */
export function sampleWithCache(
  prior: Prior,
  sources: tf.Tensor2D,
  options: SamplingOptions & { length?: number; unconditional?: tf.Tensor2D; weights?: PriorWeights } = {},
): { codes: Int32Array[]; stats: SampleStats } {
  const sampling = resolve(options);
  const length = options.length ?? prior.config.targetLength;
  const weights = options.weights ?? new PriorWeights(prior);
  const mem = encodeSources(prior, sources);
  const memU = options.unconditional && sampling.guidance !== 1 ? encodeSources(prior, options.unconditional) : null;
  const K = prior.config.codes;
  const t0 = performance.now();
  const codes = mem.map((m, i) => {
    const rng = itemRng(options.seed, i);
    const dec = new IncrementalDecoder(weights, m);
    const decU = memU ? new IncrementalDecoder(weights, memU[i] as Float32Array) : null;
    const out = new Int32Array(length);
    let token = prior.vocab.start;
    for (let t = 0; t < length; t++) {
      const cond = dec.step(token);
      const logits = decU ? guide(cond, decU.step(token), sampling.guidance, K) : cond;
      token = pickToken(logits, K, sampling, rng);
      out[t] = token;
    }
    return out;
  });
  const seconds = (performance.now() - t0) / 1000;
  const tokens = codes.length * length;
  return { codes, stats: { tokens, seconds, tokensPerSecond: tokens / Math.max(seconds, 1e-9) } };
}

/**
 * Reference sampler: recompute the whole decoder on the prefix for every token (tfjs, O(n²)).
 * Same sampling rule and random streams as sampleWithCache.
 */
export function sampleFullRecompute(
  prior: Prior,
  sources: tf.Tensor2D,
  options: SamplingOptions & { length?: number; unconditional?: tf.Tensor2D } = {},
): { codes: Int32Array[]; stats: SampleStats } {
  const sampling = resolve(options);
  const length = options.length ?? prior.config.targetLength;
  const K = prior.config.codes;
  const V = prior.vocab.size;
  const b = sources.shape[0];
  const t0 = performance.now();
  const prefix: number[][] = Array.from({ length: b }, () => [prior.vocab.start]);
  const rngs = Array.from({ length: b }, (_, i) => itemRng(options.seed, i));
  const guided = options.unconditional && sampling.guidance !== 1;
  for (let t = 0; t < length; t++) {
    const tgt = tf.tensor2d(prefix.flat(), [b, t + 1], 'int32');
    const pick = (src: tf.Tensor2D): Float32Array => {
      const row = tf.tidy(() => tf.reshape(tf.slice(prior.decode(tgt, prior.encode(src)), [0, t, 0], [b, 1, V]), [b, V]));
      const data = row.dataSync() as Float32Array;
      row.dispose();
      return data;
    };
    const last = pick(sources);
    const lastU = guided ? pick(options.unconditional as tf.Tensor2D) : null;
    tgt.dispose();
    for (let i = 0; i < b; i++) {
      const cond = last.subarray(i * V, (i + 1) * V);
      const logits = lastU ? guide(cond, lastU.subarray(i * V, (i + 1) * V), sampling.guidance, K) : cond;
      (prefix[i] as number[]).push(pickToken(Float32Array.from(logits), K, sampling, rngs[i] as Rng));
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    codes: prefix.map((p) => Int32Array.from(p.slice(1))),
    stats: { tokens: b * length, seconds, tokensPerSecond: (b * length) / Math.max(seconds, 1e-9) },
  };
}

/** Top codes for class labels (0 = cat, 1 = dog), with classifier-free guidance when guidance ≠ 1. */
export function sampleTop(prior: Prior, labels: number[], options: SamplingOptions & { length?: number; weights?: PriorWeights } = {}) {
  if (prior.config.level !== 'top') throw new Error('sampleTop needs a Top prior');
  for (const c of labels)
    if (!(Number.isInteger(c) && c >= 0 && c < prior.config.classes)) throw new Error(`class ${c} is not one of 0…${prior.config.classes - 1}`);
  const src = prior.classSource(labels);
  const uncond = prior.classSource(labels.map(() => null));
  try {
    return sampleWithCache(prior, src, { ...options, unconditional: uncond });
  } finally {
    tf.dispose([src, uncond]);
  }
}

/** Bottom codes conditioned on top codes. */
export function sampleBottom(prior: Prior, top: readonly Int32Array[], options: SamplingOptions & { length?: number; weights?: PriorWeights } = {}) {
  if (prior.config.level !== 'bottom') throw new Error('sampleBottom needs a Bottom prior');
  const s = prior.config.sourceLength;
  for (const t of top) if (t.length !== s) throw new Error(`top codes must have ${s} entries, got ${t.length}`);
  const src = tf.tensor2d(Int32Array.from(top.flatMap((t) => Array.from(t))), [top.length, s], 'int32');
  try {
    return sampleWithCache(prior, src, options);
  } finally {
    src.dispose();
  }
}
