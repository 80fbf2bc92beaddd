/**
 * Compute-backend layer: one call picks and initialises a tfjs backend and reports what it got.
 *
 * Order when nothing is forced: tensorflow (tfjs-node-gpu, else tfjs-node: libtensorflow, when
 * installed) → webgpu (Dawn, hardware adapters only) → wasm → cpu.
 * Force one with `SOUNDTRACK_BACKEND=<name>` or `{ backend: name }` (CLIs: `--backend name`).
 * A forced backend that cannot start throws a {@link BackendError}; it never falls back silently.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { BackendError, errorMessage } from '../util/errors';
import { patchWasmKernels } from './wasm-kernels';
import { findDawnAdapter, type WebGpuAdapterInfo } from './webgpu';

export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

export function isBackendName(s: string): s is BackendName {
  return (BACKEND_ORDER as readonly string[]).includes(s);
}

export interface BackendInfo {
  /** The backend in use (also the name tfjs knows it by). */
  name: BackendName;
  /** Human-readable device, e.g. "nvidia-h100-80gb-hbm3 (WebGPU/Dawn vulkan)" or "CPU: AMD EPYC … (WebAssembly SIMD)". */
  device: string;
  /** CPU threads the backend computes with (GPU backends: threads on the host side). */
  threads: number;
  /** npm package providing the backend, with its version. */
  package: string;
  /** Set for webgpu. */
  adapter?: WebGpuAdapterInfo;
  /** True when the backend was chosen by SOUNDTRACK_BACKEND / --backend rather than by the order. */
  forced: boolean;
  /** Backends tried before this one and why they were not used. */
  skipped: Array<{ name: BackendName; reason: string }>;
}

export interface InitBackendOptions {
  /** Force a backend ('auto' or undefined: use SOUNDTRACK_BACKEND, else the default order). */
  backend?: BackendName | 'auto';
  /** Accept a software WebGPU adapter (llvmpipe/lavapipe) in the automatic order. Default false. */
  allowSoftwareAdapter?: boolean;
}

let current: BackendInfo | undefined;

/** The backend chosen by the last successful {@link initBackend}, if any. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}

/** The backend the caller started with {@link initBackend}; a BackendError when none was. */
export function activeBackend(): BackendInfo {
  if (!current) throw new BackendError('auto', 'no tfjs backend started: call initBackend() before training');
  return current;
}

function cpuModel(): string {
  const cpus = os.cpus();
  return cpus.length > 0 && cpus[0] ? cpus[0].model.trim() : 'unknown CPU';
}

function tfVersion(): string {
  return tf.version.tfjs;
}

type Starter = (allowSoftware: boolean) => Promise<Omit<BackendInfo, 'forced' | 'skipped'>>;

async function startTensorflow(): Promise<Omit<BackendInfo, 'forced' | 'skipped'>> {
  const reasons: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      const mod = (await import(pkg)) as { version?: { 'tfjs-node'?: string } };
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tf.setBackend("tensorflow") returned false');
      await tf.ready();
      const gpu = pkg.endsWith('-gpu');
      return {
        name: 'tensorflow',
        device: gpu ? 'libtensorflow (CUDA build; GPU if visible, else CPU)' : `CPU: ${cpuModel()} (libtensorflow)`,
        threads: os.cpus().length,
        package: `${pkg}@${mod.version?.['tfjs-node'] ?? tfVersion()}`,
      };
    } catch (e) {
      const msg = errorMessage(e);
      reasons.push(/Cannot find (module|package)/.test(msg) ? `${pkg} not installed` : `${pkg}: ${msg.split('\n')[0]}`);
    }
  }
  throw new Error(reasons.join('; '));
}

async function startWebgpu(allowSoftware: boolean): Promise<Omit<BackendInfo, 'forced' | 'skipped'>> {
  const { result, reasons } = await findDawnAdapter(allowSoftware);
  if (!result) throw new Error(reasons.join('; ') || 'no WebGPU adapter');
  const webgpu = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as {
    WebGPUBackend: new (device: unknown, adapterInfo?: unknown) => tf.KernelBackend;
  };
  // The package registers its own factory at import time only when navigator.gpu already existed,
  // and that factory asks for a core-feature-level adapter (Dawn's OpenGL ES backend offers only
  // 'compatibility'). Register ours: same device descriptor, adapter options that match the one found.
  if (tf.engine().registryFactory['webgpu']) tf.removeBackend('webgpu');
  const adapterOptions = result.info.dawnBackend === 'opengles' ? { featureLevel: 'compatibility' } : { powerPreference: 'high-performance' };
  tf.registerBackend(
    'webgpu',
    async () => {
      type Adapter = { features: Set<string>; limits: Record<string, number>; info: unknown; requestDevice(d: object): Promise<unknown> };
      const adapter = (await result.gpu.requestAdapter(adapterOptions)) as unknown as Adapter | null;
      if (!adapter) throw new Error('the WebGPU adapter disappeared');
      const requiredFeatures = ['timestamp-query'].filter((f) => adapter.features.has(f));
      const l = adapter.limits;
      const device = await adapter.requestDevice({
        requiredFeatures,
        requiredLimits: {
          maxComputeWorkgroupStorageSize: l['maxComputeWorkgroupStorageSize'],
          maxComputeWorkgroupsPerDimension: l['maxComputeWorkgroupsPerDimension'],
          maxStorageBufferBindingSize: l['maxStorageBufferBindingSize'],
          maxBufferSize: l['maxBufferSize'],
          maxComputeWorkgroupSizeX: l['maxComputeWorkgroupSizeX'],
          maxComputeInvocationsPerWorkgroup: l['maxComputeInvocationsPerWorkgroup'],
        },
      });
      return new webgpu.WebGPUBackend(device, adapter.info);
    },
    3,
  );
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") failed after an adapter was found');
  await tf.ready();
  const a = result.info;
  return {
    name: 'webgpu',
    device: `${a.device || a.description || a.vendor} (WebGPU/Dawn ${a.dawnBackend === 'default' ? 'vulkan' : a.dawnBackend}${a.software ? ', software' : ''})`,
    threads: 1,
    package: `@tensorflow/tfjs-backend-webgpu@${tfVersion()} + webgpu (Dawn)`,
    adapter: a,
  };
}

