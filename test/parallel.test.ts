/**
 * Data-parallel training over worker threads (src/train/parallel.ts): two threads compute the same
 * update as one (to float rounding), and bad settings are clear errors.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index';
import * as tf from '@tensorflow/tfjs';
import { Codec } from '../src/models/codec';
import { codecPreset } from '../src/models/presets';
import { trainCodec } from '../src/train/codec';
import { GradientWorkers, shareSizes } from '../src/train/parallel';
import { codecStep } from '../src/train/replica';
import { toWire } from '../src/train/wire';
import { tempDir } from './helpers';

const dir = tempDir();

function trainLosses(out: string): Array<{ loss: number; recon: number }> {
  return readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { split: string; loss: number; recon: number })
    .filter((l) => l.split === 'train');
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('data-parallel training', () => {
  it('shares of a batch: consecutive, as equal as possible, never empty', () => {
    expect(shareSizes(8, 2)).toEqual([4, 4]);
    expect(shareSizes(5, 2)).toEqual([3, 2]);
    expect(shareSizes(3, 3)).toEqual([1, 1, 1]);
    expect(() => shareSizes(2, 3)).toThrow(/cannot split a batch of 2 into 3/);
  });

  it('the codec trained with 2 workers follows the single-thread loss curve (codebook restarts included)', async () => {
    const common = {
      kind: 'raw-vqvae2' as const,
      preset: 'quick' as const,
      data: 'embedded',
      steps: 3,
      batchSize: 4,
      validateEvery: 3,
      checkpointEvery: 3,
      quiet: true,
    };
    const one = await trainCodec({ ...common, out: path.join(dir, 'one') });
    const two = await trainCodec({ ...common, out: path.join(dir, 'two'), workers: 2 });
    const a = trainLosses(one.out);
    const b = trainLosses(two.out);
    expect(b.length).toBe(3);
    a.forEach((l, i) => {
      expect(Math.abs(b[i]!.loss - l.loss) / l.loss, `step ${i + 1}`).toBeLessThan(2e-3);
      expect(Math.abs(b[i]!.recon - l.recon) / l.recon, `step ${i + 1}`).toBeLessThan(2e-3);
    });
    expect(Math.abs((two.validation['val_loss'] as number) - (one.validation['val_loss'] as number)) / (one.validation['val_loss'] as number)).toBeLessThan(
      5e-3,
    );
  }, 120_000);

  it('a gradient worker returns the gradients of its share and frees every tensor of a step', async () => {
    const config = codecPreset('raw-vqvae2', 'quick');
    const codec = new Codec(config);
    const names = [...codec.params.trainable().keys()];
    const pool = await GradientWorkers.start({ kind: 'codec', config }, 'wasm', names, 1);
    try {
      const x = tf.randomNormal([2, config.clipSamples, 1], 0, 0.1, 'float32', 5) as tf.Tensor3D;
      const weights = await Promise.all([...codec.params.trainable().values()].map(async (v) => Float32Array.from((await v.data()) as Float32Array)));
      const here = tf.variableGrads(() => codecStep(codec, x).loss, [...codec.params.trainable().values()]);
      const counts: number[] = [];
      for (let i = 0; i < 3; i++) {
        const [r] = await pool.step(weights, [{ batch: [await toWire(x)], seed: null }]);
        counts.push(r!.tensors);
        expect(Math.abs(r!.loss - (here.value.dataSync()[0] as number))).toBeLessThan(1e-5);
        names.forEach((n, j) => {
          const g = here.grads[codec.params.trainable().get(n)!.name]!.dataSync();
          const w = r!.grads[j]!;
          let d = 0;
          let m = 0;
          g.forEach((v, k) => {
            d = Math.max(d, Math.abs(v - w[k]!));
            m = Math.max(m, Math.abs(v));
          });
          expect(d, n).toBeLessThanOrEqual(1e-4 * Math.max(1, m));
        });
      }
      expect(new Set(counts).size, `tensors alive after each step: ${counts.join(', ')}`).toBe(1);
      tf.dispose([x, here.value, Object.values(here.grads)]);
    } finally {
      await pool.close();
      codec.dispose();
    }
  }, 120_000);

  it('more workers than batch entries is a clear error, and nothing is left running', async () => {
    await expect(
      trainCodec({
        kind: 'raw-vqvae2',
        preset: 'quick',
        data: 'embedded',
        steps: 1,
        batchSize: 2,
        quiet: true,
        out: path.join(dir, 'three'),
        workers: 3,
      }),
    ).rejects.toThrow(/cannot split a batch of 2 into 3 share/);
  }, 60_000);
});
