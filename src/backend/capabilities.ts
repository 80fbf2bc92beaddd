/**
 * Capability check: which op families can run forward and train (have gradient kernels) on which
 * backend. Later stages call {@link assertCanTrain} before building a training step, so a missing
 * kernel becomes one clear message instead of a "kernel not registered" crash deep inside a step.
 *
 * The check reads tfjs' kernel registry (`tf.getKernel`), so it reflects exactly what the installed
 * backends register. Problems that are not missing kernels (e.g. wrong gradients) are listed in
 * KNOWN_ISSUES with where they were measured; gradient-parity tests (F3/F6) turn them into checks.
 */
import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../util/errors';
import type { BackendName } from './init';

/**
 * Families of ops the models use, each with the tfjs kernels its forward and backward passes run —
 * as implemented in src/ops (e.g. conv1d's backward is built from forward Conv2D kernels), plus the
 * tfjs-native gradients the project avoids, listed so `info` shows what a plain tfjs model would miss.
 */
export const OP_FAMILIES = {
  matmul: { forward: [tf.BatchMatMul], backward: [tf.BatchMatMul, tf.Transpose] },
  conv1d: { forward: [tf.Conv2D, tf.PadV2], backward: [tf.Conv2D, tf.Conv2DBackpropInput, tf.Transpose, tf.Reverse, tf.Slice] },
  'conv1d-transpose': { forward: [tf.Conv2DBackpropInput, tf.Slice], backward: [tf.Conv2D, tf.Transpose, tf.PadV2] },
  embedding: { forward: [tf.GatherV2], backward: [tf.ScatterNd] },
  'codebook-search': { forward: [tf.BatchMatMul, tf.ArgMin, tf.Sum, tf.Square], backward: [] },
  softmax: { forward: [tf.Softmax, tf.Max, tf.Exp, tf.Sum, tf.Log], backward: [tf.Multiply, tf.Sub, tf.Sum, tf.OneHot] },
  'layer-norm': { forward: [tf.Mean, tf.Sub, tf.Square, tf.Sqrt], backward: [tf.Multiply, tf.Sum, tf.RealDiv] },
  elementwise: { forward: [tf.Add, tf.Sub, tf.Multiply, tf.RealDiv, tf.Relu, tf.Tanh, tf.Sigmoid], backward: [tf.Step] },
  'pad-slice': { forward: [tf.PadV2, tf.Slice, tf.Concat], backward: [tf.Slice, tf.PadV2] },
  adam: { forward: [], backward: [tf.Multiply, tf.Add, tf.Sqrt, tf.RealDiv, tf.Square] },
  /** Codebook gradients and EMA updates: segment sums via ScatterNd (UnsortedSegmentSum is used when present). */
  'segment-sum': { forward: [tf.ScatterNd, tf.GatherV2], backward: [tf.ScatterNd] },
  /** tfjs' own conv gradient and gather gradient kernels (not used by this project's ops). */
  'tfjs-native-gradients': { forward: [], backward: [tf.Conv2DBackpropFilter, tf.UnsortedSegmentSum] },
} as const satisfies Record<string, { forward: readonly string[]; backward: readonly string[] }>;

export type OpFamily = keyof typeof OP_FAMILIES;

/** Ops whose kernels exist but whose results are known to be wrong on a backend. */
export const KNOWN_ISSUES: ReadonlyArray<{ backend: BackendName; what: string; source: string }> = [
  {
    backend: 'webgpu',
    what: 'transformer prior gradients differ from cpu and finite differences (max rel. diff 0.75); codec gradients agree',
    source: 'docs/FACTS.md (tfjs 4.22, Dawn on H100 and llvmpipe); checked by the gradient-parity test',
  },
];

export interface Capability {
  family: OpFamily;
  forward: boolean;
  train: boolean;
  missing: string[];
}

export function capabilities(backend: string = tf.getBackend()): Capability[] {
  return (Object.keys(OP_FAMILIES) as OpFamily[]).map((family) => {
    const spec = OP_FAMILIES[family];
    const missingForward = spec.forward.filter((k) => tf.getKernel(k, backend) === undefined);
    const missingBackward = spec.backward.filter((k) => tf.getKernel(k, backend) === undefined);
    return {
      family,
      forward: missingForward.length === 0,
      train: missingForward.length === 0 && missingBackward.length === 0,
      missing: [...new Set([...missingForward, ...missingBackward])],
    };
  });
}

/** Throw a {@link BackendError} naming every op family that cannot train on `backend`. */
export function assertCanTrain(families: readonly OpFamily[], what: string, backend: string = tf.getBackend()): void {
  const caps = capabilities(backend).filter((c) => families.includes(c.family) && !c.train);
  if (caps.length > 0) {
    const list = caps.map((c) => `${c.family} (missing kernels: ${c.missing.join(', ')})`).join('; ');
    throw new BackendError(backend, `${what} cannot train on the '${backend}' backend: ${list}. Choose another backend with --backend or SOUNDTRACK_BACKEND.`);
  }
}

/** Same as {@link assertCanTrain} for the forward pass only (inference). */
export function assertCanRun(families: readonly OpFamily[], what: string, backend: string = tf.getBackend()): void {
  const caps = capabilities(backend).filter((c) => families.includes(c.family) && !c.forward);
  if (caps.length > 0) {
    const list = caps.map((c) => `${c.family} (missing kernels: ${c.missing.join(', ')})`).join('; ');
    throw new BackendError(backend, `${what} cannot run on the '${backend}' backend: ${list}.`);
  }
}
