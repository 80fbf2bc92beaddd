/**
 * Hand-written WGSL programs through tfjs-webgpu's own program interface (the WebGPUProgram objects
 * its kernels use, run by backend.runWebGPUProgram): tfjs declares the inputs (by `variableNames`),
 * the output `result` with setOutputAtIndex, and a `uniforms` struct with every input's shape
 * (`xShape` for input 'X', `outShape`, `size`) plus the program's own fields; it compiles each
 * program once per shader key and records the dispatch into its command encoder. The fused ops in
 * this folder (*-webgpu.ts) build their programs with the two shapes below.
 */
import * as tf from '@tensorflow/tfjs';
import { GpuCounter } from '../backend/gpu-counter';

/** tfjs-webgpu's program interface (WebGPUProgram in @tensorflow/tfjs-backend-webgpu; not exported as a type). */
export interface WebGpuProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  uniforms?: string;
  workgroupSize: [number, number, number];
  size?: boolean;
  getUserCode(): string;
}

/** Values of a program's own uniform fields, in declaration order. */
export interface ProgramUniform {
  type: 'int32' | 'float32';
  data: number[];
}

interface ProgramRunner {
  runWebGPUProgram?: (program: WebGpuProgram, inputs: tf.TensorInfo[], outputDtype: 'float32', uniforms?: ProgramUniform[]) => tf.TensorInfo;
}

/** Threads per workgroup. */
export const WG = 64;

/** A thread per unit of work: `units` threads (default: one per output element); `body` sees `index` (< units). */
export function elementwiseProgram(
  name: string,
  outputShape: number[],
  variableNames: string[],
  uniforms: string,
  body: string,
  prelude = '',
  units?: number,
): WebGpuProgram {
  const size = outputShape.reduce((a, b) => a * b, 1);
  return {
    outputShape,
    shaderKey: `soundtrack_${name}`,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil((units ?? size) / WG), 1, 1],
    variableNames,
    ...(uniforms ? { uniforms } : {}),
    workgroupSize: [WG, 1, 1],
    size: true,
    getUserCode: () => `
      ${prelude}
      fn main(index : i32) {
        if (index >= ${units === undefined ? 'uniforms.size' : 'uniforms.units'}) { return; }
        ${body}
      }`,
  };
}

/**
 * A workgroup of WG threads per output element, summing `n` terms: `prologue` runs first (sees `o`,
 * the output index), `term` is the k-th term (WGSL expression using `o` and `k`). tfjs calls
 * main(global index) for a flat layout; the output index here is the workgroup's.
 */
export function reductionProgram(
  name: string,
  outputShape: number[],
  variableNames: string[],
  uniforms: string,
  prologue: string,
  n: string,
  term: string,
  prelude = '',
): WebGpuProgram {
  const size = outputShape.reduce((a, b) => a * b, 1);
  return {
    outputShape,
    shaderKey: `soundtrack_${name}`,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [size, 1, 1],
    variableNames,
    ...(uniforms ? { uniforms } : {}),
    workgroupSize: [WG, 1, 1],
    size: true,
    getUserCode: () => `
      ${prelude}
      var<workgroup> partial : array<f32, ${WG}>;
      fn main(index : i32) {
        let o = i32(workgroupId.y * numWorkgroups.x + workgroupId.x);
        let li = i32(localIndex);
        var acc = 0.0;
        if (o < uniforms.size) {
          ${prologue}
          for (var k = li; k < ${n}; k = k + ${WG}) { acc = acc + ${term}; }
        }
        partial[li] = acc;
        workgroupBarrier();
        for (var w = ${WG / 2}; w > 0; w = w / 2) {
          if (li < w) { partial[li] = partial[li] + partial[li + w]; }
          workgroupBarrier();
        }
        if (li == 0 && o < uniforms.size) { setOutputAtIndex(o, partial[0]); }
      }`,
  };
}

/** Run a program on the webgpu backend (counted under its shader key); returns the output tensor. */
export function runProgram(program: WebGpuProgram, inputs: tf.Tensor[], uniforms: ProgramUniform[] = []): tf.Tensor {
  const backend = tf.backend() as unknown as ProgramRunner;
  const runner = backend.runWebGPUProgram;
  if (typeof runner !== 'function') throw new Error(`${program.shaderKey}: needs the webgpu backend (active: ${tf.getBackend()})`);
  const info = GpuCounter.withOp(program.shaderKey, () => runner.call(backend, program, inputs, 'float32', uniforms));
  return tf.engine().makeTensorFromTensorInfo(info);
}

/** Are the fused WebGPU ops on (webgpu backend, not turned off with SOUNDTRACK_FUSED=0)? */
export function fusedWebGpuOps(): boolean {
  return tf.getBackend() === 'webgpu' && process.env.SOUNDTRACK_FUSED !== '0';
}
