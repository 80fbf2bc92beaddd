/**
 * The codebook (vector quantiser) of a VQ-VAE level: nearest-neighbour search, straight-through
 * estimator, codebook and commitment losses; optionally EMA codebook updates and dead-code
 * restarts (as in rosinality's vq-vae-2 and Jukebox). Defaults follow the thesis: learned by
 * gradient (codebook loss), commitment weight β = 0.25, no EMA, no restarts.
 */
import * as tf from '@tensorflow/tfjs';
import { quantizeWebGpu } from '../ops/codebook-webgpu';
import { lookupRows, segmentSum, stopGradient, straightThrough } from '../ops/gradient';
import { fusedWebGpuOps } from '../ops/webgpu-program';
import type { Rng } from '../util/rng';
import type { Params } from './nn';

export interface CodebookConfig {
  /** Number of code vectors (the thesis: 2048). */
  size: number;
  /** Dimension of each vector (the thesis: 32). */
  dim: number;
  /** Commitment loss weight β (the thesis: 0.25). */
  beta: number;
  /** EMA updates instead of the codebook loss (decay ≈ 0.99). */
  ema: { decay: number; epsilon: number } | null;
  /** Re-initialise codes whose EMA use count (decay 0.99) falls below `threshold` from random encoder outputs. */
  restart: { threshold: number } | null;
  /**
   * Replace the random initial codebook by encoder outputs of the first training batch (random rows).
   * Without it the tiny U(±1/K) codebook sits far from the encoder's outputs and every vector maps to
   * one code (collapse: perplexity 1). The thesis does not say how it initialised; default on.
   */
  dataInit: boolean;
}

export interface QuantizeResult {
  /** Quantised latents with the straight-through gradient, [batch, time, dim]. */
  quantized: tf.Tensor3D;
  /** Code indices, int32 [batch, time]. */
  codes: tf.Tensor2D;
  /** ‖sg(z) − e‖² (0 with EMA). */
  codebookLoss: tf.Scalar;
  /** ‖z − sg(e)‖². */
  commitLoss: tf.Scalar;
  /** codebookLoss + β · commitLoss. */
  loss: tf.Scalar;
  /** Encoder outputs, flattened [batch·time, dim] (for EMA updates). */
  flat: tf.Tensor2D;
}

/** Rows of the distance matrix computed at once; bounds memory at 8192 × size floats. */
const SEARCH_CHUNK = 8192;

export class Codebook {
  readonly name: string;
  readonly cfg: CodebookConfig;
  readonly embeddings: tf.Variable;
  private readonly emaCount: tf.Variable | null;
  private readonly emaSum: tf.Variable | null;
  private readonly usage: tf.Variable | null;
  private readonly initialized: tf.Variable | null;

  constructor(p: Params, name: string, cfg: CodebookConfig) {
    this.name = name;
    this.cfg = cfg;
    // U(±1/K), as the original VQ-VAE implementations initialise a gradient-trained codebook.
    this.embeddings = p.create(`${name}.embeddings`, [cfg.size, cfg.dim], { kind: 'uniform', bound: 1 / cfg.size }, cfg.ema === null);
    if (cfg.ema) {
      // EMA statistics are buffers; the EMA codebook itself stays a (non-trainable) parameter.
      // Start the running statistics at "each code saw itself once", so unused codes keep their vector.
      this.emaCount = p.buffer(`${name}.ema_count`, [cfg.size], { kind: 'ones' });
      this.emaSum = p.buffer(`${name}.ema_sum`, [cfg.size, cfg.dim], { kind: 'zeros' });
      this.emaSum.assign(this.embeddings);
    } else {
      this.emaCount = null;
      this.emaSum = null;
    }
    this.usage = cfg.restart ? p.buffer(`${name}.usage`, [cfg.size], { kind: 'ones' }) : null;
    this.initialized = cfg.dataInit ? p.buffer(`${name}.initialized`, [1], { kind: 'zeros' }) : null;
  }

