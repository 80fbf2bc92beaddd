/**
 * Model presets as plain data (nanoGPT-style configs). `thesis` reproduces the thesis' models;
 * `quick` keeps every structural choice (strides, residual layers, dilations, levels) and narrows
 * the widths so tests and CPU runs take seconds to minutes.
 */
import { CLIP_SAMPLES, SAMPLE_RATE } from '../audio/constants';
import { DEFAULT_MEL, type MelConfig } from '../audio/mel';
import type { CodebookConfig } from './codebook';
import type { VqVaeConfig } from './vqvae2';
import type { PriorConfig } from './prior';
import { THESIS } from './thesis';

export type CodecKind = 'raw-vqvae2' | 'spec-vqvae' | 'spec-vqvae2';
export type PresetName = 'thesis' | 'quick';
export const CODEC_KINDS: readonly CodecKind[] = ['raw-vqvae2', 'spec-vqvae', 'spec-vqvae2'];
export const PRESETS: readonly PresetName[] = ['thesis', 'quick'];

/** The thesis' residual stack: 7 dilated conv1d layers, dilation = padding. */
export const THESIS_DILATIONS = [1, 2, 3, 6, 9, 18, 27];

/** Mel front end of the spectrogram codecs: 4 kHz, 256-point FFT, hop 60 → 480 frames per 7.2-s clip (15·32). */
export const SPEC_MEL: MelConfig = { ...DEFAULT_MEL, hop: 60 };
export const SPEC_FRAMES = 480;

export type FrontEnd =
  | { type: 'raw' }
  | {
      type: 'mel';
      mel: MelConfig;
      frames: number;
      /** Network input = (log-mel − offset) / scale. */
      offset: number;
      scale: number;
      griffinLimIterations: number;
    };

export interface CodecTrainDefaults {
  batchSize: number;
  learningRate: number;
  steps: number;
  warmupSteps: number;
  clipNorm: number;
}

export interface CodecConfig {
  format: 'soundtrack-lab/codec';
  version: 1;
  kind: CodecKind;
  preset: PresetName;
  sampleRate: number;
  clipSamples: number;
  frontEnd: FrontEnd;
  vqvae: VqVaeConfig;
  train: CodecTrainDefaults;
}

/** Gradient-trained codebook with β = 0.25 (the thesis), data-initialised; `restart` for the quick presets. */
const codebook = (size: number, dim: number, restart = false): CodebookConfig => ({
  size,
  dim,
  beta: 0.25,
  ema: null,
  restart: restart ? { threshold: 1 } : null,
  dataInit: true,
});

/**
 * Widths of the thesis raw-audio VQ-VAE-2. The thesis gives the structure and the total (580,641
 * parameters) but not the widths; hidden width 68 (34 in the half-width layers) with residual width
 * 39 gives 580,685 parameters (+44, +0.008 %), counting both 2048 × 32 codebooks as the thesis'
 * gradient-trained nn.Embedding codebooks are counted. Found by a search over (channels, residual
 * channels) for the closest total; 64/43 would be 577,493 (−0.54 %), outside the 0.1 % target.
 */
const THESIS_RAW = { channels: 68, resChannels: 39 };

function mel(): FrontEnd {
  return { type: 'mel', mel: SPEC_MEL, frames: SPEC_FRAMES, offset: -5, scale: 4, griffinLimIterations: 60 };
}

