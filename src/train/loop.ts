/**
 * The one training loop every model in the project uses: Adam with a learning-rate schedule,
 * gradient clipping by global norm, metrics per step in JSONL, a progress line, validation every
 * N steps, atomic checkpoints every N steps and at the end, exact resume (same batches, same next
 * loss), and a guard that stops on a NaN/Inf loss before it reaches the weights (on webgpu the
 * metrics are read back every `logEvery` steps and the fused Adam skips a non-finite gradient).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from '../backend/index';
import type { Params } from '../models/nn';
import { projectVersion } from '../util/project';
import { Rng } from '../util/rng';
import { Adam, type AdamConfig } from '../optim/adam';
import { saveCheckpoint, type CheckpointMeta, type LoadedCheckpoint } from '../checkpoint/checkpoint';
import { combineShares, GradientWorkers, type ParallelTask } from './parallel';

export { combineShares };
import { Progress } from './progress';
import { learningRate, type Schedule } from './schedule';
import { fromWire, toWire } from './wire';
import { type Lazy, type PendingStep, truncateMetrics, writePending } from './metrics-log';

export interface StepOutput {
  loss: tf.Scalar;
  /** Scalars to log (e.g. reconstruction, codebook and commitment losses). */
  scalars: Record<string, tf.Scalar>;
  /** Tensors afterStep needs (codes, encoder outputs). */
  keep: tf.Tensor[];
}

export interface TrainTask<Batch> {
  params: Params;
  /** The next training batch; all randomness from `rng`. */
  nextBatch(rng: Rng): Batch;
  /** Loss of a batch, run inside the gradient tape. */
  forward(batch: Batch): StepOutput;
  disposeBatch(batch: Batch): void;
  /** After the optimizer update (EMA codebooks, code statistics): metrics to log. */
  afterStep?(kept: tf.Tensor[], rng: Rng): Record<string, number> | Promise<Record<string, number>>;
  /** Validation metrics, without gradients. */
  validate?(): Promise<Record<string, number>> | Record<string, number>;
  samplerState(): unknown;
  restoreSampler(state: unknown): void;
  /** How to train this task data-parallel over worker threads (LoopOptions.workers > 1). */
  parallel?: ParallelTask<Batch>;
}

export interface LoopOptions<Config> {
  /** Run folder: checkpoints, latest.json, metrics.jsonl. */
  out: string;
  /** Train until this step. */
  steps: number;
  schedule: Schedule;
  clipNorm: number;
  seed: number;
  checkpointEvery: number;
  validateEvery: number;
  adam?: Partial<AdamConfig>;
  /** Stop after this many steps in this process, keeping a checkpoint (simulates an interruption; tests). */
  stopAfter?: number;
  label: string;
  resume: LoadedCheckpoint<Config> | null;
  meta: Pick<CheckpointMeta<Config>, 'kind' | 'model' | 'train' | 'data'>;
  quiet?: boolean;
  /** Threads computing gradients: 1 (default) = this one; N > 1 adds N − 1 gradient workers (parallel.ts). */
  workers?: number;
  /** webgpu (fused Adam, one thread): read the metrics back every N steps (default 10; metrics-log.ts). Elsewhere every step. */
  logEvery?: number;
}

/** Run options a training function takes from its caller (train:codec, train:prior, the notebooks). */
export interface RunOptions {
  checkpointEvery?: number;
  validateEvery?: number;
  /** Stop after this many steps in this process (interruption tests). */
  stopAfter?: number;
  quiet?: boolean;
  /** Threads computing gradients (data parallel over worker threads; 2 on a 2-core CPU). Default 1. */
  workers?: number;
}

/**
 * The loop options that follow from a caller's run options: by default ~5 checkpoints per run (at most
 * 500 steps apart) and ~10 validations; stopAfter, quiet and workers passed through when given.
 */
export function runLoopOptions(
  run: RunOptions,
  steps: number,
): Pick<LoopOptions<unknown>, 'checkpointEvery' | 'validateEvery' | 'stopAfter' | 'quiet' | 'workers'> {
  return {
    checkpointEvery: run.checkpointEvery ?? Math.max(1, Math.min(500, Math.ceil(steps / 5))),
    validateEvery: run.validateEvery ?? Math.max(1, Math.ceil(steps / 10)),
    ...(run.stopAfter !== undefined ? { stopAfter: run.stopAfter } : {}),
    ...(run.quiet ? { quiet: true } : {}),
    ...(run.workers ? { workers: run.workers } : {}),
  };
}

