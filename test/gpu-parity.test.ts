/**
 * Gradient parity on a WebGPU adapter: a tiny codec's and a tiny prior's gradients against the cpu
 * backend's. Runs on whatever adapter Dawn finds — a GPU, or Mesa llvmpipe through Dawn's OpenGL ES
 * backend on CPU machines (where tfjs' own prior gradients are known to be wrong, FACTS.md). Skipped
 * only when no WebGPU adapter can start. `npm run test:gpu-parity` runs this file alone.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type BackendInfo } from '../src/backend/index';
import { checkGradientParity } from '../src/train/parity';

let info: BackendInfo | null = null;
let reason = '';

beforeAll(async () => {
  try {
    info = await initBackend({ backend: 'webgpu' });
  } catch (e) {
    reason = (e as Error).message;
  }
}, 120_000);

describe('WebGPU gradient parity (webgpu vs cpu)', () => {
  for (const which of ['codec', 'prior'] as const) {
    it(`${which}: gradients agree with the cpu backend`, async (ctx) => {
      if (!info) {
        ctx.skip(`WebGPU cannot start on this machine (no adapter): ${reason}`);
        return;
      }
      const r = await checkGradientParity(which);
      expect(r.backend).toBe('webgpu');
      expect(r.maxRelative, `${which} on ${info.device}: worst ${r.worst}`).toBeLessThan(1e-2);
    });
  }
  it('reports why when WebGPU cannot start', () => {
    if (info) expect(info.adapter).toBeDefined();
    else expect(reason).toMatch(/webgpu/i);
  });
});