async function startWasm(): Promise<Omit<BackendInfo, 'forced' | 'skipped'>> {
  // In Node the wasm backend reads its .wasm files from its own dist folder in node_modules: no network.
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
  await tf.ready();
  patchWasmKernels();
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const threads = wasm.getThreadsCount();
  return {
    name: 'wasm',
    device: `CPU: ${cpuModel()} (WebAssembly${simd ? ' SIMD' : ''})`,
    threads,
    package: `@tensorflow/tfjs-backend-wasm@${tfVersion()}`,
  };
}

/**
 * The cpu backend prints an advertisement for tfjs-node on its first tensor; this layer already
 * reports the backend (and prefers tensorflow when installed), so consume it quietly. Call right
 * after switching to 'cpu' with tf.setBackend.
 */
export function quietCpuAdvert(): void {
  const prod = tf.env().getBool('PROD');
  tf.env().set('PROD', true);
  tf.tensor(0).dispose();
  tf.env().set('PROD', prod);
}

async function startCpu(): Promise<Omit<BackendInfo, 'forced' | 'skipped'>> {
  if (!(await tf.setBackend('cpu'))) throw new Error('tf.setBackend("cpu") returned false');
  await tf.ready();
  quietCpuAdvert();
  return { name: 'cpu', device: `CPU: ${cpuModel()} (pure JavaScript)`, threads: 1, package: `@tensorflow/tfjs-backend-cpu@${tfVersion()}` };
}

const STARTERS: Record<BackendName, Starter> = {
  tensorflow: () => startTensorflow(),
  webgpu: (allowSoftware) => startWebgpu(allowSoftware),
  wasm: () => startWasm(),
  cpu: () => startCpu(),
};

/** Resolve which backend was asked for: explicit option, else SOUNDTRACK_BACKEND, else 'auto'. */
export function requestedBackend(option?: string): BackendName | 'auto' {
  const raw = (option ?? process.env.SOUNDTRACK_BACKEND ?? 'auto').trim().toLowerCase();
  if (raw === '' || raw === 'auto') return 'auto';
  if (!isBackendName(raw)) {
    throw new BackendError(raw, `Unknown backend '${raw}'. Choose one of: auto, ${BACKEND_ORDER.join(', ')}.`);
  }
  return raw;
}

/**
 * Pick and initialise the compute backend. Returns what it got; throws {@link BackendError} when a
 * forced backend cannot start.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const want = requestedBackend(options.backend);
  // Idempotent: later calls with nothing asked (or the same backend) keep the backend already chosen;
  // an explicit 'auto' runs the order again.
  const reuse = want === 'auto' ? options.backend === undefined : want === current?.name;
  if (current && reuse && tf.getBackend() === current.name) return current;
  if (want !== 'auto') {
    try {
      const info = await STARTERS[want](true);
      current = { ...info, forced: true, skipped: [] };
      return current;
    } catch (e) {
      throw new BackendError(want, `Backend '${want}' was requested but cannot start: ${errorMessage(e)}`, { cause: e });
    }
  }
  const skipped: BackendInfo['skipped'] = [];
  for (const name of BACKEND_ORDER) {
    try {
      const info = await STARTERS[name](options.allowSoftwareAdapter ?? false);
      current = { ...info, forced: false, skipped };
      return current;
    } catch (e) {
      skipped.push({ name, reason: errorMessage(e) });
    }
  }
  throw new BackendError('auto', `No tfjs backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** One line for logs: "wasm · CPU: … (WebAssembly SIMD) · 1 thread". */
export function formatBackend(info: BackendInfo): string {
  return `${info.name} · ${info.device} · ${info.threads} thread${info.threads === 1 ? '' : 's'}${info.forced ? ' · forced' : ''}`;
}

export { tf };
export type { WebGpuAdapterInfo } from './webgpu';
