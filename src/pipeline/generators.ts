/**
 * The two sound generators behind one interface, so `sample`, `generate`, `eval:generation` and the
 * notebooks can use either:
 * - 'mel-flow' (the default): class → log-mel flow-matching event patches → composed 7.2-s clip →
 *   Griffin–Lim (src/pipeline/mel-sound.ts). Recognisably a cat or a dog (see checkpoints/README.md).
 * - 'thesis': class → Top prior → Bottom prior → raw-audio VQ-VAE-2 decoder, as the thesis built it
 *   (src/pipeline/sound.ts); kept for the study's reproduction.
 */
import { CLIP_SAMPLES, SAMPLE_RATE } from '../audio/constants';
import type { MelFlow, MelFlowConfig } from '../models/mel-flow';
import type { SoundClassifier, SoundClassifierConfig } from '../models/sound-classifier';
import { pairField, refuseMismatchedPair, type FlowSamplingOptions } from '../sample/mel-flow';
import type { SamplingOptions } from '../sample/strategy';
import { findCheckpoint, loadCheckpoint } from '../checkpoint/checkpoint';
import { melSoundForClass, renderClip, type ClipLayout, type PatchSmoothing } from './mel-sound';
import { LOG_SILENCE, frameEnergy, type Spectrogram } from '../audio/mel';
import { eventPatch, recordingLogMel } from '../data/events';
import { Rng } from '../util/rng';
import { InputError } from '../util/errors';
import { shippedPath } from './models';
import { restoreMelFlow, restoreSoundClassifier } from './restore';
import { disposeSoundModels, loadSoundModels, soundForClass } from './sound';

export const GENERATOR_KINDS = ['mel-flow', 'thesis'] as const;
export type GeneratorKind = (typeof GENERATOR_KINDS)[number];

/** Options either generator understands (each ignores the other's). */
export interface GenerateSoundOptions extends SamplingOptions, Partial<Pick<FlowSamplingOptions, 'steps' | 'guidanceInterval'>> {
  clips?: number;
  /** mel-flow: 'data' (default, clip lengths like the recordings) or 'full' (events fill the 7.2 s). */
  layout?: ClipLayout;
  /** mel-flow: 'median' (default) or 'none' (patches as sampled). */
  smooth?: PatchSmoothing;
  /**
   * mel-flow with a late expert: the flow time from which the late expert takes over (default: where
   * the late expert's training times start, `train.timeRange`, else 0.5).
   */
  switchAt?: number;
}

export { DEFAULT_PAIR_GUIDANCE, DEFAULT_SWITCH_AT } from '../sample/mel-flow';

export interface SoundGenerator {
  kind: GeneratorKind;
  sampleRate: number;
  clipSamples: number;
  /** Where each model came from. */
  sources: Record<string, string>;
  /** Ids of the recordings it was trained on (from its checkpoint), when known. */
  trainIds: string[] | null;
  /** `clips` consecutive 7.2-s clips for a class, with seconds per stage (names depend on the generator). */
  generate(label: number, o: GenerateSoundOptions): Promise<{ clips: Float32Array[]; stages: Record<string, number> }>;
  /**
   * mel-flow only: the same layout and vocoder over *real* event patches cut from `recordings`
   * (4 per clip, the loudest of 3 windows, as training cuts them) — the ceiling of a perfect event model.
   */
  layoutCeiling?(label: number, recordings: readonly Float32Array[], o: { clips: number; seed?: number | string; layout?: ClipLayout }): Float32Array[];
  dispose(): void;
}

export interface GeneratorPaths {
  /** mel-flow: the generator checkpoint. */
  generator?: string;
  /**
   * mel-flow: the late expert (a second mel-flow checkpoint, used for t ≥ switchAt), or 'none'.
   * Default: the shipped one when `generator` is the shipped one too, else none.
   */
  late?: string;
  /** thesis: codec and priors. */
  codec?: string;
  top?: string;
  bottom?: string;
}

/** Load a mel-flow generator from a run folder or a checkpoint folder. */
export async function loadMelFlow(where: string): Promise<{ model: MelFlow; dir: string; step: number; trainIds: string[] | null }> {
  const ck = await loadCheckpoint<MelFlowConfig>(where, 'mel-flow');
  const model = restoreMelFlow(ck.meta, ck.weights, ck.dir);
  return { model, dir: ck.dir, step: ck.meta.step, trainIds: ck.meta.data?.train ?? null };
}

/**
 * The late expert a mel-flow generator is loaded with: `paths.late`, none for 'none', else the shipped
 * one when the generator is the shipped one too and it exists (loadGenerator and web:build choose alike).
 */
export async function lateExpertPath(paths: Pick<GeneratorPaths, 'generator' | 'late'>): Promise<string | null> {
  if (paths.late === 'none') return null;
  if (paths.late !== undefined) return paths.late;
  return paths.generator === undefined && (await findCheckpoint(shippedPath('generatorLate'))) ? shippedPath('generatorLate') : null;
}

