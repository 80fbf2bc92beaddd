/**
 * Adam (Kingma & Ba) with optional decoupled weight decay (AdamW), written out instead of
 * tf.train.adam because the loop needs: a learning rate that changes every step (schedules),
 * its complete state by parameter name for checkpoints and exact resume, and one place to swap in
 * fused kernels later.
 */
import * as tf from '@tensorflow/tfjs';
import { FusedAdamWebGpu, webgpuInternals } from '../ops/adam-webgpu';

export interface AdamConfig {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
}

export const DEFAULT_ADAM: AdamConfig = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };

export interface AdamState {
  step: number;
  m: Map<string, tf.Tensor>;
  v: Map<string, tf.Tensor>;
}

/**
 * 'auto': on the webgpu backend {@link Adam.clipAndApply} runs the fused kernels of
 * src/ops/adam-webgpu.ts (2 dispatches for all parameters, no read-back); 'off': always the reference.
 * SOUNDTRACK_FUSED=0 in the environment turns 'auto' off.
 */
export type FusedMode = 'auto' | 'off';

export class Adam {
  readonly config: AdamConfig;
  private state: AdamState;
  private readonly fusedMode: FusedMode;
  /** While set, the moments live in its flat GPU buffers and `state.m`/`state.v` hold at most a stale snapshot (getState). */
  private fused: FusedAdamWebGpu | null = null;

  constructor(config: Partial<AdamConfig> = {}, fused: FusedMode = 'auto') {
    this.config = { ...DEFAULT_ADAM, ...config };
    this.state = { step: 0, m: new Map(), v: new Map() };
    this.fusedMode = process.env.SOUNDTRACK_FUSED === '0' ? 'off' : fused;
  }

  /** Would {@link clipAndApply} use the fused WebGPU kernels now? */
  usesFused(): boolean {
    return this.fusedMode === 'auto' && webgpuInternals() !== null;
  }

  /** Move the moments out of the fused buffers into `state` (tensors by name). */
  private unfuse(): void {
    if (!this.fused) return;
    const { m, v } = this.fused.exportState();
    for (const t of this.state.m.values()) t.dispose();
    for (const t of this.state.v.values()) t.dispose();
    this.state.m = m;
    this.state.v = v;
    this.fused.dispose();
    this.fused = null;
  }

  /**
   * Clip the gradients to global norm `maxNorm` (≤ 0: no clipping) and update: the training loop's
   * step. Returns the norm before clipping as a scalar tensor (the caller owns it and reads it when it
   * logs). On webgpu: two fused dispatches and no read-back; elsewhere clipByGlobalNorm + apply.
   * The gradients stay owned by the caller.
   */
  async clipAndApply(vars: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number, maxNorm: number): Promise<tf.Scalar> {
    if (!this.usesFused()) {
      this.unfuse();
      const clipped = await clipByGlobalNorm(grads, maxNorm);
      this.apply(vars, clipped.grads, lr);
      if (clipped.grads !== grads) tf.dispose([...clipped.grads.values()]);
      return tf.scalar(clipped.norm);
    }
    const layout = [...grads.keys()].map((name) => {
      const v = vars.get(name);
      if (!v) throw new Error(`gradient for unknown parameter ${name}`);
      return { name, shape: v.shape };
    });
    if (this.fused && !this.fused.matches(layout)) this.unfuse();
    if (!this.fused) {
      this.fused = new FusedAdamWebGpu(layout);
      this.fused.loadState(this.state.m, this.state.v);
      for (const t of this.state.m.values()) t.dispose();
      for (const t of this.state.v.values()) t.dispose();
      this.state.m = new Map();
      this.state.v = new Map();
    }
    this.state.step += 1;
    const { beta1, beta2, epsilon, weightDecay } = this.config;
    return this.fused.step(vars, grads, { lr, beta1, beta2, epsilon, weightDecay, step: this.state.step, maxNorm });
  }

