/**
 * Counts what the tfjs WebGPU backend asks of the GPU: compute dispatches, queue submits, pipelines
 * compiled, buffers created, bind groups, uniform uploads and GPU→CPU read-backs — in total and by
 * op (the tfjs kernel that issued them, or a name given with {@link GpuCounter.withOp}).
 *
 * How: the backend's GPUDevice / GPUQueue methods are wrapped on the instances (createBuffer,
 * createComputePipeline(Async), createBindGroup, createCommandEncoder → beginComputePass →
 * dispatchWorkgroups, queue.submit, queue.writeBuffer, buffer.mapAsync), and every kernel registered
 * for 'webgpu' is re-registered with a wrapper that names the op while it runs. The numbers are the
 * same on every adapter (a GPU or Mesa llvmpipe), so they can be measured on a CPU machine.
 * Install once per process, after the webgpu backend is initialised; counting costs a few map updates per call.
 */
import * as tf from '@tensorflow/tfjs';

export interface GpuCounts {
  /** tfjs kernel invocations (many, e.g. Reshape, issue no dispatch). */
  kernels: number;
  dispatches: number;
  submits: number;
  /** Compute pipelines compiled (tfjs caches them by shader key: 0 after a warm-up unless shapes change). */
  pipelines: number;
  /** GPUBuffers created (tfjs pools buffers: after a warm-up most are reused). */
  buffers: number;
  bindGroups: number;
  /** queue.writeBuffer calls (tfjs uploads each dispatch's uniforms this way). */
  writes: number;
  /** GPU→CPU read-backs (mapAsync for reading). */
  readbacks: number;
  readbackBytes: number;
}

export interface CountSnapshot {
  total: GpuCounts;
  /** By op; '(outside ops)' for work issued between kernels (uploads, read-backs). */
  byOp: Record<string, GpuCounts>;
}

const OUTSIDE = '(outside ops)';
const MAP_READ_MODE = 1; // GPUMapMode.READ

export function zeroCounts(): GpuCounts {
  return { kernels: 0, dispatches: 0, submits: 0, pipelines: 0, buffers: 0, bindGroups: 0, writes: 0, readbacks: 0, readbackBytes: 0 };
}

type Method = (...args: unknown[]) => unknown;
interface Wrappable {
  [name: string]: unknown;
}

/** Replace obj[name] by a wrapper calling `before(args)` and then the original (and `after(result)`). */
function wrap(obj: Wrappable, name: string, before: (args: unknown[]) => void, after?: (result: unknown) => unknown): void {
  const orig = obj[name];
  if (typeof orig !== 'function') throw new Error(`gpu-counter: ${name} is not a method`);
  const fn = orig as Method;
  obj[name] = function (this: unknown, ...args: unknown[]): unknown {
    before(args);
    const r = fn.apply(this, args);
    return after ? after(r) : r;
  };
}

interface WebGpuBackendLike {
  device: Wrappable & { queue: Wrappable };
}

export class GpuCounter {
  private static instance: GpuCounter | null = null;
  private totals: GpuCounts = zeroCounts();
  private ops = new Map<string, GpuCounts>();
  private readonly stack: string[] = [];

  private constructor() {}

  /** The process' counter: installs the wrappers on the current webgpu backend the first time. */
  static install(): GpuCounter {
    if (GpuCounter.instance) return GpuCounter.instance;
    if (tf.getBackend() !== 'webgpu') throw new Error(`gpu-counter: the webgpu backend is not active (got '${tf.getBackend()}')`);
    const c = new GpuCounter();
    c.wrapDevice(tf.backend() as unknown as WebGpuBackendLike);
    c.wrapKernels();
    GpuCounter.instance = c;
    return c;
  }

  /** The installed counter, or null. */
  static get(): GpuCounter | null {
    return GpuCounter.instance;
  }

  /** Attribute what `fn` issues to `name` (for work that runs outside tfjs kernels, e.g. fused programs). */
  static withOp<T>(name: string, fn: () => T): T {
    const c = GpuCounter.instance;
    return c ? c.withOp(name, fn) : fn();
  }

