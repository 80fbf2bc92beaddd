/**
 * Replacements for tfjs-wasm kernels that are slow for reasons outside the maths.
 *
 * Slice (tfjs-backend-wasm 4.22, kernels/Slice.ts) first calls `backend.readSync(x.dataId)`, which
 * copies the *whole* input out of the wasm heap (`HEAPU8.slice`) before copying the part it wants:
 * taking one head [1, 256, 901] out of a [4, 256, 901] tensor costs 3.4 ms, 10× an Add over the
 * whole tensor. Unpack (tf.unstack) calls that Slice once per output. Attention on wasm slices per
 * head and per query chunk thousands of times a step, so this alone cost ~4 s of a 13-s prior step.
 * SplitV (tf.split, also the gradient of every concat) goes through the same Slice.
 *
 * Identity copies its input. tfjs' autodiff keeps every tensor a gradient needs as `clone(x)`
 * (engine.saveTensorsForBackwardMode), i.e. an Identity, so on wasm the tape held a second copy of
 * nearly every activation: 2.0 GB for one thesis-prior forward pass at batch 1, which is why batch 4
 * did not fit wasm's 4 GiB heap. Ours shares the data by reference count, as the cpu backend does
 * (tfjs kernels never write into their inputs).
 * The replacements read the input through a view of the heap (`typedArrayFromHeap`, what the other
 * wasm kernels use) and copy only the part sliced. Same semantics, same gradients (registered by
 * kernel name). A reproduction for upstream is in test/wasm-kernels.test.ts.
 *
 * Written by hand because the fix is inside tfjs' kernel; nothing on npm provides it.
 */
import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-wasm's BackendWasm these kernels use. */
interface WasmBackendLike {
  incRef(dataId: tf.DataId): void;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

interface SliceArgs {
  inputs: { x: tf.TensorInfo };
  attrs: { begin: number | number[]; size: number | number[] };
  backend: WasmBackendLike;
}

/** Copy x[begin : begin + size] (any rank) from heap view `src` into heap view `dst`, in contiguous runs. */
function copyBlock(
  src: Float32Array | Int32Array | Uint8Array,
  shape: number[],
  begin: number[],
  size: number[],
  dst: Float32Array | Int32Array | Uint8Array,
): void {
  const rank = shape.length;
  const strides = tf.util.computeStrides(shape); // rank − 1 entries; the last dimension has stride 1
  const stride = (d: number) => (d < rank - 1 ? strides[d] : 1);
  // Dimensions after `inner` are taken whole, so each index of the dimensions before it is one run.
  let inner = rank - 1;
  while (inner > 0 && begin[inner] === 0 && size[inner] === shape[inner]) inner--;
  const run = size[inner] * stride(inner);
  const idx = new Array<number>(inner).fill(0);
  const count = size.slice(0, inner).reduce((a, b) => a * b, 1);
  for (let n = 0, out = 0; n < count; n++, out += run) {
    let off = begin[inner] * stride(inner);
    for (let d = 0; d < inner; d++) off += (begin[d] + idx[d]) * stride(d);
    (dst as Float32Array).set((src as Float32Array).subarray(off, off + run), out);
    for (let d = inner - 1; d >= 0; d--) {
      idx[d] = idx[d] + 1;
      if (idx[d] < size[d]) break;
      idx[d] = 0;
    }
  }
}

function fastSlice(args: SliceArgs): tf.TensorInfo {
  const { x } = args.inputs;
  const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, args.attrs.begin, args.attrs.size);
  const out = args.backend.makeOutput(size, x.dtype);
  if (tf.util.sizeFromShape(size) === 0) return out;
  copyBlock(args.backend.typedArrayFromHeap(x), x.shape, begin, size, args.backend.typedArrayFromHeap(out));
  return out;
}

function fastUnpack(args: { inputs: { value: tf.TensorInfo }; attrs: { axis: number }; backend: WasmBackendLike }): tf.TensorInfo[] {
  const { value } = args.inputs;
  const rank = value.shape.length;
  const axis = args.attrs.axis < 0 ? args.attrs.axis + rank : args.attrs.axis;
  const outShape = value.shape.filter((_, i) => i !== axis);
  const size = value.shape.slice();
  size[axis] = 1;
  const outs: tf.TensorInfo[] = [];
  for (let i = 0; i < value.shape[axis]; i++) {
    const begin = new Array<number>(rank).fill(0);
    begin[axis] = i;
    const sliced = fastSlice({ inputs: { x: value }, attrs: { begin, size }, backend: args.backend });
    outs.push({ dataId: sliced.dataId, dtype: sliced.dtype, shape: outShape });
  }
  return outs;
}

function fastSplitV(args: {
  inputs: { x: tf.TensorInfo };
  attrs: { numOrSizeSplits: number | number[]; axis: number | number[] };
  backend: WasmBackendLike;
}): tf.TensorInfo[] {
  const { x } = args.inputs;
  const axis = tf.util.parseAxisParam(args.attrs.axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, args.attrs.numOrSizeSplits, axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = x.shape.slice();
    size[axis] = s;
    const out = fastSlice({ inputs: { x }, attrs: { begin: begin.slice(), size }, backend: args.backend });
    begin[axis] = begin[axis] + s;
    return out;
  });
}

/** Identity shares the data (reference count), as Reshape and the cpu backend's Identity do. */
function sharedIdentity(args: { inputs: { x: tf.TensorInfo }; backend: WasmBackendLike }): tf.TensorInfo {
  const { x } = args.inputs;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

let patched = false;

/** Install the replacements on the wasm backend (idempotent). String tensors keep tfjs' own kernels. */
export function patchWasmKernels(): void {
  if (patched) return;
  const replace = (name: string, fn: (args: never) => tf.TensorInfo | tf.TensorInfo[]) => {
    const original = tf.getKernel(name, 'wasm');
    if (!original) return;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: ((a: { inputs: Record<string, tf.TensorInfo> }) => {
        const first = Object.values(a.inputs)[0];
        return first && first.dtype === 'string' ? original.kernelFunc(a as never) : fn(a as never);
      }) as unknown as tf.KernelFunc,
    });
  };
  replace('Slice', fastSlice as (args: never) => tf.TensorInfo);
  replace('Unpack', fastUnpack as (args: never) => tf.TensorInfo[]);
  replace('SplitV', fastSplitV as (args: never) => tf.TensorInfo[]);
  replace('Identity', sharedIdentity as (args: never) => tf.TensorInfo);
  patched = true;
}
