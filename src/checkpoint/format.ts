/**
 * The checkpoint format without file I/O, so Node (src/checkpoint/checkpoint.ts reads files) and the
 * browser (src/checkpoint/fetch.ts fetches them) check and decode checkpoints with the same
 * code: the metadata check, the weights-manifest decode with its size check, and restoring weights
 * into a model's parameters.
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../models/nn';
import { InputError } from '../util/errors';
import type { RngState } from '../util/rng';
import type { AdamConfig } from '../optim/adam';

export const CHECKPOINT_FORMAT = 'soundtrack-lab/checkpoint';
export const CHECKPOINT_VERSION = 1;

/** A checkpoint that cannot be used: wrong format/version/model, mismatched shapes, truncated files. */
export class CheckpointError extends InputError {
  constructor(file: string, detail: string, options?: { cause?: unknown }) {
    super(file, 'bad-argument', detail, options);
    this.name = 'CheckpointError';
  }
}

export interface CheckpointMeta<Config = unknown> {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  /** What was trained: 'codec', 'prior', 'classifier-head', … */
  kind: string;
  /** The model's config (enough to rebuild it). */
  model: Config;
  step: number;
  createdAt: string;
  /** Seconds of training so far (across resumes). */
  trainSeconds: number;
  software: { soundtrackLab: string; tfjs: string; backend: string };
  /** Options the run was started with. */
  train: Record<string, unknown>;
  rng: RngState | null;
  sampler: unknown;
  data: { spec: string; layout: string; train: string[]; val: string[] } | null;
  optimizer: { config: AdamConfig; step: number } | null;
  metrics: Record<string, number>;
}

/** model.json / optimizer.json of a checkpoint. */
export interface WeightsManifest {
  format: 'soundtrack-lab/weights';
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

/** latest.json of a run folder. */
export interface LatestPointer {
  format: 'soundtrack-lab/latest';
  step: number;
  dir: string;
}

/** Check parsed checkpoint.json (`file` names it in errors); `kind` must match when given. */
export function checkMeta<Config>(raw: unknown, file: string, kind?: string): CheckpointMeta<Config> {
  const meta = raw as CheckpointMeta<Config> | null;
  if (!meta || typeof meta !== 'object') throw new CheckpointError(file, 'checkpoint metadata is not a JSON object');
  if (meta.format !== CHECKPOINT_FORMAT) throw new CheckpointError(file, `not a soundtrack-lab checkpoint (format ${JSON.stringify(meta.format)})`);
  if (meta.version !== CHECKPOINT_VERSION)
    throw new CheckpointError(file, `checkpoint version ${meta.version} is not supported (this build reads version ${CHECKPOINT_VERSION})`);
  if (kind && meta.kind !== kind) throw new CheckpointError(file, `is a ${meta.kind} checkpoint, not a ${kind}`);
  return meta;
}

/** The single weight group of a manifest (checkpoints write one). */
export function manifestGroup(raw: unknown, file: string): { paths: string[]; weights: tf.io.WeightsManifestEntry[] } {
  const group = (raw as Partial<WeightsManifest> | null)?.weightsManifest?.[0];
  if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) throw new CheckpointError(file, 'the weights manifest lists no weights');
  return group;
}

/** Bytes the weights of a manifest group take. */
export function manifestBytes(weights: readonly tf.io.WeightsManifestEntry[]): number {
  const bytesPer: Record<string, number> = { float32: 4, int32: 4, bool: 1, float16: 2, uint8: 1, uint16: 2 };
  let expected = 0;
  for (const w of weights) {
    const per = w.quantization ? (w.quantization.dtype === 'float16' ? 2 : w.quantization.dtype === 'uint16' ? 2 : 1) : (bytesPer[w.dtype] ?? 4);
    expected += w.shape.reduce((a, b) => a * b, 1) * per;
  }
  return expected;
}

/** Decode the (concatenated) weight files of a manifest group into tensors, checking their size. */
export function decodeCheckpointWeights(weights: tf.io.WeightsManifestEntry[], data: ArrayBuffer, file: string): tf.NamedTensorMap {
  const expected = manifestBytes(weights);
  if (data.byteLength !== expected)
    throw new CheckpointError(file, `weights data is ${data.byteLength} bytes, the manifest needs ${expected} (truncated or mismatched file)`);
  return tf.io.decodeWeights(data, weights);
}

/** Copy loaded weights into a model's parameters; every name and shape must match. Disposes `weights`. */
export function restoreParams(params: Params, weights: tf.NamedTensorMap, file: string): void {
  const problems: string[] = [];
  for (const info of params.info()) {
    const w = weights[info.name];
    if (!w) problems.push(`missing ${info.name}`);
    else if (w.shape.join('x') !== info.shape.join('x'))
      problems.push(`${info.name} has shape [${w.shape}] in the checkpoint, the model needs [${info.shape}]`);
  }
  const extra = Object.keys(weights).filter((k) => !params.has(k));
  if (extra.length > 0) problems.push(`unexpected ${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ` and ${extra.length - 3} more` : ''}`);
  if (problems.length > 0) {
    tf.dispose(Object.values(weights));
    throw new CheckpointError(
      file,
      `weights do not fit this model (a checkpoint of another model or preset?): ${problems.slice(0, 4).join('; ')}${problems.length > 4 ? ` (+${problems.length - 4} more)` : ''}`,
    );
  }
  for (const info of params.info()) {
    const w = weights[info.name] as tf.Tensor;
    // a cast copy is released once the variable holds its data (it leaked one tensor per non-float weight)
    if (w.dtype === 'float32') params.get(info.name).assign(w);
    else tf.tidy(() => params.get(info.name).assign(tf.cast(w, 'float32')));
  }
  tf.dispose(Object.values(weights));
}
