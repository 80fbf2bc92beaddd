/**
 * Class label → sound with the log-mel flow generator (the default generator):
 * flow sampling of event patches (src/sample/mel-flow.ts) → a length drawn from the model's
 * clip-length model → the events laid out in a log-mel span of that length (src/audio/compose.ts) →
 * mel inversion + fast Griffin–Lim (src/audio/mel.ts) → peak-normalised to −1 dBFS → centred in the
 * 7.2-s clip on silence, as the recordings are (layout 'data'). Layout 'full' fills the whole clip.
 */
import { cropOrPad, normalize } from '../audio/clips';
import { composeEvents, sampleLength } from '../audio/compose';
import { median3x3 } from '../audio/smooth';
import { CLIP_SAMPLES, SAMPLE_RATE } from '../audio/constants';
import { DEFAULT_MEL, LOG_SILENCE, frameCount, logMelToAudio, type Spectrogram } from '../audio/mel';
import { DEFAULT_FLOW_SAMPLING, sampleMelPatches, type FlowModel, type FlowSamplingOptions } from '../sample/mel-flow';
import { Rng } from '../util/rng';

export interface MelSoundOptions extends Partial<FlowSamplingOptions> {
  clips?: number;
  seed?: number | string;
  /** Event patches drawn per clip (the layout uses as many as fit). Default 4. */
  eventsPerClip?: number;
  /**
   * 'data' (default): each clip lasts as long as a recording drawn from the model's clip-length model
   * and sits centred in the 7.2 s on silence, as the training clips do; 'full': events fill the whole
   * 7.2 s. A model without a clip-length model always fills.
   */
  layout?: ClipLayout;
  /** 'median' (default): a 3 × 3 median filter on each generated patch removes its speckle (src/audio/smooth.ts); 'none': as sampled. */
  smooth?: PatchSmoothing;
  /** Griffin–Lim iterations. Default 60. */
  griffinLimIterations?: number;
  /** Progress: the share of a stage done (awaited, so a page can repaint between steps). */
  onProgress?: (stage: MelSoundStage, fraction: number) => void | Promise<void>;
}

export type MelSoundStage = 'flow' | 'compose' | 'vocoder';
export const CLIP_LAYOUTS = ['data', 'full'] as const;
export const PATCH_SMOOTHING = ['median', 'none'] as const;
export type PatchSmoothing = (typeof PATCH_SMOOTHING)[number];
export type ClipLayout = (typeof CLIP_LAYOUTS)[number];

export interface MelSoundResult {
  clips: Float32Array[];
  /** The composed log-mel of each clip (what the vocoder inverted; its span only, for layout 'data'). */
  spectrograms: Spectrogram[];
  /** Samples of sound in each clip (the rest is silence around it). */
  spans: number[];
  timings: { flowSeconds: number; composeSeconds: number; vocoderSeconds: number };
}

export async function melSoundForClass(model: FlowModel, label: number, o: MelSoundOptions = {}): Promise<MelSoundResult> {
  const n = o.clips ?? 1;
  const k = o.eventsPerClip ?? 4;
  const seed = o.seed ?? 0;
  const cfg = model.cfg;
  const t0 = performance.now();
  const patches = await sampleMelPatches(
    model,
    Array.from({ length: n * k }, () => label),
    `${seed}/events`,
    {
      steps: o.steps ?? DEFAULT_FLOW_SAMPLING.steps,
      guidance: o.guidance ?? DEFAULT_FLOW_SAMPLING.guidance,
      temperature: o.temperature ?? DEFAULT_FLOW_SAMPLING.temperature,
      guidanceInterval: o.guidanceInterval ?? DEFAULT_FLOW_SAMPLING.guidanceInterval,
      ...(o.onProgress ? { onStep: (done: number, total: number) => o.onProgress?.('flow', done / total) } : {}),
    },
  );
  const flowSeconds = (performance.now() - t0) / 1000;
  const clips: Float32Array[] = [];
  const spectrograms: Spectrogram[] = [];
  const spans: number[] = [];
  let composeSeconds = 0;
  let vocoderSeconds = 0;
  for (let c = 0; c < n; c++) {
    if (o.onProgress) await o.onProgress('compose', c / n);
    const events: Spectrogram[] = patches
      .slice(c * k, (c + 1) * k)
      .map((p) => ({ frames: cfg.frames, bins: cfg.nMels, data: p.map((v) => Math.max(LOG_SILENCE, v * cfg.scale + cfg.offset)) }))
      .map((e) => ((o.smooth ?? 'median') === 'median' ? median3x3(e) : e));
    const r = renderClip(events, o.layout === 'full' ? undefined : cfg.clipLengths?.[label], seed, c, o.griffinLimIterations);
    clips.push(r.clip);
    spectrograms.push(r.spec);
    spans.push(r.span);
    composeSeconds += r.composeSeconds;
    vocoderSeconds += r.vocoderSeconds;
    if (o.onProgress) {
      await o.onProgress('compose', (c + 1) / n);
      await o.onProgress('vocoder', (c + 1) / n);
    }
  }
  return { clips, spectrograms, spans, timings: { flowSeconds, composeSeconds, vocoderSeconds } };
}

/**
 * One clip from its events (log-mel, 4 kHz front end): a span drawn from the clip-length model
 * `lengths` (the whole clip when undefined), the events laid out in it, mel inversion + Griffin–Lim,
 * peak-normalised, centred in the 7.2-s clip on silence. Deterministic in (seed, c).
 */
export function renderClip(
  events: readonly Spectrogram[],
  lengths: readonly number[] | undefined,
  seed: number | string,
  c: number,
  griffinLimIterations = 60,
): { clip: Float32Array; spec: Spectrogram; span: number; composeSeconds: number; vocoderSeconds: number } {
  const t1 = performance.now();
  const seconds = lengths ? sampleLength(lengths, new Rng(`${seed}/length${c}`)) : null;
  // at least one hop so the span has a frame; at most the clip
  const span = seconds === null ? CLIP_SAMPLES : Math.max(DEFAULT_MEL.hop, Math.min(CLIP_SAMPLES, Math.round(seconds * SAMPLE_RATE)));
  const frames = frameCount(span, DEFAULT_MEL);
  const { spec } = composeEvents(events, new Rng(`${seed}/layout${c}`), { frames, silence: LOG_SILENCE, firstStart: Math.min(30, frames >> 2) });
  const t2 = performance.now();
  const audio = logMelToAudio(spec, span, DEFAULT_MEL, { iterations: griffinLimIterations, seed: c });
  const clip = cropOrPad(normalize(audio, { mode: 'peak', targetDb: -1 }), CLIP_SAMPLES, 'center');
  return { clip, spec, span, composeSeconds: (t2 - t1) / 1000, vocoderSeconds: (performance.now() - t2) / 1000 };
}