  /** Index of the nearest code vector for each row of `flat` [n, dim] → int32 [n]. No gradient. */
  nearest(flat: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const e = this.embeddings as tf.Tensor2D;
      const eNorm = tf.sum(tf.square(e), 1); // [K]
      const eT = tf.transpose(e); // [dim, K]: a plain product is the fast one on wasm
      const parts: tf.Tensor1D[] = [];
      const n = flat.shape[0];
      for (let start = 0; start < n; start += SEARCH_CHUNK) {
        const rows = Math.min(SEARCH_CHUNK, n - start);
        const z = n <= SEARCH_CHUNK ? flat : tf.slice(flat, [start, 0], [rows, flat.shape[1]]);
        // ‖z − e‖² = ‖z‖² − 2 z·e + ‖e‖²; ‖z‖² is the same for every code, so it drops out of the argmin.
        const d = tf.sub(eNorm, tf.mul(2, tf.matMul(z, eT)));
        parts.push(tf.argMin(d, 1) as tf.Tensor1D);
      }
      return (parts.length === 1 ? parts[0] : tf.concat(parts)) as tf.Tensor1D;
    });
  }

  /** Quantise encoder outputs z [batch, time, dim]. Call inside the gradient tape. */
  quantize(z: tf.Tensor3D): QuantizeResult {
    const [b, t, d] = z.shape;
    const flat = tf.reshape(z, [b * t, d]) as tf.Tensor2D;
    if (fusedWebGpuOps()) {
      // webgpu: search, lookup and both losses in the fused programs of ops/codebook-webgpu.ts (2 dispatches forward, 2 backward)
      const r = quantizeWebGpu(flat, this.embeddings as tf.Tensor2D);
      const codebookLoss = (this.cfg.ema ? tf.scalar(0) : r.codebookLoss) as tf.Scalar;
      const loss = tf.add(codebookLoss, tf.mul(this.cfg.beta, r.commitLoss)) as tf.Scalar;
      const quantized = tf.reshape(r.quantized, [b, t, d]) as tf.Tensor3D;
      return { quantized, codes: tf.reshape(r.ids, [b, t]) as tf.Tensor2D, codebookLoss, commitLoss: r.commitLoss, loss, flat };
    }
    const ids = this.nearest(stopGradient(flat));
    const chosen = lookupRows(this.embeddings as tf.Tensor2D, ids);
    const commitLoss = tf.mean(tf.square(tf.sub(flat, stopGradient(chosen)))) as tf.Scalar;
    const codebookLoss = (this.cfg.ema ? tf.scalar(0) : tf.mean(tf.square(tf.sub(stopGradient(flat), chosen)))) as tf.Scalar;
    const loss = tf.add(codebookLoss, tf.mul(this.cfg.beta, commitLoss)) as tf.Scalar;
    const quantized = tf.reshape(straightThrough(flat, chosen), [b, t, d]) as tf.Tensor3D;
    return { quantized, codes: tf.reshape(ids, [b, t]) as tf.Tensor2D, codebookLoss, commitLoss, loss, flat };
  }

  /** Code vectors for given indices: int32 [batch, time] → [batch, time, dim]. */
  lookup(codes: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, t] = codes.shape;
      return tf.reshape(tf.gather(this.embeddings, tf.reshape(codes, [-1])), [b, t, this.cfg.dim]) as tf.Tensor3D;
    });
  }

  /**
   * After an optimizer step: EMA codebook update and dead-code restarts (no-ops unless configured).
   * `flat` and `codes` come from this step's quantize().
   */
  async update(flat: tf.Tensor2D, codes: tf.Tensor2D, rng: Rng): Promise<{ restarted: number; initialized: boolean }> {
    let restarted = 0;
    let initialized = false;
    // read what decides the control flow first (asynchronously: GPU backends cannot read synchronously)
    const needsInit = this.initialized ? ((await this.initialized.data()) as Float32Array)[0] === 0 : false;
    tf.tidy(() => {
      const K = this.cfg.size;
      const n = flat.shape[0];
      if (this.initialized && needsInit) {
        // First batch: codebook := random encoder outputs (with replacement when there are fewer than K).
        const rows = Array.from({ length: K }, () => rng.int(n));
        const picked = tf.gather(flat, tf.tensor1d(rows, 'int32'));
        const jitter = n < K ? tf.mul(tf.randomNormal([K, this.cfg.dim], 0, 1, 'float32', rng.int(2 ** 31)), 1e-3) : tf.zeros([K, this.cfg.dim]);
        const init = tf.add(picked, jitter);
        this.embeddings.assign(init);
        if (this.emaSum && this.emaCount) {
          this.emaSum.assign(init);
          this.emaCount.assign(tf.ones([K]));
        }
        this.initialized.assign(tf.ones([1]));
        initialized = true;
        return;
      }
      const ids = tf.reshape(codes, [-1]) as tf.Tensor1D;
      const count = (): tf.Tensor1D => tf.reshape(segmentSum(tf.ones([ids.shape[0], 1]), ids, K), [K]) as tf.Tensor1D;
      if (this.cfg.ema && this.emaCount && this.emaSum) {
        const { decay, epsilon } = this.cfg.ema;
        const newCount = tf.add(tf.mul(this.emaCount, decay), tf.mul(count(), 1 - decay));
        const newSum = tf.add(tf.mul(this.emaSum, decay), tf.mul(segmentSum(flat, ids, K), 1 - decay));
        this.emaCount.assign(newCount);
        this.emaSum.assign(newSum);
        // Laplace smoothing of the counts so unused codes do not divide by zero.
        const total = tf.sum(newCount);
        const smoothed = tf.mul(tf.div(tf.add(newCount, epsilon), tf.add(total, K * epsilon)), total);
        this.embeddings.assign(tf.div(newSum, tf.expandDims(smoothed, 1)));
      }
      if (this.cfg.restart && this.usage) this.usage.assign(tf.add(tf.mul(this.usage, 0.99), tf.mul(count(), 0.01)));
    });
    if (!initialized && this.cfg.restart && this.usage) {
      const usage = (await this.usage.data()) as Float32Array;
      tf.tidy(() => {
        const K = this.cfg.size;
        const n = flat.shape[0];
        const dead: number[] = [];
        for (let k = 0; k < K; k++) if (usage[k] < (this.cfg.restart?.threshold ?? 0)) dead.push(k);
        if (dead.length > 0) {
          const rows = dead.map(() => rng.int(n));
          const fresh = tf.gather(flat, tf.tensor1d(rows, 'int32'));
          const idx = tf.tensor2d(dead, [dead.length, 1], 'int32');
          this.embeddings.assign(tf.tensorScatterUpdate(this.embeddings, idx, fresh));
          // a restarted code gets ~10 steps (0.99¹⁰ ≈ 0.9) to be chosen before it is re-seeded again
          (this.usage as tf.Variable).assign(
            tf.tensorScatterUpdate(this.usage as tf.Variable, idx, tf.fill([dead.length], (this.cfg.restart?.threshold ?? 0) / 0.9)),
          );
          if (this.emaSum && this.emaCount) {
            this.emaSum.assign(tf.tensorScatterUpdate(this.emaSum, idx, fresh));
            this.emaCount.assign(tf.tensorScatterUpdate(this.emaCount, idx, tf.ones([dead.length])));
          }
          restarted = dead.length;
        }
      });
    }
    return { restarted, initialized };
  }
}

export interface CodeStats {
  /** exp(entropy) of the code histogram: how many codes are effectively in use. */
  perplexity: number;
  /** Share of the codebook used at least once. */
  usage: number;
  used: number;
}

export function codeStats(codes: ArrayLike<number>, size: number): CodeStats {
  const hist = new Float64Array(size);
  for (let i = 0; i < codes.length; i++) hist[codes[i]] = (hist[codes[i]] as number) + 1;
  let h = 0;
  let used = 0;
  for (let k = 0; k < size; k++) {
    const c = hist[k];
    if (c > 0) {
      used++;
      const p = c / codes.length;
      h -= p * Math.log(p);
    }
  }
  return { perplexity: Math.exp(h), usage: used / size, used };
}
