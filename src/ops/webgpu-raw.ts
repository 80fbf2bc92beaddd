/**
 * WGSL compute programs with several outputs, dispatched straight into tfjs-webgpu's command
 * encoder (as the fused Adam is). tfjs' own program interface (./webgpu-program.ts) writes one
 * output per dispatch, so a backward pass that yields dW and db — or a residual layer's four
 * parameter gradients — would cost one dispatch each plus slices; here one dispatch writes them all.
 *
 * Sizes are baked into the shader as constants (the caller puts them into `key`): one pipeline per
 * op and shape, compiled once and cached; no uniform buffer per dispatch. The body sees
 *   index  the global thread index (workgroup · 64 + local)   li  the local index (0…63)
 *   group  the workgroup index (for one-workgroup-per-output reductions)
 * and the inputs / outputs as storage arrays named as given. Guards are the body's business
 * (a workgroupBarrier must stay in uniform control flow: no early return before one).
 * At most 8 storage buffers per dispatch (the limit of Dawn's OpenGL ES backend).
 */
import * as tf from '@tensorflow/tfjs';
import { GpuCounter } from '../backend/gpu-counter';
import { bufferOf, type GpuEncoder, type GpuPipeline, webgpuInternals, type WebGpuBackendInternals } from './webgpu-internals';

export const RAW_WG = 64;

export interface RawInput {
  name: string;
  tensor: tf.Tensor;
}

export interface RawOutput {
  name: string;
  shape: number[];
  dtype?: 'float32' | 'int32';
  /** Write into this tensor (made by an earlier dispatch of the same op) instead of a new one; it is returned as is. */
  into?: tf.Tensor;
}

const cache = new WeakMap<object, Map<string, GpuPipeline>>();

function pipeline(b: WebGpuBackendInternals, key: string, code: string): GpuPipeline {
  let m = cache.get(b.device);
  if (!m) {
    m = new Map();
    cache.set(b.device, m);
  }
  let p = m.get(key);
  if (!p) {
    const label = `soundtrack_${key}`;
    p = b.device.createComputePipeline({ layout: 'auto', compute: { module: b.device.createShaderModule({ code, label }), entryPoint: 'main' }, label });
    m.set(key, p);
  }
  return p;
}

const wgslType = (dtype: string | undefined): string => (dtype === 'int32' ? 'i32' : 'f32');

/**
 * One dispatch of `workgroups` workgroups of 64 threads running `body`; returns the outputs (new
 * tensors, owned by the caller). `prelude` holds constants and helper functions. Counted under `op`.
 */
export function runRaw(op: string, key: string, inputs: RawInput[], outputs: RawOutput[], workgroups: number, body: string, prelude = ''): tf.Tensor[] {
  const b = webgpuInternals();
  if (!b) throw new Error(`${op}: needs the webgpu backend (active: ${tf.getBackend()})`);
  if (inputs.length + outputs.length > 8) throw new Error(`${op}: ${inputs.length + outputs.length} storage buffers (at most 8)`);
  return GpuCounter.withOp(`soundtrack_${op}`, () => {
    const decls = [
      ...inputs.map((x, i) => `@group(0) @binding(${i}) var<storage, read> ${x.name} : array<${wgslType(x.tensor.dtype)}>;`),
      ...outputs.map((o, i) => `@group(0) @binding(${inputs.length + i}) var<storage, read_write> ${o.name} : array<${wgslType(o.dtype)}>;`),
    ].join('\n');
    const code = `${decls}
${prelude}
@compute @workgroup_size(${RAW_WG})
fn main(@builtin(local_invocation_index) lidx : u32, @builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let li = i32(lidx);
  let group = i32(wid.x + wid.y * nwg.x);
  let index = group * ${RAW_WG} + li;
  ${body}
}`;
    const pipe = pipeline(b, `${op}_${key}`, code);
    const outs = outputs.map((o) => {
      if (o.into) return { tensor: o.into, buffer: bufferOf(b, o.into) };
      const info = b.makeTensorInfo(o.shape, o.dtype ?? 'float32');
      return { tensor: tf.engine().makeTensorFromTensorInfo(info), buffer: bufferOf(b, info) };
    });
    const buffers = [...inputs.map((x) => bufferOf(b, x.tensor)), ...outs.map((o) => o.buffer)];
    const group = b.device.createBindGroup({
      layout: pipe.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    if (workgroups > 0) {
      b.ensureCommandEncoderReady();
      b.endComputePassEncoder();
      const pass = (b.commandEncoder as GpuEncoder).beginComputePass({});
      pass.setPipeline(pipe);
      pass.setBindGroup(0, group);
      const gx = Math.min(workgroups, 65535);
      pass.dispatchWorkgroups(gx, Math.ceil(workgroups / gx));
      pass.end();
    }
    return outs.map((o) => o.tensor);
  });
}

/** Workgroups for one thread per unit. */
export const threads = (units: number): number => Math.ceil(units / RAW_WG);

/** WGSL: reduce `acc` over the workgroup into partial[0] (declare `var<workgroup> partial : array<f32, 64>;`). */
export const WG_REDUCE = `
  partial[li] = acc;
  workgroupBarrier();
  for (var w = ${RAW_WG / 2}; w > 0; w = w / 2) {
    if (li < w) { partial[li] = partial[li] + partial[li + w]; }
    workgroupBarrier();
  }`;
