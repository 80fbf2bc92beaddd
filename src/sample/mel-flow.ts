/**
 * Sampling the log-mel flow-matching generator: integrate dx/dt = v(x, t, class) from noise at t = 0
 * to data at t = 1 with the explicit midpoint rule (second order: half the velocity evaluations of
 * Euler for the same error), classifier-free guidance v = v_null + g·(v_class − v_null), and a
 * seeded Rng for the starting noise (same seed → same patches).
 */
import * as tf from '@tensorflow/tfjs';
import type { MelFlow, MelFlowConfig } from '../models/mel-flow';
import { InputError } from '../util/errors';
import { Rng } from '../util/rng';

/** What sampling needs of a model: its shape and its velocity field (MelFlow, or an analytic field in tests). */
export type VelocityModel = Pick<MelFlow, 'velocity'> & { cfg: Pick<MelFlow['cfg'], 'frames' | 'nMels' | 'classes'> };
/** The flow model a generator samples: a MelFlow, or two as one field (expertField). */
export type FlowModel = Pick<MelFlow, 'cfg' | 'velocity'>;

export interface FlowSamplingOptions {
  /** Midpoint steps (2 velocity evaluations each). */
  steps: number;
  /** Classifier-free guidance scale (1 = plain conditional). */
  guidance: number;
  /** Scale of the starting noise (1 = the training distribution; < 1 trades variety for clarity). */
  temperature: number;
  /**
   * Times t ∈ [from, to) at which guidance applies; elsewhere the plain conditional velocity
   * (Kynkäänniemi et al. 2024, "Applying guidance in a limited interval"). [0, 1] = everywhere.
   */
  guidanceInterval: [number, number];
}

/**
 * Defaults of the shipped generator. Guidance 4 was chosen among 1.5, 2, 3, 4, 5 by the FAD of
 * generated clips against the generator's own *training* recordings (judge embedding, 32 clips per
 * class, summed over cats and dogs: 158 / 116 / 75 / 63 / 69) for the early expert alone, and kept for
 * the pair of experts (`npm run tune:sampling`; checkpoints/README.md) — the held-out recordings played no part.
 */
export const DEFAULT_FLOW_SAMPLING: FlowSamplingOptions = { steps: 10, guidance: 4, temperature: 1, guidanceInterval: [0, 1] };

/**
 * Two flow models as one velocity field: `early` for t < switchAt, `late` from there on — experts
 * for noise levels, as eDiff-I (Balaji et al. 2022) uses them. Both learn the same path
 * x_t = (1 − t)·x0 + t·x1 on the same data, so each one's velocity estimates the same field; the
 * shipped pair is a velocity-predicting model (clear class, speckled detail) for the noisy half and a
 * data-predicting one (clean detail) for the rest. The sampler gives one t per call; the field reads it.
 */
export function expertField<M extends VelocityModel>(early: M, late: VelocityModel, switchAt: number): Pick<M, 'cfg' | 'velocity'> {
  if (!(switchAt >= 0 && switchAt <= 1)) throw new RangeError(`expert field: switchAt must be in [0, 1], got ${switchAt}`);
  for (const k of ['frames', 'nMels', 'classes'] as const)
    if (early.cfg[k] !== late.cfg[k]) throw new RangeError(`expert field: the experts differ in ${k} (${early.cfg[k]} vs ${late.cfg[k]})`);
  return {
    cfg: early.cfg,
    velocity: (x, t, label) => ((t.dataSync()[0] as number) < switchAt ? early : late).velocity(x, t, label),
  };
}

/**
 * Where a pair of whole-range experts hands over (chosen by tune:sampling on the training recordings);
 * a late expert trained on part of the flow takes over where its training times start.
 */
export const DEFAULT_SWITCH_AT = 0.5;
/**
 * Guidance of a pair of experts: 3, chosen among 3, 4, 5 by tune:sampling on the training recordings
 * (FAD sum 29.8 / 36.6 / 42.9). A single model keeps DEFAULT_FLOW_SAMPLING's 4.
 */
export const DEFAULT_PAIR_GUIDANCE = 3;

/** A mel-flow model (its training settings are enough) and where it was loaded from. */
export interface TimedModel {
  model: { cfg: Pick<MelFlowConfig, 'train'> };
  dir: string;
}

/**
 * Refuse to sample a model at flow times it was never trained on (presets with `train.timeRange`):
 * the early expert must cover [0, switchAt), the late one [switchAt, 1]; a model alone all of [0, 1].
 */
export function refuseUntrainedTimes(early: TimedModel, late: TimedModel | null, switchAt: number): void {
  const range = (m: TimedModel['model']): [number, number] => m.cfg.train.timeRange ?? [0, 1];
  const [a, b] = range(early.model);
  const show = (r: [number, number]) => `[${r[0]}, ${r[1]})`;
  if (!late) {
    if (a > 0 || b < 1)
      throw new InputError(
        early.dir,
        'bad-argument',
        `trained only on flow times ${show([a, b])}: it needs a late expert (--late-model DIR), not --late-model none`,
      );
    return;
  }
  const [c, d] = range(late.model);
  if (a > 0 || b < switchAt)
    throw new InputError(
      early.dir,
      'bad-argument',
      `the early expert was trained on flow times ${show([a, b])} only; a switch at ${switchAt} asks it for [0, ${switchAt})`,
    );
  if (c > switchAt || d < 1)
    throw new InputError(
      late.dir,
      'bad-argument',
      `the late expert was trained on flow times ${show([c, d])} only; a switch at ${switchAt} asks it for [${switchAt}, 1]`,
    );
}

