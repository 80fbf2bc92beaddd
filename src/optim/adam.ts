/**
 * Adam (Kingma & Ba) with optional decoupled weight decay (AdamW), written out instead of
 * tf.train.adam because the loop needs: a learning rate that changes every step (schedules),
 * its complete state by parameter name for checkpoints and exact resume, and one place to swap in
 * fused kernels later.
 */
import * as tf from '@tensorflow/tfjs';

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

export class Adam {
  readonly config: AdamConfig;
  private state: AdamState;

  constructor(config: Partial<AdamConfig> = {}) {
    this.config = { ...DEFAULT_ADAM, ...config };
    this.state = { step: 0, m: new Map(), v: new Map() };
  }

  get step(): number {
    return this.state.step;
  }

  /** Update each variable with its gradient at learning rate `lr`. */
  apply(vars: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number): void {
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
    return this.state;
  }

  /** Replace the state (resume); takes ownership of the tensors. */
  setState(state: AdamState): void {
    this.dispose();
    this.state = state;
  }

  dispose(): void {
    for (const t of this.state.m.values()) t.dispose();
    for (const t of this.state.v.values()) t.dispose();
    this.state = { step: 0, m: new Map(), v: new Map() };
  }
}

/** Scale gradients so their global L2 norm is at most maxNorm; returns the norm before clipping. */
export async function clipByGlobalNorm(grads: Map<string, tf.Tensor>, maxNorm: number): Promise<{ grads: Map<string, tf.Tensor>; norm: number }> {
  const total = tf.tidy(() => tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g)))));
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
