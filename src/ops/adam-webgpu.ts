/**
 * Adam (with clipping by global norm and optional decoupled weight decay) over ALL parameters in two
 * WebGPU compute dispatches, beside its reference (src/optim/adam.ts: clipByGlobalNorm + Adam.apply,
 * ~15 elementwise kernels per parameter and a read-back of the norm every step).
 *
 *   1. copy every gradient and parameter into one flat buffer each (buffer copies, no dispatches)
 *   2. dispatch `norm`: one workgroup sums g² over the flat gradient → ‖g‖ (stays on the GPU)
 *   3. dispatch `adam`: per element, g·clip(‖g‖) → m, v, parameter (m and v live in flat buffers)
 *   4. copy the new parameters out into fresh tensors and assign them to the variables
 *
 * Nothing is read back: the norm is returned as a GPU scalar for the caller to read when it logs.
 * The flat buffers, bind groups and pipelines are made once and reused every step; the per-step
 * output tensors come from tfjs' buffer pool. Commands are recorded into tfjs' own command encoder,
 * so they are ordered with the kernels around them and submitted with them.
 * Where m and v are needed as tensors (checkpoints), {@link FusedAdamWebGpu.exportState} copies them out.
 */
import type * as tf from '@tensorflow/tfjs';
import { GpuCounter } from '../backend/gpu-counter';
import {
  bufferOf,
  COPY_DST,
  COPY_SRC,
  emptyTensor,
  type GpuBindGroup,
  type GpuBuffer,
  type GpuDevice,
  type GpuEncoder,
  type GpuPipeline,
  STORAGE,
  UNIFORM,
  webgpuInternals,
  type WebGpuBackendInternals,
} from './webgpu-internals';

export { bufferOf, emptyTensor, webgpuInternals, type WebGpuBackendInternals };

const WG = 256;

const UNIFORMS = /* wgsl */ `
struct U {
  n: u32, lr: f32, beta1: f32, beta2: f32,
  oneMinusBeta1: f32, oneMinusBeta2: f32, c1: f32, c2: f32,
  eps: f32, weightDecay: f32, maxNorm: f32, pad: f32,
};`;

const NORM_WGSL = /* wgsl */ `${UNIFORMS}
@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> normOut: array<f32>;
@group(0) @binding(2) var<uniform> u: U;
var<workgroup> part: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) i: u32) {
  var s = 0.0;
  for (var k = i; k < u.n; k = k + ${WG}u) { let x = g[k]; s = s + x * x; }
  part[i] = s;
  workgroupBarrier();
  for (var w = ${WG / 2}u; w > 0u; w = w >> 1u) {
    if (i < w) { part[i] = part[i] + part[i + w]; }
    workgroupBarrier();
  }
  if (i == 0u) { normOut[0] = sqrt(part[0]); }
}`;

const ADAM_WGSL = /* wgsl */ `${UNIFORMS}
@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> normIn: array<f32>;
@group(0) @binding(5) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.x + gid.y * nw.x * ${WG}u;
  if (i >= u.n) { return; }
  let norm = normIn[0];
  // a NaN/Inf gradient leaves everything as it was (bit test: WGSL may assume finite floats); the loop,
  // which reads the loss only when it logs, then stops with TrainingDivergedError
  if ((bitcast<u32>(norm) & 0x7f800000u) == 0x7f800000u) { return; }
  var scale = 1.0;
  // clipByGlobalNorm: scale only for a finite norm above maxNorm (NaN compares false)
  if (u.maxNorm > 0.0 && norm > u.maxNorm && norm < 3.0e38) { scale = u.maxNorm / (norm + 1e-6); }
  let gi = g[i] * scale;
  let mi = m[i] * u.beta1 + gi * u.oneMinusBeta1;
  let vi = v[i] * u.beta2 + (gi * gi) * u.oneMinusBeta2;
  var update = (mi / u.c1) / (sqrt(vi / u.c2) + u.eps);
  if (u.weightDecay > 0.0) { update = update + p[i] * u.weightDecay; }
  p[i] = p[i] - update * u.lr;
  m[i] = mi;
  v[i] = vi;
}`;