/** Refuse a late expert whose patches are not the generator's (shape, classes, log-mel scaling): not a pair. */
export function refuseMismatchedPair(early: { model: MelFlow }, late: { model: MelFlow; dir: string }): void {
  for (const k of ['frames', 'nMels', 'classes', 'offset', 'scale'] as const)
    if (late.model.cfg[k] !== early.model.cfg[k])
      throw new InputError(late.dir, 'bad-argument', `the late expert's ${k} is ${late.model.cfg[k]}, the generator's ${early.model.cfg[k]}: not a pair`);
}

/**
 * The field a generator samples: one model alone, or a pair (`refuseMismatchedPair`) as `expertField`
 * at `switchAt` (default: where the late expert's training times start, else DEFAULT_SWITCH_AT), each
 * expert only at the times it trained on (`refuseUntrainedTimes`). `guidance` is the pair's default
 * (a single model keeps DEFAULT_FLOW_SAMPLING's).
 */
export function pairField(
  early: { model: MelFlow; dir: string },
  late: { model: MelFlow; dir: string } | null,
  switchAt?: number,
): { field: FlowModel; guidance: number | undefined } {
  if (late) refuseMismatchedPair(early, late);
  const at = switchAt ?? late?.model.cfg.train.timeRange?.[0] ?? DEFAULT_SWITCH_AT;
  refuseUntrainedTimes(early, late, at);
  if (!late) return { field: early.model, guidance: undefined };
  return { field: expertField(early.model, late.model, at), guidance: DEFAULT_PAIR_GUIDANCE };
}

/** Guided velocity for a batch: one forward pass over [class; null] stacked along the batch. */
function guidedVelocity(model: VelocityModel, x: tf.Tensor3D, t: number, labels: number[], g: number): tf.Tensor3D {
  return tf.tidy(() => {
    const b = labels.length;
    if (g === 1) return model.velocity(x, tf.fill([b], t) as tf.Tensor1D, tf.tensor1d(labels, 'int32'));
    const xx = tf.concat([x, x], 0) as tf.Tensor3D;
    const ll = tf.tensor1d([...labels, ...labels.map(() => model.cfg.classes)], 'int32');
    const v = model.velocity(xx, tf.fill([2 * b], t) as tf.Tensor1D, ll);
    const [vc, vu] = tf.split(v, 2, 0) as [tf.Tensor3D, tf.Tensor3D];
    return tf.add(vu, tf.mul(tf.sub(vc, vu), g)) as tf.Tensor3D;
  });
}

/** Called after each midpoint step (awaited: a page can repaint its progress bar here). */
export type FlowStepCallback = (done: number, total: number) => void | Promise<void>;

/**
 * Draw one patch per label (model space, frame-major [frames × nMels] each).
 * `seed` fixes the starting noise; patch i of a call depends only on (seed, i).
 */
export async function sampleMelPatches(
  model: VelocityModel,
  labels: number[],
  seed: number | string,
  o: Partial<FlowSamplingOptions> & { onStep?: FlowStepCallback } = {},
): Promise<Float32Array[]> {
  const { steps, guidance, temperature, guidanceInterval } = { ...DEFAULT_FLOW_SAMPLING, ...o };
  const [gFrom, gTo] = guidanceInterval;
  if (!(gFrom >= 0 && gTo <= 1 && gFrom <= gTo))
    throw new RangeError(`flow sampling: guidance interval must satisfy 0 ≤ from ≤ to ≤ 1, got [${gFrom}, ${gTo}]`);
  const g = (t: number): number => (t >= gFrom && (t < gTo || gTo === 1) ? guidance : 1);
  if (!(Number.isInteger(steps) && steps >= 1)) throw new RangeError(`flow sampling: steps must be a positive integer, got ${steps}`);
  for (const l of labels)
    if (!(Number.isInteger(l) && l >= 0 && l < model.cfg.classes)) throw new RangeError(`flow sampling: class ${l} is not one of 0…${model.cfg.classes - 1}`);
  const { frames, nMels } = model.cfg;
  const n = frames * nMels;
  const noise = new Float32Array(labels.length * n);
  labels.forEach((_, i) => {
    const rng = new Rng(`${seed}/patch${i}`);
    for (let k = 0; k < n; k++) noise[i * n + k] = temperature * rng.normal();
  });
  let x = tf.tensor3d(noise, [labels.length, frames, nMels]);
  const h = 1 / steps;
  for (let s = 0; s < steps; s++) {
    const t = s * h;
    const next = tf.tidy(() => {
      const v1 = guidedVelocity(model, x, t, labels, g(t));
      const mid = tf.add(x, tf.mul(v1, h / 2)) as tf.Tensor3D;
      const v2 = guidedVelocity(model, mid, t + h / 2, labels, g(t + h / 2));
      return tf.add(x, tf.mul(v2, h)) as tf.Tensor3D;
    });
    x.dispose();
    x = next;
    if (o.onStep) await o.onStep(s + 1, steps);
  }
  const data = (await x.data()) as Float32Array;
  x.dispose();
  return labels.map((_, i) => data.slice(i * n, (i + 1) * n));
}