  get step(): number {
    return this.state.step;
  }

  /** Update each variable with its gradient at learning rate `lr`. */
  apply(vars: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number): void {
    this.unfuse();
    const { beta1, beta2, epsilon, weightDecay } = this.config;
    this.state.step += 1;
    const t = this.state.step;
    const c1 = 1 - beta1 ** t;
    const c2 = 1 - beta2 ** t;
    for (const [name, g] of grads) {
      const v = vars.get(name);
      if (!v) throw new Error(`gradient for unknown parameter ${name}`);
      const prevM = this.state.m.get(name);
      const prevV = this.state.v.get(name);
      const [m, s] = tf.tidy(() => {
        const mNew = prevM ? tf.add(tf.mul(prevM, beta1), tf.mul(g, 1 - beta1)) : tf.mul(g, 1 - beta1);
        const vNew = prevV ? tf.add(tf.mul(prevV, beta2), tf.mul(tf.square(g), 1 - beta2)) : tf.mul(tf.square(g), 1 - beta2);
        let update = tf.div(tf.div(mNew, c1), tf.add(tf.sqrt(tf.div(vNew, c2)), epsilon));
        if (weightDecay > 0) update = tf.add(update, tf.mul(v, weightDecay));
        v.assign(tf.sub(v, tf.mul(update, lr)));
        return [tf.keep(mNew), tf.keep(vNew)];
      });
      prevM?.dispose();
      prevV?.dispose();
      this.state.m.set(name, m);
      this.state.v.set(name, s);
    }
  }

  /** Moments by parameter name (for checkpoints). The tensors stay owned by the optimizer. */
  getState(): AdamState {
    if (this.fused) {
      // a snapshot of the fused moments; the fused buffers stay in use
      const { m, v } = this.fused.exportState();
      for (const t of this.state.m.values()) t.dispose();
      for (const t of this.state.v.values()) t.dispose();
      this.state.m = m;
      this.state.v = v;
    }
    return this.state;
  }

  /** Replace the state (resume); takes ownership of the tensors. */
  setState(state: AdamState): void {
    this.dispose();
    this.state = state;
  }

  dispose(): void {
    this.fused?.dispose();
    this.fused = null;
    for (const t of this.state.m.values()) t.dispose();
    for (const t of this.state.v.values()) t.dispose();
    this.state = { step: 0, m: new Map(), v: new Map() };
  }
}

/**
 * Sum of many scalars by addN over groups of at most 4: one addN over hundreds of tensors binds one
 * storage buffer per input, and WebGPU devices allow 8 per shader stage (tfjs-webgpu's AddN then
 * builds an invalid pipeline and the whole command buffer it is submitted with is dropped).
 */
function sumAll(xs: tf.Tensor[]): tf.Tensor {
  let level = xs;
  while (level.length > 1) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < level.length; i += 4) {
      const group = level.slice(i, i + 4);
      next.push(group.length === 1 ? (group[0] as tf.Tensor) : tf.addN(group));
    }
    level = next;
  }
  return level[0] ?? tf.scalar(0);
}

/** Scale gradients so their global L2 norm is at most maxNorm; returns the norm before clipping. */
export async function clipByGlobalNorm(grads: Map<string, tf.Tensor>, maxNorm: number): Promise<{ grads: Map<string, tf.Tensor>; norm: number }> {
  const total = tf.tidy(() => sumAll([...grads.values()].map((g) => tf.sum(tf.square(g)))));
  const norm = Math.sqrt(((await total.data()) as Float32Array)[0]);
  total.dispose();
  if (!(maxNorm > 0) || norm <= maxNorm || !Number.isFinite(norm)) return { grads, norm };
  const scale = maxNorm / (norm + 1e-6);
  const out = new Map<string, tf.Tensor>();
  for (const [k, g] of grads) {
    out.set(k, tf.mul(g, scale));
    g.dispose();
  }
  return { grads: out, norm };
}