export interface FusedAdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** Adam's step number after this update (1 on the first). */
  step: number;
  /** Clip the global gradient norm to this (≤ 0: no clipping). */
  maxNorm: number;
}

interface Slot {
  name: string;
  shape: number[];
  size: number;
  /** Offset in floats in the flat buffers. */
  offset: number;
}

const pipelines = new WeakMap<object, { norm: GpuPipeline; adam: GpuPipeline }>();

function compiled(device: GpuDevice): { norm: GpuPipeline; adam: GpuPipeline } {
  let p = pipelines.get(device);
  if (!p) {
    const make = (code: string, label: string) =>
      device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code, label }), entryPoint: 'main' }, label });
    p = { norm: make(NORM_WGSL, 'soundtrack-adam-norm'), adam: make(ADAM_WGSL, 'soundtrack-adam') };
    pipelines.set(device, p);
  }
  return p;
}

export class FusedAdamWebGpu {
  private readonly b: WebGpuBackendInternals;
  private readonly slots: Slot[];
  readonly total: number;
  private readonly flat: { p: GpuBuffer; g: GpuBuffer; m: GpuBuffer; v: GpuBuffer; norm: GpuBuffer; uniforms: GpuBuffer };
  private readonly groups: { norm: GpuBindGroup; adam: GpuBindGroup };
  private readonly pipes: { norm: GpuPipeline; adam: GpuPipeline };

  /** Flat state for these parameters (name → shape), in this order. */
  constructor(params: Array<{ name: string; shape: number[] }>) {
    const b = webgpuInternals();
    if (!b) throw new Error('FusedAdamWebGpu needs the webgpu backend');
    this.b = b;
    let offset = 0;
    this.slots = params.map(({ name, shape }) => {
      const size = shape.reduce((a, c) => a * c, 1);
      const s = { name, shape: [...shape], size, offset };
      offset += size;
      return s;
    });
    this.total = offset;
    const bytes = Math.max(4, offset * 4);
    const storage = () => b.device.createBuffer({ size: bytes, usage: STORAGE | COPY_SRC | COPY_DST });
    // WebGPU zero-initialises new buffers: m = v = 0 is Adam's initial state.
    this.flat = {
      p: storage(),
      g: storage(),
      m: storage(),
      v: storage(),
      norm: b.device.createBuffer({ size: 4, usage: STORAGE | COPY_SRC | COPY_DST }),
      uniforms: b.device.createBuffer({ size: 48, usage: UNIFORM | COPY_DST }),
    };
    this.pipes = compiled(b.device);
    const f = this.flat;
    const entries = (bufs: GpuBuffer[]) => bufs.map((buffer, binding) => ({ binding, resource: { buffer } }));
    this.groups = {
      norm: b.device.createBindGroup({ layout: this.pipes.norm.getBindGroupLayout(0), entries: entries([f.g, f.norm, f.uniforms]) }),
      adam: b.device.createBindGroup({ layout: this.pipes.adam.getBindGroupLayout(0), entries: entries([f.p, f.g, f.m, f.v, f.norm, f.uniforms]) }),
    };
  }

  /** Same parameters (names and shapes, same order) as this instance was made for? */
  matches(params: Array<{ name: string; shape: number[] }>): boolean {
    return (
      params.length === this.slots.length && params.every((p, i) => p.name === this.slots[i]!.name && p.shape.join(',') === this.slots[i]!.shape.join(','))
    );
  }

  private encoder(): GpuEncoder {
    this.b.ensureCommandEncoderReady();
    this.b.endComputePassEncoder();
    return this.b.commandEncoder as GpuEncoder;
  }

  /** Load moments (missing names: zeros). Takes nothing over: the caller still owns the tensors. */
  loadState(m: Map<string, tf.Tensor>, v: Map<string, tf.Tensor>): void {
    GpuCounter.withOp('FusedAdam', () => {
      const zeros = new Float32Array(this.total);
      this.b.device.queue.writeBuffer(this.flat.m, 0, zeros.buffer);
      this.b.device.queue.writeBuffer(this.flat.v, 0, zeros.buffer);
      const enc = this.encoder();
      for (const s of this.slots) {
        if (s.size === 0) continue;
        const mt = m.get(s.name);
        const vt = v.get(s.name);
        if (mt) enc.copyBufferToBuffer(bufferOf(this.b, mt), 0, this.flat.m, s.offset * 4, s.size * 4);
        if (vt) enc.copyBufferToBuffer(bufferOf(this.b, vt), 0, this.flat.v, s.offset * 4, s.size * 4);
      }
    });
  }