export function codecPreset(kind: CodecKind, preset: PresetName, seed = 0): CodecConfig {
  const thesis = preset === 'thesis';
  const base = { format: 'soundtrack-lab/codec' as const, version: 1 as const, kind, preset, sampleRate: SAMPLE_RATE, clipSamples: CLIP_SAMPLES };
  const train: CodecTrainDefaults = thesis
    ? { batchSize: 8, learningRate: 3e-4, steps: THESIS.steps.codec, warmupSteps: 0, clipNorm: 1 }
    : { batchSize: 4, learningRate: 1e-3, steps: 600, warmupSteps: 20, clipNorm: 1 };
  switch (kind) {
    case 'raw-vqvae2':
      return {
        ...base,
        frontEnd: { type: 'raw' },
        train,
        vqvae: {
          inChannels: 1,
          channels: thesis ? THESIS_RAW.channels : 16,
          resChannels: thesis ? THESIS_RAW.resChannels : 8,
          dilations: THESIS_DILATIONS,
          bottomDownsamples: 3,
          topDownsamples: 2,
          codebook: thesis ? codebook(2048, 32) : codebook(256, 16, true),
          seed,
        },
      };
    case 'spec-vqvae':
    case 'spec-vqvae2':
      // Spectrogram codecs for the comparison (thesis Fig. 13/14): 64 mel bands as channels,
      // ×4 in time to the bottom level (120 codes per clip), ×2 more to the top (60).
      return {
        ...base,
        frontEnd: mel(),
        train,
        vqvae: {
          inChannels: SPEC_MEL.nMels,
          channels: thesis ? 96 : 24,
          resChannels: thesis ? 48 : 12,
          dilations: [1, 3, 9],
          bottomDownsamples: 2,
          topDownsamples: kind === 'spec-vqvae2' ? 1 : 0,
          codebook: thesis ? codebook(2048, 32) : codebook(256, 16, true),
          seed,
        },
      };
  }
}

// ---------------------------------------------------------------------------------------------
// Priors (thesis Table 1): encoder–decoder transformers over codes.
// ---------------------------------------------------------------------------------------------

export type PriorLevel = 'top' | 'bottom';

export interface PriorTrainDefaults {
  batchSize: number;
  learningRate: number;
  steps: number;
  warmupSteps: number;
  clipNorm: number;
  labelSmoothing: number;
  /** Top prior: probability of replacing the class by "no class" (classifier-free guidance). */
  labelDropout: number;
}

/**
 * Architecture of a prior. `codes` (codebook size) and the source/target lengths come from the
 * codes it is trained on; the thesis: K = 2048, top 900 codes, bottom 3600.
 */
export function priorPreset(
  level: PriorLevel,
  preset: PresetName,
  data: { codes: number; topLength: number; bottomLength: number; classes?: number },
  seed = 0,
): { model: PriorConfig; train: PriorTrainDefaults } {
  const thesis = preset === 'thesis';
  const model: PriorConfig = {
    format: 'soundtrack-lab/prior',
    version: 1,
    level,
    preset,
    codes: data.codes,
    classes: data.classes ?? 2,
    dModel: thesis ? 100 : 32,
    heads: 4,
    encoderLayers: thesis ? 6 : 2,
    decoderLayers: thesis ? 12 : 2,
    feedForward: thesis ? 1024 : 64,
    dropout: 0.1,
    sourceLength: level === 'top' ? 1 : data.topLength,
    targetLength: level === 'top' ? data.topLength : data.bottomLength,
    attentionChunk: 256,
    // quick: local attention (64 recent codes, 16 aligned source codes, ±32 in the encoder)
    windows: thesis ? { encoder: null, self: null, cross: null } : { encoder: 64, self: 64, cross: 16 },
    seed,
  };
  const train: PriorTrainDefaults = thesis
    ? { batchSize: 4, learningRate: 3e-4, steps: THESIS.steps.prior, warmupSteps: 500, clipNorm: 1, labelSmoothing: 0, labelDropout: level === 'top' ? 0.1 : 0 }
    : level === 'top'
      ? { batchSize: 8, learningRate: 2e-3, steps: 150, warmupSteps: 10, clipNorm: 1, labelSmoothing: 0, labelDropout: 0.1 }
      : { batchSize: 4, learningRate: 2e-3, steps: 100, warmupSteps: 10, clipNorm: 1, labelSmoothing: 0, labelDropout: 0 };
  return { model, train };
}

/** The thesis' code layout: K = 2048, 900 top and 3600 bottom codes per 7.2-s clip. */
export const THESIS_CODES = { codes: 2048, topLength: 900, bottomLength: 3600 };
