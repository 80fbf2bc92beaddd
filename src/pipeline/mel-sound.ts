/**
 * Class label → sound with the log-mel flow generator (the default generator):
 * flow sampling of event patches (src/sample/mel-flow.ts) → a 7.2-s log-mel clip laid out from the
 * events (src/audio/compose.ts) → mel inversion + fast Griffin–Lim (src/audio/mel.ts) → 4 kHz audio,
 * peak-normalised to −1 dBFS.
 */
import { normalize } from '../audio/clips';
import { composeEvents } from '../audio/compose';
import { CLIP_SAMPLES } from '../audio/constants';
import { DEFAULT_MEL, frameCount, logMelToAudio, type Spectrogram } from '../audio/mel';
import type { MelFlow } from '../models/mel-flow';
import { DEFAULT_FLOW_SAMPLING, sampleMelPatches, type FlowSamplingOptions } from '../sample/mel-flow';
import { Rng } from '../util/rng';

export interface MelSoundOptions extends Partial<FlowSamplingOptions> {
  clips?: number;
  seed?: number | string;
  /** Event patches drawn per clip (the layout uses as many as fit). Default 4. */
  eventsPerClip?: number;
  /** Griffin–Lim iterations. Default 60. */
  griffinLimIterations?: number;
  /** Progress: the share of a stage done (awaited, so a page can repaint between steps). */
  onProgress?: (stage: MelSoundStage, fraction: number) => void | Promise<void>;
}

export type MelSoundStage = 'flow' | 'compose' | 'vocoder';

export interface MelSoundResult {
  clips: Float32Array[];
  /** The composed log-mel of each clip (what the vocoder inverted). */
  spectrograms: Spectrogram[];
  timings: { flowSeconds: number; composeSeconds: number; vocoderSeconds: number };
}

export async function melSoundForClass(model: MelFlow, label: number, o: MelSoundOptions = {}): Promise<MelSoundResult> {
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
      ...(o.onProgress ? { onStep: (done: number, total: number) => o.onProgress?.('flow', done / total) } : {}),
    },
  );
  const flowSeconds = (performance.now() - t0) / 1000;
  const silence = Math.log(DEFAULT_MEL.logFloor);
  const frames = frameCount(CLIP_SAMPLES, DEFAULT_MEL);
  const clips: Float32Array[] = [];
  const spectrograms: Spectrogram[] = [];
  let composeSeconds = 0;
  let vocoderSeconds = 0;
  for (let c = 0; c < n; c++) {
    if (o.onProgress) await o.onProgress('compose', c / n);
    const t1 = performance.now();
    const events: Spectrogram[] = patches
      .slice(c * k, (c + 1) * k)
      .map((p) => ({ frames: cfg.frames, bins: cfg.nMels, data: p.map((v) => Math.max(silence, v * cfg.scale + cfg.offset)) }));
    const { spec } = composeEvents(events, new Rng(`${seed}/layout${c}`), { frames, silence });
    composeSeconds += (performance.now() - t1) / 1000;
    if (o.onProgress) {
      await o.onProgress('compose', (c + 1) / n);
      await o.onProgress('vocoder', c / n);
    }
    const t2 = performance.now();
    const audio = logMelToAudio(spec, CLIP_SAMPLES, DEFAULT_MEL, { iterations: o.griffinLimIterations ?? 60, seed: c });
    clips.push(normalize(audio, { mode: 'peak', targetDb: -1 }));
    spectrograms.push(spec);
    vocoderSeconds += (performance.now() - t2) / 1000;
    if (o.onProgress) await o.onProgress('vocoder', (c + 1) / n);
  }
  return { clips, spectrograms, timings: { flowSeconds, composeSeconds, vocoderSeconds } };
}
