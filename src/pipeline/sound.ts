/**
 * Class label → sound: Top prior (label → top codes) → Bottom prior (top → bottom codes) → codec
 * decoder (codes → 4 kHz waveform). The core of `npm run sample` and of `generate` (F4).
 */
import type { Codec } from '../models/codec';
import type { Prior } from '../models/prior';
import { sampleBottom, sampleTop } from '../sample/sampler';
import { PriorWeights } from '../sample/kv-cache';
import type { SamplingOptions } from '../sample/strategy';
import { loadCodec, loadPrior } from '../checkpoint/models';
import { InputError } from '../util/errors';

export interface SoundModels {
  codec: Codec;
  top: Prior;
  bottom: Prior;
  /** Where each model came from. */
  sources: { codec: string; top: string; bottom: string };
  weights: { top: PriorWeights; bottom: PriorWeights };
}

export interface StageTimings {
  topSeconds: number;
  bottomSeconds: number;
  decodeSeconds: number;
  topTokensPerSecond: number;
  bottomTokensPerSecond: number;
}

/** Load and cross-check codec and priors (codebook sizes and code lengths must agree). */
export async function loadSoundModels(paths: { codec: string; top: string; bottom: string }): Promise<SoundModels> {
  const codec = await loadCodec(paths.codec);
  const top = await loadPrior(paths.top, 'top');
  const bottom = await loadPrior(paths.bottom, 'bottom');
  const lengths = codec.codec.codeLengths;
  const K = codec.config.vqvae.codebook.size;
  const problems: string[] = [];
  if (lengths.top === null) problems.push(`the codec ${codec.dir} is single-level; the priors need a VQ-VAE-2`);
  if (top.config.codes !== K) problems.push(`the Top prior models ${top.config.codes} codes, the codec has ${K}`);
  if (bottom.config.codes !== K) problems.push(`the Bottom prior models ${bottom.config.codes} codes, the codec has ${K}`);
  if (top.config.targetLength !== lengths.top) problems.push(`the Top prior makes ${top.config.targetLength} codes, the codec needs ${lengths.top}`);
  if (bottom.config.sourceLength !== lengths.top) problems.push(`the Bottom prior reads ${bottom.config.sourceLength} top codes, the codec has ${lengths.top}`);
  if (bottom.config.targetLength !== lengths.bottom)
    problems.push(`the Bottom prior makes ${bottom.config.targetLength} codes, the codec needs ${lengths.bottom}`);
  if (problems.length > 0) {
    codec.codec.dispose();
    top.prior.dispose();
    bottom.prior.dispose();
    throw new InputError(paths.codec, 'bad-argument', `codec and priors do not fit together: ${problems.join('; ')}`);
  }
  return {
    codec: codec.codec,
    top: top.prior,
    bottom: bottom.prior,
    sources: { codec: codec.dir, top: top.dir, bottom: bottom.dir },
    weights: { top: new PriorWeights(top.prior), bottom: new PriorWeights(bottom.prior) },
  };
}

/** Never hand on NaN or all-zero audio as if it were a sound: that is a broken model, said as an error. */
function assertAudible(clips: readonly Float32Array[], codec: string): void {
  let peak = 0;
  for (const c of clips) {
    for (let i = 0; i < c.length; i++) {
      const v = c[i] as number;
      if (!Number.isFinite(v)) throw new InputError(codec, 'non-finite', 'the codec decoded NaN/Inf samples (corrupt weights?); nothing was written');
      if (Math.abs(v) > peak) peak = Math.abs(v);
    }
  }
  if (clips.length > 0 && peak === 0)
    throw new InputError(codec, 'empty', 'the codec decoded pure silence (all samples 0; corrupt weights?); nothing was written');
}

export function disposeSoundModels(m: SoundModels): void {
  m.codec.dispose();
  m.top.dispose();
  m.bottom.dispose();
}

/**
 * Generate `clips` consecutive 7.2-s clips for a class. Sampling options apply to both priors;
 * guidance only to the Top prior. Clip i uses the seed `${seed}/clip${i}`.
 */
export async function soundForClass(
  m: SoundModels,
  label: number,
  options: SamplingOptions & { clips?: number } = {},
): Promise<{ clips: Float32Array[]; timings: StageTimings; codes: { top: Int32Array[]; bottom: Int32Array[] } }> {
  const n = options.clips ?? 1;
  const seed = options.seed ?? 0;
  const labels = Array.from({ length: n }, () => label);
  const top = sampleTop(m.top, labels, { ...options, seed: `${seed}/top`, weights: m.weights.top });
  const { guidance: _ignored, ...bottomOptions } = options;
  const bottom = sampleBottom(m.bottom, top.codes, { ...bottomOptions, seed: `${seed}/bottom`, weights: m.weights.bottom });
  const t0 = performance.now();
  const clips = await m.codec.decode({ top: top.codes, bottom: bottom.codes });
  assertAudible(clips, m.sources.codec);
  const decodeSeconds = (performance.now() - t0) / 1000;
  return {
    clips,
    codes: { top: top.codes, bottom: bottom.codes },
    timings: {
      topSeconds: top.stats.seconds,
      bottomSeconds: bottom.stats.seconds,
      decodeSeconds,
      topTokensPerSecond: top.stats.tokensPerSecond,
      bottomTokensPerSecond: bottom.stats.tokensPerSecond,
    },
  };
}