export interface LoopResult {
  step: number;
  checkpoint: string;
  metrics: Record<string, number>;
  validation: Record<string, number>;
  trainSeconds: number;
}

/** A NaN or Inf loss: the step is not applied; the last good checkpoint stays. */
export class TrainingDivergedError extends Error {
  readonly step: number;
  readonly checkpoint: string | null;
  constructor(step: number, value: number, checkpoint: string | null) {
    super(
      `loss became ${value} at step ${step}; training stopped before updating the weights. ${checkpoint ? `Last good checkpoint: ${checkpoint}` : 'No checkpoint was written yet.'} Try a lower learning rate or stronger gradient clipping.`,
    );
    this.name = 'TrainingDivergedError';
    this.step = step;
    this.checkpoint = checkpoint;
  }
}

export async function trainLoop<Batch, Config>(task: TrainTask<Batch>, run: LoopOptions<Config>): Promise<LoopResult> {
  await fsp.mkdir(run.out, { recursive: true });
  const metricsFile = path.join(run.out, 'metrics.jsonl');
  const trainable = task.params.trainable();
  const byVarName = new Map<string, string>();
  for (const [name, v] of trainable) byVarName.set(v.name, name);
  const adam = new Adam(run.adam);
  let step = 0;
  let trainSeconds = 0;
  let rng = new Rng(run.seed);
  let lastCheckpoint: string | null = null;
  if (run.resume) {
    step = run.resume.meta.step;
    trainSeconds = run.resume.meta.trainSeconds;
    if (run.resume.meta.rng) rng = Rng.fromState(run.resume.meta.rng);
    task.restoreSampler(run.resume.meta.sampler);
    if (run.resume.optimizer) adam.setState(run.resume.optimizer);
    lastCheckpoint = run.resume.dir;
    await truncateMetrics(metricsFile, step);
  } else {
    await fsp.writeFile(metricsFile, '');
  }
  const progress = new Progress(
    { total: run.steps, label: run.label, stream: run.quiet ? (new NullStream() as unknown as NodeJS.WriteStream) : process.stderr },
    step,
  );
  const backend = tf.getBackend();
  let metrics: Record<string, number> = {};
  let validation: Record<string, number> = {};
  const firstStep = step;

  const checkpoint = async () => {
    lastCheckpoint = await saveCheckpoint(run.out, {
      meta: {
        ...run.meta,
        step,
        trainSeconds,
        software: { soundtrackLab: projectVersion(), tfjs: tf.version.tfjs, backend },
        rng: rng.getState(),
        sampler: task.samplerState(),
        metrics: { ...metrics, ...validation },
      },
      params: task.params,
      optimizer: { config: adam.config, state: adam.getState() },
    });
  };

  const workers = run.workers ?? 1;
  // webgpu with the fused Adam: the metrics stay on the GPU until the loop logs (metrics-log.ts)
  const deferred = adam.usesFused() && workers <= 1;
  const logEvery = Math.max(1, run.logEvery ?? 10);
  let pool: GradientWorkers | null = null;
  if (workers > 1) {
    if (!task.parallel) throw new Error(`${run.label}: data-parallel training (workers ${workers}) is not available for this model`);
    pool = await GradientWorkers.start(task.parallel.replica, backend as BackendName, [...trainable.keys()], workers - 1, task.params.names());
  }

  /** Loss, gradients by parameter name, logged scalars and afterStep's tensors for one batch. */
  const gradients = async (
    batch: Batch,
  ): Promise<{ loss: number; grads: Map<string, tf.Tensor>; scalars: Record<string, number>; keep: tf.Tensor[]; lazy?: Lazy }> => {
    let local = batch;
    let localSize = 1;
    let remote: Promise<Awaited<ReturnType<GradientWorkers['step']>>> | null = null;
    let sizes: number[] = [];
    if (pool && task.parallel) {
      const parts = task.parallel.split(batch, pool.size + 1);
      task.disposeBatch(batch);
      local = parts.local;
      localSize = parts.localSize;
      sizes = parts.remote.map((r) => r.size);
      const shares = await Promise.all(parts.remote.map(async (r) => ({ batch: await Promise.all(r.tensors.map(toWire)), seed: r.seed })));
      tf.dispose(parts.remote.flatMap((r) => r.tensors));
      const weights = await Promise.all(task.params.names().map(async (n) => Float32Array.from((await task.params.get(n).data()) as Float32Array)));
      remote = pool.step(weights, shares);
    }
    let out: StepOutput | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const r = task.forward(local);
      out = { loss: r.loss, scalars: Object.fromEntries(Object.entries(r.scalars).map(([k, t]) => [k, tf.keep(t)])), keep: r.keep.map((t) => tf.keep(t)) };
      return r.loss;
    }, [...trainable.values()]);
    task.disposeBatch(local);
    const result = out as unknown as StepOutput;
    const named = new Map<string, tf.Tensor>();
    for (const [varName, g] of Object.entries(grads)) named.set(byVarName.get(varName) ?? varName, g);
    if (deferred) return { loss: Number.NaN, grads: named, scalars: {}, keep: result.keep, lazy: { loss: value, scalars: result.scalars } };
    // asynchronous reads throughout: GPU backends cannot read back synchronously
    const loss = ((await value.data()) as Float32Array)[0] as number;
    const scalars: Record<string, number> = {};
    for (const [k, t] of Object.entries(result.scalars)) scalars[k] = ((await t.data()) as Float32Array)[0];
    tf.dispose([value, Object.values(result.scalars)]);
    if (!remote) return { loss, grads: named, scalars, keep: result.keep };

    const replies = await remote;
    const combined = combineShares({ loss, scalars, grads: named, size: localSize }, replies, sizes, trainable);
    const keep = result.keep.map((t, j) => tf.tidy(() => tf.concat([t, ...replies.map((r) => fromWire(r.keep[j] as (typeof r.keep)[number]))], 0)));
    tf.dispose(result.keep);
    return { ...combined, keep };
  };

  const pending: PendingStep[] = [];
  /** Deferred mode: read the pending steps (one read-back), write their lines, stop on a NaN/Inf loss. */
  const flush = async () => {
    const r = await writePending(pending, metricsFile, progress);
    if (r.bad) throw new TrainingDivergedError(r.bad.step, r.bad.loss, lastCheckpoint);
    if (r.last) metrics = r.last.metrics;
  };

  try {
    while (step < run.steps) {
      const t0 = performance.now();
      const batch = task.nextBatch(rng);
      const lr = learningRate(run.schedule, step);
      const { loss, grads: named, scalars, keep, lazy } = await gradients(batch);
      if (!lazy && !Number.isFinite(loss)) {
        tf.dispose([[...named.values()], keep]);
        throw new TrainingDivergedError(step + 1, loss, lastCheckpoint);
      }
      const normTensor = await adam.clipAndApply(trainable, named, lr, run.clipNorm); // on webgpu: 2 fused dispatches for all
      tf.dispose([...named.values()]);
      const gradNorm = lazy ? Number.NaN : ((await normTensor.data())[0] as number);
      if (!lazy) normTensor.dispose();
      const extra = task.afterStep ? await task.afterStep(keep, rng) : {};
      tf.dispose(keep);
      step += 1;
      const seconds = (performance.now() - t0) / 1000;
      trainSeconds += seconds;
      const last = step >= run.steps || (run.stopAfter !== undefined && step - firstStep >= run.stopAfter);
      const validating = task.validate && ((run.validateEvery > 0 && step % run.validateEvery === 0) || last);
      const saving = (run.checkpointEvery > 0 && step % run.checkpointEvery === 0) || last;
      if (lazy) {
        pending.push({ step, lr, seconds, loss: lazy.loss, scalars: lazy.scalars, norm: normTensor, extra });
        if (step % logEvery === 0 || validating || saving) await flush();
      } else {
        metrics = { loss, ...scalars, ...extra, lr, grad_norm: gradNorm };
        await fsp.appendFile(metricsFile, `${JSON.stringify({ step, split: 'train', ...metrics, seconds: Number(seconds.toFixed(4)) })}\n`);
        progress.update(step, { loss, ...(scalars['recon'] !== undefined ? { recon: scalars['recon'] } : {}) });
      }
      if (validating && task.validate) {
        validation = Object.fromEntries(Object.entries(await task.validate()).map(([k, v]) => [`val_${k}`, v]));
        await fsp.appendFile(metricsFile, `${JSON.stringify({ step, split: 'val', ...validation })}\n`);
        progress.message(
          `${run.label} step ${step}: ${Object.entries(validation)
            .map(([k, v]) => `${k} ${v.toPrecision(4)}`)
            .join(' ')}`,
        );
      }
      if (saving) await checkpoint();
      if (last) break;
    }
  } finally {
    tf.dispose(pending.flatMap((p) => [p.loss, p.norm, ...Object.values(p.scalars)]));
    adam.dispose();
    if (pool) await pool.close();
  }
  return { step, checkpoint: lastCheckpoint ?? '', metrics, validation, trainSeconds };
}

class NullStream {
  isTTY = false;
  write(): boolean {
    return true;
  }
}
