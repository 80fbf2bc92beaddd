/** Tensors as plain typed arrays, to cross a worker-thread boundary (postMessage). */
import * as tf from '@tensorflow/tfjs';

export interface WireTensor {
  data: Float32Array | Int32Array;
  shape: number[];
  dtype: 'float32' | 'int32';
}

export async function toWire(t: tf.Tensor): Promise<WireTensor> {
  const dtype = t.dtype === 'int32' ? 'int32' : 'float32';
  const data = dtype === 'int32' ? Int32Array.from((await t.data()) as Int32Array) : Float32Array.from((await t.data()) as Float32Array);
  return { data, shape: t.shape.slice(), dtype };
}

export function fromWire(w: WireTensor): tf.Tensor {
  return tf.tensor(w.data, w.shape, w.dtype);
}
