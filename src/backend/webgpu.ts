import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * WebGPU in Node through Dawn (npm `webgpu`). Creates `navigator.gpu`, asks for an adapter and tells
 * hardware from software adapters, so the backend chooser can skip llvmpipe/lavapipe/SwiftShader
 * unless WebGPU was asked for explicitly.
 */

export interface WebGpuAdapterInfo {
  /** Dawn backend that produced the adapter: 'vulkan' (default on Linux) or 'opengles'. */
  dawnBackend: 'default' | 'opengles';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU-emulated adapters (llvmpipe, lavapipe, SwiftShader, softpipe). */
  software: boolean;
  maxStorageBufferBindingSize: number;
  features: string[];
}

/** Minimal shape of the objects we use from the WebGPU API (no DOM lib in this project). */
interface GpuAdapterLike {
  readonly info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  readonly limits: { maxStorageBufferBindingSize: number };
  readonly features: Iterable<string>;
  readonly isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string; featureLevel?: string }): Promise<GpuAdapterLike | null>;
}
interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

/** Is libvulkan.so.1 findable by the dynamic loader (LD_LIBRARY_PATH or the ld.so cache)? */
export function hasVulkanLoader(): boolean {
  for (const dir of (process.env.LD_LIBRARY_PATH ?? '').split(':')) {
    if (dir && existsSync(`${dir}/libvulkan.so.1`)) return true;
  }
  try {
    return /libvulkan\.so\.1\b/.test(execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu'].some((d) => existsSync(`${d}/libvulkan.so.1`));
  }
}

const SOFTWARE_PATTERN = /llvmpipe|lavapipe|swiftshader|softpipe|software/i;

export function isSoftwareAdapter(info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean }): boolean {
  if (info.isFallbackAdapter) return true;
  return SOFTWARE_PATTERN.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}

function describeAdapter(adapter: GpuAdapterLike, dawnBackend: WebGpuAdapterInfo['dawnBackend']): WebGpuAdapterInfo {
  const i = adapter.info;
  return {
    dawnBackend,
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    // GPUAdapterInfo exposes its fields as prototype getters: read them one by one (a spread copies nothing).
    software: isSoftwareAdapter({
      vendor: i.vendor,
      architecture: i.architecture,
      device: i.device,
      description: i.description,
      isFallbackAdapter: i.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false,
    }),
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    features: [...adapter.features].sort(),
  };
}

export interface DawnAdapterResult {
  gpu: GpuLike;
  info: WebGpuAdapterInfo;
}

/**
 * Find a WebGPU adapter through Dawn. Tries Dawn's default backend (Vulkan on Linux) first; when
 * `allowSoftware` is set and no usable adapter is found, tries Dawn's OpenGL ES backend with EGL's
 * surfaceless platform (Mesa llvmpipe on machines without a GPU).
 * Returns null with the reasons when there is none.
 */
export async function findDawnAdapter(allowSoftware: boolean): Promise<{ result: DawnAdapterResult | null; reasons: string[] }> {
  const reasons: string[] = [];
  let dawn: DawnModule;
  try {
    const mod = (await import('webgpu')) as unknown as DawnModule & { default?: DawnModule };
    dawn = typeof mod.create === 'function' ? mod : (mod.default as DawnModule);
  } catch (e) {
    return { result: null, reasons: [`npm package 'webgpu' (Dawn) cannot load: ${(e as Error).message}`] };
  }
  const attempts: Array<{ backend: WebGpuAdapterInfo['dawnBackend']; flags: string[]; featureLevel?: string }> = [{ backend: 'default', flags: [] }];
  if (allowSoftware) attempts.push({ backend: 'opengles', flags: ['backend=opengles'], featureLevel: 'compatibility' });
  for (const a of attempts) {
    if (a.backend === 'default' && process.platform === 'linux' && !hasVulkanLoader()) {
      // Without the loader Dawn only prints a warning and finds nothing; say why instead.
      reasons.push('Dawn vulkan: the Vulkan loader libvulkan.so.1 is not installed (no GPU driver)');
      continue;
    }
    if (a.backend === 'opengles' && process.env.EGL_PLATFORM === undefined) process.env.EGL_PLATFORM = 'surfaceless';
    try {
      const gpu = dawn.create(a.flags);
      const adapter = await gpu.requestAdapter(
        a.featureLevel ? { powerPreference: 'high-performance', featureLevel: a.featureLevel } : { powerPreference: 'high-performance' },
      );
      if (!adapter) {
        reasons.push(`Dawn ${a.backend}: no adapter (no GPU driver / Vulkan loader found)`);
        continue;
      }
      const info = describeAdapter(adapter, a.backend);
      if (info.software && !allowSoftware) {
        reasons.push(`Dawn ${a.backend}: only a software adapter (${info.device || info.description}); skipped (force with --backend webgpu)`);
        continue;
      }
      // tfjs-backend-webgpu looks for navigator.gpu and the WebGPU globals (GPUBufferUsage, ...).
      Object.assign(globalThis, dawn.globals);
      const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
      if (g.navigator === undefined) {
        Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
      } else {
        Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
      }
      return { result: { gpu, info }, reasons };
    } catch (e) {
      reasons.push(`Dawn ${a.backend}: ${(e as Error).message}`);
    }
  }
  return { result: null, reasons };
}
