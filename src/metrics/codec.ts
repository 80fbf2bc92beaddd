/**
 * Evaluate a codec as audio (thesis Table 2 row 1, Fig. 13/14): reconstruction MSE and SI-SDR,
 * FAD of reconstructions against the originals, codebook usage, and the latent probe per level.
 */
import * as tf from '@tensorflow/tfjs';
import type { Codec } from '../models/codec';
import type { SoundClassifier } from '../models/sound-classifier';
import { recognition } from './recognition';
import { melStatsEmbedder, type Embedder } from './embedders';
import { fad, type FadResult } from './fad';
import { latentProbe, type ProbeResult } from './probe';
import { finiteMean, mse, siSdr } from './reconstruction';

export interface ClassKept {
  /** Share of the original clips recognised as their class (the ceiling). */
  originals: number;
  /** Share of the reconstructions recognised as their class. */
  reconstructions: number;
  /** Of the originals recognised, the share whose reconstruction is too. */
  kept: number;
  /** Share of reconstructions called "neither". */
  neither: number;
}

export interface CodecEvaluation {
  /** Judged by the 3-way sound classifier, when one was given. */
  classKept: ClassKept | null;
  clips: number;
  mse: number;
  siSdr: number;
  fad: FadResult;
  usage: { top: number | null; bottom: number; perplexityTop: number | null; perplexityBottom: number };
  probe: { top: ProbeResult | null; bottom: ProbeResult } | null;
}

/** Per-clip pooled latents (mean and standard deviation over time of each latent dimension). */
export function pooledLatents(codec: Codec, clips: readonly Float32Array[], batchSize = 8): { top: number[][] | null; bottom: number[][] } {
  const top: number[][] = [];
  const bottom: number[][] = [];
  for (let i = 0; i < clips.length; i += batchSize) {
    const x = codec.toInput(clips.slice(i, i + batchSize));
    const lat = codec.model.latents(x);
    const pool = (t: tf.Tensor3D, out: number[][]) => {
      const [mean, sd] = tf.tidy(() => {
        const m = tf.mean(t, 1);
        const s = tf.sqrt(tf.mean(tf.square(tf.sub(t, tf.expandDims(m, 1))), 1));
        return [m.arraySync() as number[][], s.arraySync() as number[][]];
      });
      (mean as number[][]).forEach((row, k) => out.push([...row, ...((sd as number[][])[k] as number[])]));
    };
    pool(lat.bottom, bottom);
    if (lat.top) pool(lat.top, top);
    tf.dispose([x, lat.bottom, lat.top ?? []]);
  }
  return { top: codec.model.top ? top : null, bottom };
}

export async function evaluateCodec(
  codec: Codec,
  clips: readonly Float32Array[],
  labels: readonly number[],
  options: { embedder?: Embedder; probe?: boolean; referenceName?: string; judge?: SoundClassifier | null } = {},
): Promise<CodecEvaluation> {
  const codes = codec.encode(clips);
  const recon = await codec.decode(codes);
  const usage = codec.usage(codes);
  const embedder = options.embedder ?? melStatsEmbedder;
  const fadResult = await fad(clips, recon, embedder, { reference: options.referenceName ?? 'originals', test: `${codec.config.kind} reconstructions` });
  let probe: CodecEvaluation['probe'] = null;
  if ((options.probe ?? true) && clips.length >= 4 && new Set(labels).size === 2) {
    const lat = pooledLatents(codec, clips);
    probe = { top: lat.top ? latentProbe(lat.top, [...labels]) : null, bottom: latentProbe(lat.bottom, [...labels]) };
  }
  return {
    clips: clips.length,
    mse: clips.reduce((s, c, i) => s + mse(c, recon[i] as Float32Array), 0) / clips.length,
    siSdr: finiteMean(clips.map((c, i) => siSdr(c, recon[i] as Float32Array))),
    fad: fadResult,
    usage: {
      top: usage.top?.usage ?? null,
      bottom: usage.bottom.usage,
      perplexityTop: usage.top?.perplexity ?? null,
      perplexityBottom: usage.bottom.perplexity,
    },
    probe,
    classKept: options.judge ? classKept(options.judge, clips, recon, labels) : null,
  };
}

/**
 * "Class kept": of the clips the judge recognises as their class, the share whose reconstruction it
 * still recognises as that class; and the share of reconstructions it calls "neither".
 */
export function classKept(judge: SoundClassifier, clips: readonly Float32Array[], recon: readonly Float32Array[], labels: readonly number[]): ClassKept {
  const orig = recognition(judge, clips, labels);
  const rec = recognition(judge, recon, labels);
  const base = labels.map((_, i) => i).filter((i) => orig.predictions[i] === labels[i]);
  return {
    originals: orig.recognised,
    reconstructions: rec.recognised,
    kept: base.filter((i) => rec.predictions[i] === labels[i]).length / Math.max(1, base.length),
    neither: rec.neither,
  };
}
