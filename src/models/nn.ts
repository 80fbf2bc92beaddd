/**
 * The smallest layer toolkit the models need: a named parameter store with deterministic
 * initialisation, and conv / transposed-conv / linear layers as plain closures over it.
 * No framework inside the framework: a model is a function of its Params.
 */
import * as tf from '@tensorflow/tfjs';
import { conv1d, convTranspose1d, conv1dOutputLength } from '../ops/conv1d';
import { conv1dWebGpu, fusedConv1dAvailable } from '../ops/conv1d-webgpu';
import { convTranspose1dWebGpu } from '../ops/conv-transpose-webgpu';
import { residualLayerWebGpu } from '../ops/residual-webgpu';
import { Rng } from '../util/rng';

export type Init = { kind: 'uniform'; bound: number } | { kind: 'normal'; std: number } | { kind: 'zeros' } | { kind: 'ones' };

export interface ParamInfo {
  name: string;
  shape: number[];
  trainable: boolean;
  /** State that is saved but is not a parameter (EMA statistics, flags), like PyTorch buffers. */
  buffer: boolean;
  size: number;
}

export interface TraceEntry {
  name: string;
  kind: string;
  outShape: number[];
  params: number;
}

/** Named tf.Variables. Values are drawn from an Rng seeded by (model seed, parameter name). */
export class Params {
  readonly seed: number;
  private readonly vars = new Map<string, tf.Variable>();
  private readonly trainableSet = new Set<string>();
  private readonly bufferSet = new Set<string>();
  /** When set, layers append what they computed (used by `describe`). */
  trace: TraceEntry[] | null = null;

  /** false: parameters start as zeros without drawing random values (a checkpoint fills them next). */
  readonly initialize: boolean;

  constructor(seed = 0, o: { initialize?: boolean } = {}) {
    this.seed = seed;
    this.initialize = o.initialize ?? true;
  }

  /** A parameter (trainable, or learned some other way such as an EMA codebook). */
  create(name: string, shape: number[], init: Init, trainable = true): tf.Variable {
    if (this.vars.has(name)) throw new Error(`parameter ${name} already exists`);
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    // Without `initialize` random inits stay zero: drawing millions of seeded values in JS takes seconds, and a restore overwrites them.
    if (init.kind === 'ones') values.fill(1);
    else if (this.initialize && init.kind !== 'zeros') {
      const rng = new Rng(`${this.seed}/${name}`);
      if (init.kind === 'uniform') for (let i = 0; i < n; i++) values[i] = rng.range(-init.bound, init.bound);
      else for (let i = 0; i < n; i++) values[i] = init.std * rng.normal();
    }
    // tf.variable keeps a reference to its initial value's data: without this dispose, Params.dispose() never frees a parameter
    const initial = tf.tensor(values, shape);
    const v = tf.variable(initial, trainable, `${name}_${Params.uid++}`);
    initial.dispose();
    this.vars.set(name, v);
    if (trainable) this.trainableSet.add(name);
    return v;
  }

  /** State saved with the weights but not counted as a parameter (like a PyTorch buffer). */
  buffer(name: string, shape: number[], init: Init): tf.Variable {
    const v = this.create(name, shape, init, false);
    this.bufferSet.add(name);
    return v;
  }