  withOp<T>(name: string, fn: () => T): T {
    this.stack.push(name);
    try {
      return fn();
    } finally {
      this.stack.pop();
    }
  }

  private bump(key: keyof GpuCounts, by = 1): void {
    this.totals[key] += by;
    const op = this.stack.length > 0 ? (this.stack[this.stack.length - 1] as string) : OUTSIDE;
    let o = this.ops.get(op);
    if (!o) {
      o = zeroCounts();
      this.ops.set(op, o);
    }
    o[key] += by;
  }

  private wrapDevice(backend: WebGpuBackendLike): void {
    const device = backend.device;
    wrap(device, 'createComputePipeline', () => this.bump('pipelines'));
    wrap(device, 'createComputePipelineAsync', () => this.bump('pipelines'));
    wrap(device, 'createBindGroup', () => this.bump('bindGroups'));
    wrap(
      device,
      'createBuffer',
      () => this.bump('buffers'),
      (buffer) => {
        const b = buffer as Wrappable & { size: number };
        wrap(b, 'mapAsync', (args) => {
          if (((args[0] as number) & MAP_READ_MODE) !== 0) {
            this.bump('readbacks');
            this.bump('readbackBytes', (args[2] as number | undefined) ?? b.size);
          }
        });
        return b;
      },
    );
    wrap(
      device,
      'createCommandEncoder',
      () => undefined,
      (encoder) => {
        wrap(
          encoder as Wrappable,
          'beginComputePass',
          () => undefined,
          (pass) => {
            const p = pass as Wrappable;
            wrap(p, 'dispatchWorkgroups', () => this.bump('dispatches'));
            wrap(p, 'dispatchWorkgroupsIndirect', () => this.bump('dispatches'));
            return p;
          },
        );
        return encoder;
      },
    );
    wrap(device.queue, 'submit', () => this.bump('submits'));
    wrap(device.queue, 'writeBuffer', () => this.bump('writes'));
  }

  /** Re-register every webgpu kernel with a wrapper that names the op (and counts the call). */
  private wrapKernels(): void {
    for (const k of tf.getKernelsForBackend('webgpu')) this.wrapKernel(k);
  }

  /** Wrap one kernel config (also for kernels registered after install). */
  wrapKernel(k: tf.KernelConfig): void {
    const name = k.kernelName;
    const inner = k.kernelFunc;
    tf.unregisterKernel(name, k.backendName);
    tf.registerKernel({
      ...k,
      kernelFunc: (args) =>
        this.withOp(name, () => {
          this.bump('kernels');
          return inner(args);
        }),
    });
  }

  reset(): void {
    this.totals = zeroCounts();
    this.ops = new Map();
  }

  snapshot(): CountSnapshot {
    const byOp: Record<string, GpuCounts> = {};
    for (const [k, v] of [...this.ops].sort((a, b) => b[1].dispatches - a[1].dispatches || b[1].kernels - a[1].kernels)) byOp[k] = { ...v };
    return { total: { ...this.totals }, byOp };
  }

  /** Counts of what `fn` issues (counters reset first; the result is a snapshot taken when fn settles). */
  async measure(fn: () => Promise<void> | void): Promise<CountSnapshot> {
    this.reset();
    await fn();
    return this.snapshot();
  }
}

/** Compact by-op table: only non-zero fields, ops with at least one dispatch/read-back/pipeline/buffer (and the top `limit`). */
export function compactByOp(byOp: Record<string, GpuCounts>, limit = 40): Record<string, Partial<GpuCounts>> {
  const out: Record<string, Partial<GpuCounts>> = {};
  let n = 0;
  for (const [op, c] of Object.entries(byOp)) {
    if (n >= limit) break;
    const entry: Partial<GpuCounts> = {};
    for (const [k, v] of Object.entries(c) as Array<[keyof GpuCounts, number]>) if (v !== 0) entry[k] = v;
    out[op] = entry;
    n++;
  }
  return out;
}
