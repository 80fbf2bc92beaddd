/**
 * Pick the tfjs backend in the browser: WebGPU when the browser has it and gives an adapter, else
 * wasm (SIMD; threads when the page is cross-origin isolated), else plain JS. Says why.
 * `?backend=wasm|webgpu|cpu` in the page URL forces one.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import { patchWasmKernels } from '../../src/backend/wasm-kernels';

export interface BrowserBackend {
  name: 'webgpu' | 'wasm' | 'cpu';
  /** Why this one (and why not the ones before it). */
  reason: string;
}

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string };
}
interface GpuLike {
  requestAdapter(o?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}

async function webgpuAdapter(): Promise<{ ok: boolean; why: string }> {
  const gpu = (navigator as Navigator & { gpu?: GpuLike }).gpu;
  if (!gpu) return { ok: false, why: 'this browser has no WebGPU (navigator.gpu is missing)' };
  try {
    const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!a) return { ok: false, why: 'WebGPU is there but offers no adapter (no usable GPU, or it is blocked)' };
    const i = a.info;
    return { ok: true, why: `WebGPU adapter: ${[i?.vendor, i?.architecture, i?.description].filter(Boolean).join(' ') || 'unnamed'}` };
  } catch (e) {
    return { ok: false, why: `WebGPU adapter request failed (${(e as Error).message})` };
  }
}

export async function startBackend(wasmPrefix: string, forced: string | null): Promise<BrowserBackend> {
  setWasmPaths(wasmPrefix);
  const notes: string[] = [];
  if (forced === null || forced === 'webgpu') {
    const a = await webgpuAdapter();
    if (a.ok) {
      try {
        if (await tf.setBackend('webgpu')) {
          await tf.ready();
          return { name: 'webgpu', reason: `${forced ? 'forced by ?backend=webgpu; ' : ''}${a.why}` };
        }
        notes.push('WebGPU backend did not start');
      } catch (e) {
        notes.push(`WebGPU backend failed (${(e as Error).message})`);
      }
    } else notes.push(a.why);
  } else notes.push(`forced by ?backend=${forced}`);
  if (forced === null || forced === 'webgpu' || forced === 'wasm') {
    try {
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        patchWasmKernels();
        const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
        const threads = getThreadsCount();
        const iso = globalThis.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated, so 1 thread';
        return { name: 'wasm', reason: `${notes.join('; ')} → WebAssembly${simd ? ' SIMD' : ''}, ${threads} thread${threads === 1 ? '' : 's'} (${iso})` };
      }
      notes.push('wasm backend did not start');
    } catch (e) {
      notes.push(`wasm failed (${(e as Error).message})`);
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { name: 'cpu', reason: `${notes.join('; ')} → plain JavaScript (slow)` };
}
