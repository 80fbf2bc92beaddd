/**
 * What a training step computes, for each model, in one place: used by the training tasks on the
 * main thread and by the gradient workers of data-parallel training (parallel.ts), so both compute
 * exactly the same loss.
 */
import type * as tf from '@tensorflow/tfjs';
import { Codec } from '../models/codec';
import { MelFlow, type MelFlowConfig } from '../models/mel-flow';
import type { Params } from '../models/nn';
import type { CodecConfig } from '../models/presets';
import { Prior, type PriorConfig } from '../models/prior';
import type { StepOutput } from './loop';

/** Everything a worker needs to build the same model (weights arrive with every step). */
export type ReplicaSpec =
  | { kind: 'codec'; config: CodecConfig }
  | { kind: 'prior'; config: PriorConfig; labelSmoothing: number }
  | { kind: 'mel-flow'; config: MelFlowConfig };

export interface Replica {
  params: Params;
  /** The step's loss on batch tensors (codec: [input]; prior: [source, target]). */
  forward(batch: tf.Tensor[], dropoutSeed: number | null): StepOutput;
  dispose(): void;
}

/** Codec step: loss, its terms, and the codes + encoder outputs the codebook updates need (top first). */
export function codecStep(codec: Codec, x: tf.Tensor3D): StepOutput {
  const r = codec.model.forward(x);
  const keep: tf.Tensor[] = [];
  if (r.codes.top && r.flat.top) keep.push(r.codes.top, r.flat.top);
  keep.push(r.codes.bottom, r.flat.bottom);
  return { loss: r.loss, scalars: { recon: r.recon, codebook: r.codebookLoss, commit: r.commitLoss }, keep };
}

/** Prior step: teacher-forced cross-entropy. */
export function priorStep(prior: Prior, src: tf.Tensor2D, tgt: tf.Tensor2D, labelSmoothing: number, dropoutSeed: number | null): StepOutput {
  return { loss: prior.loss(src, tgt, { labelSmoothing, dropoutSeed }), scalars: {}, keep: [] };
}

/** Mel-flow step: flow-matching loss on [x1, noise, t, label]. */
export function melFlowStep(model: MelFlow, b: tf.Tensor[]): StepOutput {
  const [x1, noise, t, label] = b as [tf.Tensor3D, tf.Tensor3D, tf.Tensor1D, tf.Tensor1D];
  return { loss: model.loss(x1, noise, t, label), scalars: {}, keep: [] };
}

export function createReplica(spec: ReplicaSpec): Replica {
  if (spec.kind === 'mel-flow') {
    const model = new MelFlow(spec.config);
    return { params: model.params, forward: (b) => melFlowStep(model, b), dispose: () => model.dispose() };
  }
  if (spec.kind === 'codec') {
    const codec = new Codec(spec.config);
    return { params: codec.params, forward: (b) => codecStep(codec, b[0] as tf.Tensor3D), dispose: () => codec.dispose() };
  }
  const prior = new Prior(spec.config);
  return {
    params: prior.params,
    forward: (b, seed) => priorStep(prior, b[0] as tf.Tensor2D, b[1] as tf.Tensor2D, spec.labelSmoothing, seed),
    dispose: () => prior.dispose(),
  };
}
