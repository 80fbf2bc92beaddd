/**
 * metrics.jsonl for the training loop: cut back to a step on resume; and, on webgpu with the fused
 * Adam, metrics read back only when the loop logs: each step leaves its loss, logged scalars and
 * gradient norm on the GPU; every `logEvery` steps (and before a validation, a
 * checkpoint or the end) one stack of all of them is read in a single read-back and the metric lines
 * are written as the per-step loop writes them (same fields, same order). A NaN/Inf loss is found
 * then; the fused Adam has skipped every update whose gradient norm was not finite.
 */
import { promises as fsp } from 'node:fs';
import * as tf from '@tensorflow/tfjs';

/** A step's loss and logged scalars, still on the GPU. */
export type Lazy = { loss: tf.Scalar; scalars: Record<string, tf.Scalar> };

export interface PendingStep {
  step: number;
  lr: number;
  seconds: number;
  loss: tf.Scalar;
  scalars: Record<string, tf.Scalar>;
  norm: tf.Scalar;
  extra: Record<string, number>;
}

export interface ReadStep {
  step: number;
  seconds: number;
  loss: number;
  scalars: Record<string, number>;
  metrics: Record<string, number>;
}

/** Read every pending step's numbers in one read-back; disposes their tensors and empties `pending`. */
export async function readPending(pending: PendingStep[]): Promise<ReadStep[]> {
  if (pending.length === 0) return [];
  const tensors = pending.flatMap((p) => [p.loss, ...Object.values(p.scalars), p.norm]);
  const stacked = tf.stack(tensors.map((t) => tf.reshape(t, [])));
  const values = (await stacked.data()) as Float32Array;
  stacked.dispose();
  let i = 0;
  const out = pending.map((p) => {
    const loss = values[i++] as number;
    const scalars: Record<string, number> = {};
    for (const k of Object.keys(p.scalars)) scalars[k] = values[i++] as number;
    const gradNorm = values[i++] as number;
    return { step: p.step, seconds: p.seconds, loss, scalars, metrics: { loss, ...scalars, ...p.extra, lr: p.lr, grad_norm: gradNorm } };
  });
  tf.dispose(tensors);
  pending.length = 0;
  return out;
}

/**
 * Read the pending steps, append their metric lines (as the per-step loop writes them) up to the first
 * NaN/Inf loss, update the progress line; returns the last good step and the bad one (the caller stops).
 */
export async function writePending(
  pending: PendingStep[],
  metricsFile: string,
  progress: { update(step: number, values: Record<string, number>): void },
): Promise<{ last: ReadStep | null; bad: ReadStep | null }> {
  const read = await readPending(pending);
  const badAt = read.findIndex((r) => !Number.isFinite(r.loss));
  const good = badAt < 0 ? read : read.slice(0, badAt);
  const line = (r: ReadStep) => `${JSON.stringify({ step: r.step, split: 'train', ...r.metrics, seconds: Number(r.seconds.toFixed(4)) })}\n`;
  if (good.length > 0) await fsp.appendFile(metricsFile, good.map(line).join(''));
  for (const r of good) progress.update(r.step, { loss: r.loss, ...(r.scalars['recon'] !== undefined ? { recon: r.scalars['recon'] } : {}) });
  return { last: good[good.length - 1] ?? null, bad: badAt < 0 ? null : (read[badAt] as ReadStep) };
}

/** Keep the lines of steps ≤ `step` (resume: later lines belong to the run that is being replaced). */
export async function truncateMetrics(file: string, step: number): Promise<void> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    return;
  }
  const kept = text.split('\n').filter((l) => {
    if (!l.trim()) return false;
    try {
      return (JSON.parse(l) as { step: number }).step <= step;
    } catch {
      return false;
    }
  });
  await fsp.writeFile(file, kept.length ? `${kept.join('\n')}\n` : '');
}
