/**
 * Rebuild models from a checkpoint's metadata and decoded weights — no I/O, so the Node loaders
 * (files, src/checkpoint/checkpoint.ts) and the browser page (HTTP, src/checkpoint/fetch.ts) share it.
 */
import type * as tf from '@tensorflow/tfjs';
import { MelFlow, type MelFlowConfig } from '../models/mel-flow';
import { SoundClassifier, type SoundClassifierConfig } from '../models/sound-classifier';
import { CheckpointError, restoreParams, type CheckpointMeta } from '../checkpoint/format';
import { ClassifierHead, type HeadConfig } from '../vision/head';

/** A MelFlow with the checkpoint's weights (`where` names it in errors). Disposes `weights`. */
export function restoreMelFlow(meta: CheckpointMeta<MelFlowConfig>, weights: tf.NamedTensorMap, where: string): MelFlow {
  const cfg = meta.model;
  if (cfg?.kind !== 'mel-flow') throw new CheckpointError(where, 'holds no mel-flow config this version understands');
  const model = new MelFlow(cfg, { initialize: false });
  try {
    restoreParams(model.params, weights, where);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** The cat/dog head with the checkpoint's weights; `backbone` replaces the spec's source (a resolved path or URL). Disposes `weights`. */
export function restoreClassifierHead(meta: CheckpointMeta<HeadConfig>, weights: tf.NamedTensorMap, where: string, backboneSource?: string): ClassifierHead {
  const cfg = meta.model;
  if (cfg?.format !== 'soundtrack-lab/classifier-head') throw new CheckpointError(where, 'holds no classifier-head config this version understands');
  const head = new ClassifierHead(backboneSource === undefined ? cfg : { ...cfg, backbone: { ...cfg.backbone, source: backboneSource } });
  try {
    restoreParams(head.params, weights, where);
  } catch (e) {
    head.dispose();
    throw e;
  }
  return head;
}

/** The 3-way sound classifier (the judge) with the checkpoint's weights. Disposes `weights`. */
export function restoreSoundClassifier(meta: CheckpointMeta<SoundClassifierConfig>, weights: tf.NamedTensorMap, where: string): SoundClassifier {
  const cfg = meta.model;
  if (cfg?.kind !== 'sound-classifier') throw new CheckpointError(where, 'holds no sound-classifier config this version understands');
  const judge = new SoundClassifier(cfg);
  try {
    restoreParams(judge.params, weights, where);
  } catch (e) {
    judge.dispose();
    throw e;
  }
  return judge;
}
