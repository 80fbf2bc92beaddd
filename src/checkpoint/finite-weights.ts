/**
 * Loaded weights must be finite: a weights.bin overwritten with 0xFF bytes decodes to NaN, and a NaN
 * codec turns every clip into NaN samples that a WAV writer clamps to silence. Checked once at load,
 * naming the file, the tensor and how many values are bad.
 */
import type * as tf from '@tensorflow/tfjs';
import { CheckpointError } from './format';

export function assertFiniteWeights(weights: tf.NamedTensorMap, file: string): void {
  for (const [name, t] of Object.entries(weights)) {
    if (t.dtype !== 'float32') continue;
    const data = t.dataSync() as Float32Array;
    let bad = 0;
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i] as number)) bad++;
    if (bad > 0) {
      throw new CheckpointError(
        file,
        `holds ${bad} non-finite value(s) (NaN/Inf) in ${name} of ${data.length}: the weights are corrupt; use another checkpoint or retrain`,
      );
    }
  }
}
