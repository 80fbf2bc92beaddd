import { createRequire } from 'node:module';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertCanTrain, capabilities } from '../src/backend/capabilities';
import { BACKEND_ORDER, initBackend, requestedBackend, tf } from '../src/backend/index';
import { isSoftwareAdapter } from '../src/backend/webgpu';
import { BackendError } from '../src/util/errors';

const resolvable = (pkg: string): boolean => {
  try {
    createRequire(path.join(process.cwd(), 'package.json')).resolve(pkg);
    return true;
  } catch {
    return false;
  }
};

describe('backend selection', () => {
  it('order is tensorflow → webgpu → wasm → cpu', () => {
    expect(BACKEND_ORDER).toEqual(['tensorflow', 'webgpu', 'wasm', 'cpu']);
  });

  it('SOUNDTRACK_BACKEND / option pick one; unknown names are errors', () => {
    expect(requestedBackend('CPU')).toBe('cpu');
    expect(requestedBackend('auto')).toBe('auto');
    const saved = process.env.SOUNDTRACK_BACKEND;
    process.env.SOUNDTRACK_BACKEND = 'wasm';
    try {
      expect(requestedBackend()).toBe('wasm');
    } finally {
      if (saved === undefined) delete process.env.SOUNDTRACK_BACKEND;
      else process.env.SOUNDTRACK_BACKEND = saved;
    }
    expect(() => requestedBackend('cuda')).toThrow(BackendError);
    expect(() => requestedBackend('cuda')).toThrow(/Unknown backend 'cuda'/);
  });

  it('forces cpu and wasm and reports device and threads', async () => {
    const cpu = await initBackend({ backend: 'cpu' });
    expect(cpu).toMatchObject({ name: 'cpu', forced: true, threads: 1 });
    expect(tf.getBackend()).toBe('cpu');
    const wasm = await initBackend({ backend: 'wasm' });
    expect(wasm.name).toBe('wasm');
    expect(wasm.device).toMatch(/WebAssembly/);
    expect(wasm.threads).toBeGreaterThanOrEqual(1);
    expect(tf.getBackend()).toBe('wasm');
    const y = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync());
    expect(Array.from(y)).toEqual([3, 3, 3, 3]);
  });

  it('a forced backend that cannot start is an error, not a fallback', async (ctx) => {
    // try the optional backends: each either really starts (and is the one running) or is a BackendError
    let failed = 0;
    try {
      for (const name of ['tensorflow', 'webgpu'] as const) {
        await initBackend({ backend: 'cpu' }); // from a known state: a fallback would leave cpu running
        const r = await initBackend({ backend: name }).then(
          (info) => ({ info, error: null }),
          (error: unknown) => ({ info: null, error }),
        );
        if (r.info) {
          expect(r.info).toMatchObject({ name, forced: true });
          expect(tf.getBackend()).toBe(name);
          continue;
        }
        failed++;
        expect(r.error).toBeInstanceOf(BackendError);
        expect((r.error as Error).message).toMatch(new RegExp(`Backend '${name}' was requested but cannot start: .+`));
        if (name === 'tensorflow' && !resolvable('@tensorflow/tfjs-node') && !resolvable('@tensorflow/tfjs-node-gpu')) {
          expect((r.error as Error).message).toMatch(/not installed/);
        }
        expect(tf.getBackend()).toBe('cpu'); // nothing else was started in its place
      }
    } finally {
      await initBackend({ backend: 'cpu' });
    }
    if (failed === 0) ctx.skip('tensorflow and webgpu both start on this machine: no backend here fails to start');
  });

  it('automatic choice skips what cannot start and says why', async () => {
    const saved = process.env.SOUNDTRACK_BACKEND;
    delete process.env.SOUNDTRACK_BACKEND;
    try {
      await initBackend({ backend: 'cpu' }); // start from a known state
      const info = await initBackend({ backend: 'auto' });
      expect(BACKEND_ORDER).toContain(info.name);
      expect(info.forced).toBe(false);
      const before = BACKEND_ORDER.slice(0, BACKEND_ORDER.indexOf(info.name));
      expect(info.skipped.map((s) => s.name)).toEqual(before);
      for (const s of info.skipped) expect(s.reason.length).toBeGreaterThan(0);
    } finally {
      if (saved !== undefined) process.env.SOUNDTRACK_BACKEND = saved;
    }
  });

  it('tells software WebGPU adapters from hardware ones', () => {
    expect(isSoftwareAdapter({ vendor: '', architecture: '', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL ES 3.2 Mesa' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'mesa', architecture: '', device: 'lavapipe', description: '' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', device: 'nvidia-h100-80gb-hbm3', description: '' })).toBe(false);
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: '', device: 'x', description: '', isFallbackAdapter: true })).toBe(true);
  });
});

describe('capability check', () => {
  it('reads the kernel registry: cpu trains everything the models use', async () => {
    await initBackend({ backend: 'cpu' });
    expect(capabilities('cpu').every((c) => c.train)).toBe(true);
    expect(() => assertCanTrain(['conv1d', 'embedding', 'matmul'], 'The codec', 'cpu')).not.toThrow();
  });

  it("wasm lacks tfjs-native conv/gather gradient kernels, but the project's ops train there; a missing kernel is a clear error", async () => {
    await initBackend({ backend: 'wasm' });
    const caps = Object.fromEntries(capabilities('wasm').map((c) => [c.family, c]));
    expect(caps['matmul']?.train).toBe(true);
    expect(caps['conv1d']?.train).toBe(true);
    expect(caps['embedding']?.train).toBe(true);
    expect(caps['tfjs-native-gradients']?.train).toBe(false);
    expect(caps['tfjs-native-gradients']?.missing).toEqual(['Conv2DBackpropFilter', 'UnsortedSegmentSum']);
    expect(() => assertCanTrain(['conv1d', 'tfjs-native-gradients'], 'A plain tfjs model', 'wasm')).toThrow(
      /A plain tfjs model cannot train on the 'wasm' backend: tfjs-native-gradients \(missing kernels: Conv2DBackpropFilter, UnsortedSegmentSum\)/,
    );
  });
});