  /** The moments as tensors by name (new tensors, owned by the caller). */
  exportState(): { m: Map<string, tf.Tensor>; v: Map<string, tf.Tensor> } {
    return GpuCounter.withOp('FusedAdam', () => {
      const m = new Map<string, tf.Tensor>();
      const v = new Map<string, tf.Tensor>();
      const outs = this.slots.map((s) => ({ s, m: emptyTensor(this.b, s.shape), v: emptyTensor(this.b, s.shape) }));
      const enc = this.encoder();
      for (const o of outs) {
        if (o.s.size > 0) {
          enc.copyBufferToBuffer(this.flat.m, o.s.offset * 4, o.m.buffer, 0, o.s.size * 4);
          enc.copyBufferToBuffer(this.flat.v, o.s.offset * 4, o.v.buffer, 0, o.s.size * 4);
        }
        m.set(o.s.name, o.m.tensor);
        v.set(o.s.name, o.v.tensor);
      }
      return { m, v };
    });
  }

  /**
   * One clipped Adam step for every parameter: variables get new values; returns the gradient's
   * global norm (before clipping) as a GPU scalar — nothing is read back.
   */
  step(vars: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, h: FusedAdamHyper): tf.Scalar {
    return GpuCounter.withOp('FusedAdam', () => {
      const b = this.b;
      const u = new ArrayBuffer(48);
      new Uint32Array(u, 0, 1)[0] = this.total;
      const c1 = 1 - h.beta1 ** h.step;
      const c2 = 1 - h.beta2 ** h.step;
      new Float32Array(u, 4, 11).set([h.lr, h.beta1, h.beta2, 1 - h.beta1, 1 - h.beta2, c1, c2, h.epsilon, h.weightDecay, h.maxNorm, 0]);
      b.device.queue.writeBuffer(this.flat.uniforms, 0, u);
      const outs = this.slots.map((s) => {
        const v = vars.get(s.name);
        const g = grads.get(s.name);
        if (!v) throw new Error(`FusedAdam: no parameter ${s.name}`);
        if (!g) throw new Error(`FusedAdam: no gradient for ${s.name}`);
        return { s, v, src: bufferOf(b, v), grad: bufferOf(b, g), out: emptyTensor(b, s.shape) };
      });
      const norm = emptyTensor(b, []);
      let enc = this.encoder();
      for (const o of outs) {
        if (o.s.size === 0) continue;
        enc.copyBufferToBuffer(o.grad, 0, this.flat.g, o.s.offset * 4, o.s.size * 4);
        enc.copyBufferToBuffer(o.src, 0, this.flat.p, o.s.offset * 4, o.s.size * 4);
      }
      const pass = enc.beginComputePass({});
      pass.setPipeline(this.pipes.norm);
      pass.setBindGroup(0, this.groups.norm);
      pass.dispatchWorkgroups(1);
      const groups = Math.ceil(this.total / WG);
      const gx = Math.min(groups, 65535);
      pass.setPipeline(this.pipes.adam);
      pass.setBindGroup(0, this.groups.adam);
      if (groups > 0) pass.dispatchWorkgroups(gx, Math.ceil(groups / gx));
      pass.end();
      enc = this.encoder();
      enc.copyBufferToBuffer(this.flat.norm, 0, norm.buffer, 0, 4);
      for (const o of outs) if (o.s.size > 0) enc.copyBufferToBuffer(this.flat.p, o.s.offset * 4, o.out.buffer, 0, o.s.size * 4);
      for (const o of outs) {
        o.v.assign(o.out.tensor);
        o.out.tensor.dispose();
      }
      // Submit now: the next step rewrites the uniform buffer, which must not happen before these dispatches are queued.
      b.submitQueue();
      return norm.tensor as tf.Scalar;
    });
  }

  dispose(): void {
    for (const buf of Object.values(this.flat)) buf.destroy();
  }
}
