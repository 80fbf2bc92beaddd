/**
 * The parts of tfjs-backend-webgpu and of WebGPU that the hand-written kernels touch, typed here (the
 * project has no DOM/WebGPU type library), and the helpers to reach a tensor's GPU buffer.
 */
import * as tf from '@tensorflow/tfjs';

// ---- the few WebGPU shapes we touch (this project has no DOM/WebGPU type library) ----
export interface GpuBuffer {
  readonly size: number;
  destroy(): void;
}
export interface GpuBindGroupLayout {
  readonly __brand?: 'layout';
}
export interface GpuPipeline {
  getBindGroupLayout(i: number): GpuBindGroupLayout;
}
export interface GpuBindGroup {
  readonly __brand?: 'bindGroup';
}
export interface GpuPass {
  setPipeline(p: GpuPipeline): void;
  setBindGroup(i: number, g: GpuBindGroup): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}
export interface GpuEncoder {
  copyBufferToBuffer(src: GpuBuffer, srcOffset: number, dst: GpuBuffer, dstOffset: number, size: number): void;
  beginComputePass(d?: object): GpuPass;
}
export interface GpuDevice {
  createBuffer(d: { size: number; usage: number; mappedAtCreation?: boolean }): GpuBuffer;
  createShaderModule(d: { code: string; label?: string }): object;
  createComputePipeline(d: { layout: 'auto'; compute: { module: object; entryPoint: string }; label?: string }): GpuPipeline;
  createBindGroup(d: {
    layout: GpuBindGroupLayout;
    entries: Array<{ binding: number; resource: { buffer: GpuBuffer; offset?: number; size?: number } }>;
  }): GpuBindGroup;
  readonly queue: { writeBuffer(b: GpuBuffer, offset: number, data: ArrayBuffer): void };
}
export interface TensorData {
  resource: GpuBuffer | null;
  refCount: number;
}
/** The parts of tfjs-backend-webgpu's WebGPUBackend used here (public fields, private in its typings). */
export interface WebGpuBackendInternals {
  device: GpuDevice;
  commandEncoder: GpuEncoder | null;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: 'float32' | 'int32'): tf.TensorInfo;
  tensorMap: { get(dataId: object): TensorData };
  commandQueueOwnedIds: WeakSet<object>;
}

// GPUBufferUsage flags
export const STORAGE = 0x80;
export const COPY_SRC = 0x04;
export const COPY_DST = 0x08;
export const UNIFORM = 0x40;

/** The webgpu backend's internals, or null when the active backend is not webgpu. */
export function webgpuInternals(): WebGpuBackendInternals | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const b = tf.backend() as unknown as Partial<WebGpuBackendInternals>;
  return b.device && b.tensorMap && typeof b.uploadToGPU === 'function' ? (b as WebGpuBackendInternals) : null;
}

/** The GPU buffer holding a tensor's values (uploaded first if still on the CPU); marks it in use by the pending commands. */
export function bufferOf(b: WebGpuBackendInternals, t: { dataId: object }): GpuBuffer {
  b.uploadToGPU(t.dataId);
  const r = b.tensorMap.get(t.dataId).resource;
  if (!r) throw new Error('webgpu: tensor has no GPU buffer');
  b.commandQueueOwnedIds.add(t.dataId);
  return r;
}

/** A new float32 tensor with its own (pooled) GPU buffer, values undefined until written. */
export function emptyTensor(b: WebGpuBackendInternals, shape: number[]): { tensor: tf.Tensor; buffer: GpuBuffer } {
  const info = b.makeTensorInfo(shape, 'float32');
  const buffer = bufferOf(b, info);
  return { tensor: tf.engine().makeTensorFromTensorInfo(info), buffer };
}
