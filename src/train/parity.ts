/**
 * Gradient parity: a tiny model's gradients on the backend in use against the same model's on the
 * cpu backend. tfjs-webgpu computes the prior's loss right but its gradients wrong (docs/FACTS.md);
 * training refuses a backend that fails this check instead of silently learning garbage.
 */
import * as tf from '@tensorflow/tfjs';
import { quietCpuAdvert } from '../backend/index';
import { Prior, type PriorConfig } from '../models/prior';
import { VqVae, type VqVaeConfig } from '../models/vqvae2';
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

export const TINY_CODEC: VqVaeConfig = {
  inChannels: 1,
  channels: 8,
  resChannels: 4,
  dilations: [1, 3],
  bottomDownsamples: 3,
  topDownsamples: 2,
  codebook: { size: 16, dim: 4, beta: 0.25, ema: null, restart: null, dataInit: false },
  seed: 5,
};

type Model = { params: { trainable(): Map<string, tf.Variable>; dispose(): void }; loss(): tf.Scalar };

function tinyPrior(): Model {
  const cfg = TINY_PRIOR;
  const prior = new Prior(cfg);
  const src = tf.tensor2d(
    Int32Array.from({ length: 2 * cfg.sourceLength }, (_, i) => (i * 7) % cfg.codes),
    [2, cfg.sourceLength],
    'int32',
  );
  const tgt = tf.tensor2d(
    Int32Array.from({ length: 2 * cfg.targetLength }, (_, i) => (i * 5 + 3) % cfg.codes),
    [2, cfg.targetLength],
    'int32',
  );
  return {
    params: {
      trainable: () => prior.params.trainable(),
      dispose: () => {
        tf.dispose([src, tgt]);
        prior.dispose();
      },
    },
    loss: () => prior.loss(src, tgt),
  };
}

function tinyCodec(): Model {
  const m = new VqVae(TINY_CODEC);
  const x = tf.tensor3d(
    Float32Array.from({ length: 2 * 256 }, (_, i) => 0.5 * Math.sin(i * 0.37) * Math.exp(-(((i % 256) - 90) ** 2) / 2000)),
    [2, 256, 1],
  );
  return {
    params: {
      trainable: () => m.params.trainable(),
      dispose: () => {
        x.dispose();
        m.dispose();
      },
    },
    loss: () => m.forward(x).loss,
  };
}

async function gradients(build: () => Model): Promise<Map<string, Float32Array>> {
  const model = build();
  try {
    const vars = model.params.trainable();
    const names = new Map([...vars].map(([n, v]) => [v.name, n]));
    const { value, grads } = tf.variableGrads(() => model.loss(), [...vars.values()]);
    const out = new Map<string, Float32Array>();
    // data(), not dataSync(): GPU backends (webgpu) cannot read back synchronously
    for (const [k, g] of Object.entries(grads)) out.set(names.get(k) ?? k, (await g.data()) as Float32Array);
    tf.dispose([value, Object.values(grads)]);
    return out;
  } finally {
    model.params.dispose();
  }
}

/** Compare a tiny model's gradients on the current backend with cpu's. */
export async function checkGradientParity(which: 'prior' | 'codec', tolerance = 1e-2): Promise<ParityResult> {
  const build = which === 'prior' ? tinyPrior : tinyCodec;
  const backend = tf.getBackend();
  const here = await gradients(build);
  let reference: Map<string, Float32Array>;
  if (backend === 'cpu') reference = here;
  else {
    await tf.setBackend('cpu');
    quietCpuAdvert();
    try {
      reference = await gradients(build);
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
      const rel = Math.abs(got[i] - ref[i]) / (Math.abs(ref[i]) + 1e-3);
      if (!(rel <= maxRelative)) {
        maxRelative = Number.isNaN(rel) ? Infinity : rel;
        worst = name;
      }
    }
  }
  return { backend, maxRelative, worst, ok: maxRelative <= tolerance, tolerance };
}

/** The prior's check (what trainPrior runs before training on a non-cpu backend). */
export function checkPriorGradientParity(tolerance = 1e-2): Promise<ParityResult> {
  return checkGradientParity('prior', tolerance);
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
