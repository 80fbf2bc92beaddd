/**
 * Gradient parity: a tiny model's gradients on the backend in use against the same model's on the
 * cpu backend. tfjs-webgpu computes the prior's loss right but its gradients wrong (FACTS.md);
 * training refuses a backend that fails this check instead of silently learning garbage.
 */
import * as tf from '@tensorflow/tfjs';
import { Prior, type PriorConfig } from '../models/prior';
import { BackendError } from '../util/errors';

export interface ParityResult {
  backend: string;
  /** Largest |a − b| / (|b| + 1e-3) over all gradient entries. */
  maxRelative: number;
  /** Name of the variable where it occurs. */
  worst: string;
  ok: boolean;
  tolerance: number;
}

export const TINY_PRIOR: PriorConfig = {
  format: 'soundtrack-lab/prior',
  version: 1,
  level: 'bottom',
  preset: 'parity',
  codes: 16,
  classes: 2,
  dModel: 16,
  heads: 4,
  encoderLayers: 1,
  decoderLayers: 2,
  feedForward: 32,
  dropout: 0,
  sourceLength: 6,
  targetLength: 12,
  attentionChunk: 5,
  windows: { encoder: null, self: null, cross: null },
  seed: 11,
};

function priorGradients(cfg: PriorConfig): Map<string, Float32Array> {
  const prior = new Prior(cfg);
  try {
    const vars = prior.params.trainable();
    const names = new Map([...vars].map(([n, v]) => [v.name, n]));
    const src = tf.tensor2d(Int32Array.from({ length: 2 * cfg.sourceLength }, (_, i) => (i * 7) % cfg.codes), [2, cfg.sourceLength], 'int32');
    const tgt = tf.tensor2d(Int32Array.from({ length: 2 * cfg.targetLength }, (_, i) => (i * 5 + 3) % cfg.codes), [2, cfg.targetLength], 'int32');
    const { value, grads } = tf.variableGrads(() => prior.loss(src, tgt), [...vars.values()]);
    const out = new Map<string, Float32Array>();
    for (const [k, g] of Object.entries(grads)) out.set(names.get(k) ?? k, g.dataSync() as Float32Array);
    tf.dispose([value, Object.values(grads), src, tgt]);
    return out;
  } finally {
    prior.dispose();
  }
}

/** Compare the current backend's prior gradients with cpu's. */
export async function checkPriorGradientParity(tolerance = 1e-2): Promise<ParityResult> {
  const backend = tf.getBackend();
  const here = priorGradients(TINY_PRIOR);
  let reference: Map<string, Float32Array>;
  if (backend === 'cpu') reference = here;
  else {
    await tf.setBackend('cpu');
    try {
      reference = priorGradients(TINY_PRIOR);
    } finally {
      await tf.setBackend(backend);
    }
  }
  let maxRelative = 0;
  let worst = '';
  for (const [name, ref] of reference) {
    const got = here.get(name);
    if (!got) {
      maxRelative = Infinity;
      worst = `${name} (no gradient)`;
      continue;
    }
    for (let i = 0; i < ref.length; i++) {
      const rel = Math.abs((got[i] as number) - (ref[i] as number)) / (Math.abs(ref[i] as number) + 1e-3);
      if (!(rel <= maxRelative)) {
        maxRelative = Number.isNaN(rel) ? Infinity : rel;
        worst = name;
      }
    }
  }
  return { backend, maxRelative, worst, ok: maxRelative <= tolerance, tolerance };
}

/** Throw when the backend in use computes wrong prior gradients. */
export async function assertPriorGradients(): Promise<ParityResult> {
  const r = await checkPriorGradientParity();
  if (!r.ok) {
    throw new BackendError(
      r.backend,
      `The '${r.backend}' backend computes wrong transformer gradients (max relative difference ${r.maxRelative.toPrecision(3)} vs cpu, at ${r.worst}; tolerance ${r.tolerance}). Refusing to train the prior on it; use --backend wasm or cpu (or tensorflow) until this is fixed.`,
    );
  }
  return r;
}
