/**
 * Data-parallel training over worker threads, for the CPU: tfjs-wasm computes on one thread in
 * Node, so on a 2-core machine one process leaves a core idle. With `workers: N` the training loop
 * keeps the first share of every batch and sends the other N − 1 shares, with the current weights,
 * to gradient workers (grad-worker.ts: their own wasm backend and a replica of the model); the
 * gradients, losses and logged scalars are averaged weighted by share size, and the tensors
 * afterStep needs (codes, encoder outputs) are concatenated in batch order — so a step computes
 * the same update as one process would (to float rounding), checkpoints and resume are unchanged,
 * and the codebook updates see the whole batch.
 * Measured ceiling on 2 cores (npm run bench:cpu): thesis codec step 5.9 s → 4.2 s at batch 8.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from '../backend/index';
import { projectRoot } from '../util/project';
import type { ReplicaSpec } from './replica';
import type { WireTensor } from './wire';

/** What a task provides to be trained data-parallel. */
export interface ParallelTask<Batch> {
  replica: ReplicaSpec;
  /**
   * Cut a batch into `parts` consecutive shares along the batch axis: the first stays here (a Batch,
   * disposed by the task's disposeBatch), the others become tensors for the workers, each with the
   * dropout seed it uses.
   */
  split(batch: Batch, parts: number): { local: Batch; localSize: number; remote: Array<{ tensors: tf.Tensor[]; size: number; seed: number | null }> };
}

export interface WorkerResult {
  loss: number;
  scalars: Record<string, number>;
  grads: Float32Array[];
  keep: WireTensor[];
  /** Tensors alive in the worker after the step (a leak check). */
  tensors: number;
}

type Reply = { type: 'ready'; backend: string } | ({ type: 'result'; id: number } & WorkerResult) | { type: 'error'; message: string };

/** Sizes of `parts` consecutive shares of `n` (the first ones one larger when n is not divisible). */
export function shareSizes(n: number, parts: number): number[] {
  if (parts < 1 || parts > n) throw new Error(`cannot split a batch of ${n} into ${parts} share(s); use at most --workers ${n}`);
  return Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0));
}

class GradientWorker {
  private readonly worker: Worker;
  private pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor() {
    // Workers load TypeScript through tsx's loader (registered inside the thread; execArgv hooks do not reach workers).
    const root = projectRoot();
    const tsxDir = path.dirname(createRequire(path.join(root, 'package.json')).resolve('tsx/package.json'));
    const api = pathToFileURL(path.join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
    const entry = pathToFileURL(path.join(root, 'src', 'train', 'grad-worker.ts')).href;
    const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); }).catch((e) => { require('node:worker_threads').parentPort.postMessage({ type: 'error', message: 'gradient worker failed to start: ' + (e && e.stack ? e.stack : String(e)) }); });`;
    this.worker = new Worker(boot, { eval: true });
    this.worker.on('message', (m: Reply) => this.settle(m));
    this.worker.on('error', (e: Error) => this.fail(e));
    this.worker.on('exit', (code) => {
      if (code !== 0) this.fail(new Error(`gradient worker exited with code ${code}`));
    });
  }

  private settle(m: Reply): void {
    const p = this.pending;
    this.pending = null;
    if (m.type === 'error') {
      const e = new Error(`gradient worker: ${m.message}`);
      if (p) p.reject(e);
      else this.failure = e;
      return;
    }
    p?.resolve(m);
  }

  private fail(e: Error): void {
    this.failure = e;
    const p = this.pending;
    this.pending = null;
    p?.reject(e);
  }

  request(message: unknown, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Reply>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(message, transfer);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/** A pool of gradient workers, each holding a replica of the model. */
export class GradientWorkers {
  private id = 0;
  private constructor(private readonly workers: GradientWorker[]) {}

  /**
   * Start `count` workers on `backend` with replicas of `spec`. `names` (trainable parameters) fixes the
   * order of the gradients, `stateNames` (all parameters, default `names`) the order of the weights sent each step.
   */
  static async start(spec: ReplicaSpec, backend: BackendName, names: string[], count: number, stateNames: string[] = names): Promise<GradientWorkers> {
    const workers = Array.from({ length: count }, () => new GradientWorker());
    const pool = new GradientWorkers(workers);
    try {
      await Promise.all(workers.map((w) => w.request({ type: 'init', spec, backend, names, stateNames })));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** One step on every worker: the same weights (in `stateNames` order), one batch share each. */
  async step(weights: Float32Array[], shares: Array<{ batch: WireTensor[]; seed: number | null }>): Promise<WorkerResult[]> {
    const id = ++this.id;
    const replies = await Promise.all(
      this.workers.map((w, i) => {
        const share = shares[i];
        if (!share) throw new Error(`no batch share for gradient worker ${i + 1}`);
        return w.request(
          { type: 'step', id, weights, batch: share.batch, seed: share.seed },
          share.batch.map((t) => t.data.buffer as ArrayBuffer),
        );
      }),
    );
    return replies.map((r) => {
      if (r.type !== 'result') throw new Error(`gradient worker: unexpected reply '${r.type}'`);
      return { loss: r.loss, scalars: r.scalars, grads: r.grads, keep: r.keep, tensors: r.tensors };
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}

/**
 * Data parallel: average this thread's share with the workers' shares, weighted by share size (so the
 * result is the full batch's mean loss and gradient). Disposes `local.grads`; the workers' gradients
 * are in `trainable`'s order.
 */
export function combineShares(
  local: { loss: number; scalars: Record<string, number>; grads: Map<string, tf.Tensor>; size: number },
  replies: readonly Pick<WorkerResult, 'loss' | 'scalars' | 'grads'>[],
  sizes: readonly number[],
  trainable: ReadonlyMap<string, tf.Variable>,
): { loss: number; scalars: Record<string, number>; grads: Map<string, tf.Tensor> } {
  if (replies.length !== sizes.length) throw new Error(`${replies.length} worker replies for ${sizes.length} shares`);
  const total = local.size + sizes.reduce((a, b) => a + b, 0);
  const w0 = local.size / total;
  let loss = local.loss * w0;
  const scalars: Record<string, number> = {};
  for (const k of Object.keys(local.scalars)) scalars[k] = (local.scalars[k] as number) * w0;
  replies.forEach((r, i) => {
    const w = (sizes[i] as number) / total;
    loss += r.loss * w;
    for (const k of Object.keys(scalars)) scalars[k] = (scalars[k] as number) + (r.scalars[k] ?? 0) * w;
  });
  const grads = new Map<string, tf.Tensor>();
  [...trainable.keys()].forEach((name, j) => {
    const v = trainable.get(name) as tf.Variable;
    grads.set(
      name,
      tf.tidy(() => {
        let g = tf.mul(local.grads.get(name) ?? tf.zerosLike(v), w0);
        replies.forEach((r, i) => (g = tf.add(g, tf.mul(tf.tensor(r.grads[j] as Float32Array, v.shape), (sizes[i] as number) / total))));
        return g;
      }),
    );
  });
  tf.dispose([...local.grads.values()]);
  return { loss, scalars, grads };
}