  private static uid = 0;

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter ${name}`);
    return v;
  }

  has(name: string): boolean {
    return this.vars.has(name);
  }

  names(): string[] {
    return [...this.vars.keys()];
  }

  info(): ParamInfo[] {
    return this.names().map((name) => {
      const v = this.get(name);
      return { name, shape: v.shape, trainable: this.trainableSet.has(name), buffer: this.bufferSet.has(name), size: v.size };
    });
  }

  /** Trainable variables by name (what the optimizer updates). */
  trainable(): Map<string, tf.Variable> {
    return new Map([...this.vars].filter(([n]) => this.trainableSet.has(n)));
  }

  /** Number of parameter values (buffers excluded, as PyTorch's parameters() counts), or only trainable ones. */
  count(which: 'all' | 'trainable' = 'all'): number {
    let n = 0;
    for (const [name, v] of this.vars) {
      if (this.bufferSet.has(name)) continue;
      if (which === 'all' || this.trainableSet.has(name)) n += v.size;
    }
    return n;
  }

  record(entry: TraceEntry): void {
    this.trace?.push(entry);
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.trainableSet.clear();
    this.bufferSet.clear();
  }
}

export type Layer = (x: tf.Tensor3D) => tf.Tensor3D;

export interface ConvSpec {
  kernel: number;
  stride?: number;
  dilation?: number;
  padding?: number;
  /** ReLU on the layer's input (folded into the fused WebGPU kernels; a separate tf.relu elsewhere). */
  inputRelu?: boolean;
}

/** Conv1d with PyTorch's default initialisation: U(±1/√(cin·kernel)) for weight and bias. */
export function convLayer(p: Params, name: string, cin: number, cout: number, spec: ConvSpec): Layer {
  const bound = 1 / Math.sqrt(cin * spec.kernel);
  const w = p.create(`${name}.weight`, [spec.kernel, cin, cout], { kind: 'uniform', bound });
  const b = p.create(`${name}.bias`, [cout], { kind: 'uniform', bound });
  const opts = { stride: spec.stride ?? 1, dilation: spec.dilation ?? 1, padding: spec.padding ?? 0 };
  const inputRelu = spec.inputRelu ?? false;
  return (x) => {
    const y = fusedConv1dAvailable()
      ? conv1dWebGpu(x, w as tf.Tensor3D, b as tf.Tensor1D, { ...opts, inputRelu })
      : conv1d(inputRelu ? tf.relu(x) : x, w as tf.Tensor3D, b as tf.Tensor1D, opts);
    p.record({
      name,
      kind: `conv1d k${spec.kernel}${opts.stride > 1 ? ` s${opts.stride}` : ''}${opts.dilation > 1 ? ` d${opts.dilation}` : ''}`,
      outShape: y.shape,
      params: w.size + b.size,
    });
    return y;
  };
}

/** Transposed conv1d (×stride upsampling, optional ReLU on its input); PyTorch initialises it from fan-in = cout·kernel. */
export function convTransposeLayer(
  p: Params,
  name: string,
  cin: number,
  cout: number,
  spec: { kernel: number; stride: number; padding: number; inputRelu?: boolean },
): Layer {
  const bound = 1 / Math.sqrt(cout * spec.kernel);
  const w = p.create(`${name}.weight`, [spec.kernel, cin, cout], { kind: 'uniform', bound });
  const b = p.create(`${name}.bias`, [cout], { kind: 'uniform', bound });
  const conv = { stride: spec.stride, padding: spec.padding };
  return (x) => {
    const y = fusedConv1dAvailable()
      ? convTranspose1dWebGpu(x, w as tf.Tensor3D, b as tf.Tensor1D, { ...conv, inputRelu: spec.inputRelu ?? false })
      : convTranspose1d(spec.inputRelu ? tf.relu(x) : x, w as tf.Tensor3D, b as tf.Tensor1D, conv);
    p.record({ name, kind: `convT1d k${spec.kernel} s${spec.stride}`, outShape: y.shape, params: w.size + b.size });
    return y;
  };
}

/**
 * Residual layer x ← x + conv1x1(ReLU(conv_k,d(ReLU(x)))), padding keeping the length: the same
 * parameters as two convLayer calls (`${name}.conv_d${d}`, `${name}.conv_1x1`); on webgpu one fused
 * op (ops/residual-webgpu.ts: 1 dispatch forward, 3 backward), elsewhere the two convs and an add.
 */
export function residualLayer(p: Params, name: string, channels: number, resChannels: number, dilation: number): Layer {
  const spec = { kernel: 3, dilation, padding: dilation, inputRelu: true };
  const a = convLayer(p, `${name}.conv_d${dilation}`, channels, resChannels, spec);
  const b = convLayer(p, `${name}.conv_1x1`, resChannels, channels, { kernel: 1, inputRelu: true });
  const get = (n: string) => p.get(n);
  return (x) => {
    if (!fusedConv1dAvailable()) return tf.add(x, b(a(x))) as tf.Tensor3D;
    const w = {
      w1: get(`${name}.conv_d${dilation}.weight`) as tf.Tensor3D,
      b1: get(`${name}.conv_d${dilation}.bias`) as tf.Tensor1D,
      w2: get(`${name}.conv_1x1.weight`) as tf.Tensor3D,
      b2: get(`${name}.conv_1x1.bias`) as tf.Tensor1D,
    };
    const y = residualLayerWebGpu(x, w, dilation, dilation);
    const [bs, t] = x.shape;
    p.record({
      name: `${name}.conv_d${dilation}`,
      kind: `conv1d k3${dilation > 1 ? ` d${dilation}` : ''}`,
      outShape: [bs, t, resChannels],
      params: w.w1.size + w.b1.size,
    });
    p.record({ name: `${name}.conv_1x1`, kind: 'conv1d k1', outShape: y.shape, params: w.w2.size + w.b2.size });
    return y;
  };
}

export const relu: Layer = (x) => tf.relu(x);

/** Apply layers in order. */
export function sequential(...layers: Layer[]): Layer {
  return (x) => layers.reduce((h, f) => f(h), x);
}

export { conv1dOutputLength };
