/**
 * Layer normalisation over the last axis, y = (x − mean) / √(var + ε) · γ + β (biased variance, as
 * PyTorch's nn.LayerNorm). `layerNormReference` is the op-by-op version the prior always used (about
 * 10 kernels forward and 20 backward); `layerNorm` runs the fused WebGPU programs of
 * ./layer-norm-webgpu.ts on webgpu (1 dispatch forward, 4 backward) and the reference elsewhere.
 */
import * as tf from '@tensorflow/tfjs';
import { layerNormWebGpu } from './layer-norm-webgpu';
import { fusedWebGpuOps } from './webgpu-program';

export function layerNormReference<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon = 1e-5): T {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, epsilon))), gamma), beta) as T;
}

export function layerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon = 1e-5): T {
  if (!fusedWebGpuOps()) return layerNormReference(x, gamma, beta, epsilon);
  const d = x.shape[x.rank - 1] as number;
  const rows = x.size / d;
  return tf.reshape(layerNormWebGpu(tf.reshape(x, [rows, d]) as tf.Tensor2D, gamma, beta, epsilon), x.shape) as T;
}