export async function loadGenerator(kind: GeneratorKind, paths: GeneratorPaths = {}): Promise<SoundGenerator> {
  if (kind === 'mel-flow') {
    const { model, dir, trainIds } = await loadMelFlow(paths.generator ?? shippedPath('generator'));
    const latePath = await lateExpertPath(paths);
    let late: Awaited<ReturnType<typeof loadMelFlow>> | null = null;
    try {
      late = latePath === null ? null : await loadMelFlow(latePath);
      if (late) refuseMismatchedPair({ model }, late);
    } catch (e) {
      model.dispose();
      late?.model.dispose();
      throw e;
    }
    const lateExpert = late;
    return {
      kind,
      // recordings either expert trained on
      trainIds: trainIds === null && lateExpert?.trainIds == null ? null : [...new Set([...(trainIds ?? []), ...(lateExpert?.trainIds ?? [])])],
      sampleRate: SAMPLE_RATE,
      clipSamples: CLIP_SAMPLES,
      sources: { generator: dir, ...(lateExpert ? { late: lateExpert.dir } : {}) },
      async generate(label, o) {
        const pair = pairField({ model, dir }, lateExpert, o.switchAt);
        const guidance = o.guidance ?? pair.guidance;
        const r = await melSoundForClass(pair.field, label, {
          clips: o.clips ?? 1,
          seed: o.seed ?? 0,
          ...(guidance !== undefined ? { guidance } : {}),
          ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
          ...(o.steps !== undefined ? { steps: o.steps } : {}),
          ...(o.guidanceInterval !== undefined ? { guidanceInterval: o.guidanceInterval } : {}),
          ...(o.layout !== undefined ? { layout: o.layout } : {}),
          ...(o.smooth !== undefined ? { smooth: o.smooth } : {}),
        });
        // never hand on NaN or silence as if it were sound (a WAV writer would turn NaN into silence)
        for (const c of r.clips) {
          if (!c.every(Number.isFinite))
            throw new InputError(dir, 'non-finite', 'the generator produced NaN/Inf samples (corrupt weights?); nothing was written');
          if (!c.some((v) => v !== 0)) throw new InputError(dir, 'empty', 'the generator produced pure silence (corrupt weights?); nothing was written');
        }
        return { clips: r.clips, stages: { flow: r.timings.flowSeconds, compose: r.timings.composeSeconds, vocoder: r.timings.vocoderSeconds } };
      },
      layoutCeiling(label, recordings, o) {
        if (recordings.length === 0) throw new RangeError('layoutCeiling: no recordings');
        const specs = recordings.map((a) => recordingLogMel(a));
        const energies = specs.map((sp) => frameEnergy(sp));
        const rng = new Rng(`${o.seed ?? 0}/ceiling/${label}`);
        const lengths = o.layout === 'full' ? undefined : model.cfg.clipLengths?.[label];
        return Array.from({ length: o.clips }, (_, c) => {
          const events = Array.from({ length: 4 }, () => {
            const j = rng.int(specs.length);
            const data = eventPatch(specs[j] as Spectrogram, energies[j] as Float32Array, rng, {
              frames: model.cfg.frames,
              silence: LOG_SILENCE,
              candidates: model.cfg.train.candidates,
            });
            return { frames: model.cfg.frames, bins: model.cfg.nMels, data };
          });
          return renderClip(events, lengths, `${o.seed ?? 0}/ceiling`, c).clip;
        });
      },
      dispose: () => {
        model.dispose();
        lateExpert?.model.dispose();
      },
    };
  }
  const m = await loadSoundModels({
    codec: paths.codec ?? shippedPath('codec'),
    top: paths.top ?? shippedPath('top'),
    bottom: paths.bottom ?? shippedPath('bottom'),
  });
  return {
    kind,
    sampleRate: m.codec.config.sampleRate,
    clipSamples: m.codec.config.clipSamples,
    sources: { ...m.sources },
    trainIds: null,
    async generate(label, o) {
      const { steps: _s, layout: _l, smooth: _m, switchAt: _w, guidanceInterval: _i, ...sampling } = o;
      const r = await soundForClass(m, label, sampling);
      return { clips: r.clips, stages: { top: r.timings.topSeconds, bottom: r.timings.bottomSeconds, decode: r.timings.decodeSeconds } };
    },
    dispose: () => disposeSoundModels(m),
  };
}

/** Load the 3-way sound classifier (the judge of eval:codec and eval:generation). */
export async function loadJudge(where?: string): Promise<{ judge: SoundClassifier; dir: string; trainIds: string[] | null }> {
  const ck = await loadCheckpoint<SoundClassifierConfig>(where ?? shippedPath('judge'), 'sound-classifier');
  return { judge: restoreSoundClassifier(ck.meta, ck.weights, ck.dir), dir: ck.dir, trainIds: ck.meta.data?.train ?? null };
}
