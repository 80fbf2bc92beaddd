/**
 * The one training loop every model in the project uses: Adam with a learning-rate schedule,
 * gradient clipping by global norm, metrics per step in JSONL, a progress line, validation every
 * N steps, atomic checkpoints every N steps and at the end, exact resume (same batches, same next
 * loss), and a guard that stops on a NaN/Inf loss before it reaches the weights.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../models/nn';
import { projectVersion } from '../util/project';
import { Rng } from '../util/rng';
import { Adam, clipByGlobalNorm, type AdamConfig } from './adam';
import { saveCheckpoint, type CheckpointMeta, type LoadedCheckpoint } from './checkpoint';
import { Progress } from './progress';
import { learningRate, type Schedule } from './schedule';

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
    super(`loss became ${value} at step ${step}; training stopped before updating the weights. ${checkpoint ? `Last good checkpoint: ${checkpoint}` : 'No checkpoint was written yet.'} Try a lower learning rate or stronger gradient clipping.`);
    this.name = 'TrainingDivergedError';
    this.step = step;
    this.checkpoint = checkpoint;
  }
}

async function truncateMetrics(file: string, step: number): Promise<void> {
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

export async function trainLoop<Batch, Config>(task: TrainTask<Batch>, o: LoopOptions<Config>): Promise<LoopResult> {
  await fsp.mkdir(o.out, { recursive: true });
  const metricsFile = path.join(o.out, 'metrics.jsonl');
  const trainable = task.params.trainable();
  const byVarName = new Map<string, string>();
  for (const [name, v] of trainable) byVarName.set(v.name, name);
  const adam = new Adam(o.adam);
  let step = 0;
  let trainSeconds = 0;
  let rng = new Rng(o.seed);
  let lastCheckpoint: string | null = null;
  if (o.resume) {
    step = o.resume.meta.step;
    trainSeconds = o.resume.meta.trainSeconds;
    if (o.resume.meta.rng) rng = Rng.fromState(o.resume.meta.rng);
    task.restoreSampler(o.resume.meta.sampler);
    if (o.resume.optimizer) adam.setState(o.resume.optimizer);
    lastCheckpoint = o.resume.dir;
    await truncateMetrics(metricsFile, step);
  } else {
    await fsp.writeFile(metricsFile, '');
  }
  const progress = new Progress({ total: o.steps, label: o.label, stream: o.quiet ? (new NullStream() as unknown as NodeJS.WriteStream) : process.stderr }, step);
  const backend = tf.getBackend();
  let metrics: Record<string, number> = {};
  let validation: Record<string, number> = {};
  const firstStep = step;

  const checkpoint = async () => {
    lastCheckpoint = await saveCheckpoint(o.out, {
      meta: {
        ...o.meta,
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

  try {
    while (step < o.steps) {
      const t0 = performance.now();
      const batch = task.nextBatch(rng);
      const lr = learningRate(o.schedule, step);
      let out: StepOutput | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const r = task.forward(batch);
        out = { loss: r.loss, scalars: Object.fromEntries(Object.entries(r.scalars).map(([k, t]) => [k, tf.keep(t)])), keep: r.keep.map((t) => tf.keep(t)) };
        return r.loss;
      }, [...trainable.values()]);
      task.disposeBatch(batch);
      const result = out as unknown as StepOutput;
      // asynchronous reads throughout: GPU backends cannot read back synchronously
      const loss = ((await value.data()) as Float32Array)[0] as number;
      if (!Number.isFinite(loss)) {
        tf.dispose([value, grads, Object.values(result.scalars), result.keep]);
        throw new TrainingDivergedError(step + 1, loss, lastCheckpoint);
      }
      const named = new Map<string, tf.Tensor>();
      for (const [varName, g] of Object.entries(grads)) named.set(byVarName.get(varName) ?? varName, g);
      const clipped = await clipByGlobalNorm(named, o.clipNorm);
      adam.apply(trainable, clipped.grads, lr);
      tf.dispose([...clipped.grads.values(), value]);
      const extra = task.afterStep ? await task.afterStep(result.keep, rng) : {};
      const scalars: Record<string, number> = {};
      for (const [k, t] of Object.entries(result.scalars)) scalars[k] = ((await t.data()) as Float32Array)[0] as number;
      tf.dispose([Object.values(result.scalars), result.keep]);
      step += 1;
      const seconds = (performance.now() - t0) / 1000;
      trainSeconds += seconds;
      metrics = { loss, ...scalars, ...extra, lr, grad_norm: clipped.norm };
      await fsp.appendFile(metricsFile, `${JSON.stringify({ step, split: 'train', ...metrics, seconds: Number(seconds.toFixed(4)) })}\n`);
      progress.update(step, { loss, ...(scalars['recon'] !== undefined ? { recon: scalars['recon'] } : {}) });
      const last = step >= o.steps || (o.stopAfter !== undefined && step - firstStep >= o.stopAfter);
      if (task.validate && ((o.validateEvery > 0 && step % o.validateEvery === 0) || last)) {
        validation = Object.fromEntries(Object.entries(await task.validate()).map(([k, v]) => [`val_${k}`, v]));
        await fsp.appendFile(metricsFile, `${JSON.stringify({ step, split: 'val', ...validation })}\n`);
        progress.message(`${o.label} step ${step}: ${Object.entries(validation).map(([k, v]) => `${k} ${v.toPrecision(4)}`).join(' ')}`);
      }
      if ((o.checkpointEvery > 0 && step % o.checkpointEvery === 0) || last) await checkpoint();
      if (last) break;
    }
  } finally {
    adam.dispose();
  }
  return { step, checkpoint: lastCheckpoint ?? '', metrics, validation, trainSeconds };
}

class NullStream {
  isTTY = false;
  write(): boolean {
    return true;
  }
}
