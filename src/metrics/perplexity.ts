/**
 * Perplexity of a prior, two ways (both reported, named):
 * - teacher-forced: exp(mean cross-entropy) of the prior on held-out codes — the standard measure;
 * - the thesis' variant: the prior's teacher-forced perplexity on its own top-k samples — low values
 *   mean the samples are what the prior finds likely, which top-k sampling guarantees by design.
 */
import * as tf from '@tensorflow/tfjs';
import type { Prior } from '../models/prior';
import { sampleWithCache } from '../sample/sampler';
import { DEFAULT_SAMPLING, type SamplingOptions } from '../sample/strategy';

/** Mean cross-entropy (nats per code) of target rows given source rows, in batches, without dropout. */
export function teacherForcedLoss(prior: Prior, sources: Int32Array[], targets: Int32Array[], batchSize = 4): number {
  if (sources.length !== targets.length || sources.length === 0) throw new Error('teacherForcedLoss: need matching, non-empty source and target rows');
  let total = 0;
  for (let i = 0; i < sources.length; i += batchSize) {
    const s = sources.slice(i, i + batchSize);
    const t = targets.slice(i, i + batchSize);
    const loss = tf.tidy(() => {
      const src = tf.tensor2d(Int32Array.from(s.flatMap((r) => Array.from(r))), [s.length, (s[0] as Int32Array).length], 'int32');
      const tgt = tf.tensor2d(Int32Array.from(t.flatMap((r) => Array.from(r))), [t.length, (t[0] as Int32Array).length], 'int32');
      return prior.loss(src, tgt).dataSync()[0];
    });
    total += loss * s.length;
  }
  return total / sources.length;
}

export interface PerplexityReport {
  /** exp(loss) on held-out codes. */
  teacherForced: number;
  /** nats per code on held-out codes. */
  heldOutLoss: number;
  /** exp(loss) of the prior on its own samples (the thesis' measure), with the sampling settings used. */
  ownSamples: number;
  sampling: SamplingOptions;
  samples: number;
  heldOut: number;
}

export function perplexityReport(
  prior: Prior,
  heldOut: { sources: Int32Array[]; targets: Int32Array[] },
  options: { samples?: number; sampling?: SamplingOptions; sampleLength?: number } = {},
): PerplexityReport {
  const heldOutLoss = teacherForcedLoss(prior, heldOut.sources, heldOut.targets);
  const n = Math.min(options.samples ?? 4, heldOut.sources.length);
  const sampling = { topK: DEFAULT_SAMPLING.topK, seed: 0, ...options.sampling };
  const sources = heldOut.sources.slice(0, n);
  const src = tf.tensor2d(Int32Array.from(sources.flatMap((r) => Array.from(r))), [n, (sources[0] as Int32Array).length], 'int32');
  const length = options.sampleLength ?? prior.config.targetLength;
  const { codes } = sampleWithCache(prior, src, { ...sampling, length });
  src.dispose();
  const own = length === prior.config.targetLength ? teacherForcedLoss(prior, sources, codes) : Number.NaN;
  return { teacherForced: Math.exp(heldOutLoss), heldOutLoss, ownSamples: Math.exp(own), sampling, samples: n, heldOut: heldOut.sources.length };
}
