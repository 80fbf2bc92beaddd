/**
 * Data-parallel training over worker threads (src/train/parallel.ts): two threads compute the same
 * update as one (to float rounding), and bad settings are clear errors.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../src/backend/index';
import * as tf from '@tensorflow/tfjs';
import { Codec } from '../src/models/codec';
import { codecPreset } from '../src/models/presets';
import { trainCodec } from '../src/train/codec';
import { GradientWorkers, shareSizes } from '../src/train/parallel';
import { Prior, type PriorConfig } from '../src/models/prior';
import { combineShares } from '../src/train/loop';
import { codecStep, priorStep } from '../src/train/replica';
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
          for (let k = 0; k < g.length; k++) {
            d = Math.max(d, Math.abs(g[k]! - w[k]!));
            m = Math.max(m, Math.abs(g[k]!));
          }
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

  it('prior gradients of a batch split over this thread and a worker (shares 2 + 1) equal the single-thread gradients of the whole batch', async () => {
    const config: PriorConfig = {
      format: 'soundtrack-lab/prior',
      version: 1,
      level: 'bottom',
      preset: 'test',
      codes: 12,
      classes: 2,
      dModel: 16,
      heads: 4,
      encoderLayers: 1,
      decoderLayers: 1,
      feedForward: 24,
      dropout: 0, // no dropout: a share's gradient is exactly its rows' part of the batch gradient
      sourceLength: 4,
      targetLength: 6,
      attentionChunk: 4,
      windows: { encoder: null, self: null, cross: null },
      seed: 3,
    };
    const prior = new Prior(config);
    const trainable = prior.params.trainable();
    const names = [...trainable.keys()];
    const pool = await GradientWorkers.start({ kind: 'prior', config, labelSmoothing: 0.1 }, 'wasm', names, 1, prior.params.names());
    try {
      const srcRows = [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9, 10, 11, 0],
      ];
      const tgtRows = [
        [1, 1, 2, 3, 5, 8],
        [11, 10, 9, 8, 7, 6],
        [0, 4, 0, 4, 0, 4],
      ];
      const batch = (rows: number[][], n: number) => tf.tensor2d(rows.flat(), [rows.length, n], 'int32');
      const gradsOf = (src: tf.Tensor2D, tgt: tf.Tensor2D) => {
        const { value, grads } = tf.variableGrads(() => priorStep(prior, src, tgt, 0.1, null).loss, [...trainable.values()]);
        const named = new Map(names.map((n) => [n, grads[trainable.get(n)!.name]!]));
        const loss = value.dataSync()[0] as number;
        value.dispose();
        return { loss, named };
      };
      // single thread, whole batch
      const whole = gradsOf(batch(srcRows, 4), batch(tgtRows, 6));
      // rows 0–1 here, row 2 on the worker
      const local = gradsOf(batch(srcRows.slice(0, 2), 4), batch(tgtRows.slice(0, 2), 6));
      const weights = await Promise.all(prior.params.names().map(async (n) => Float32Array.from((await prior.params.get(n).data()) as Float32Array)));
      const replies = await pool.step(weights, [{ batch: [await toWire(batch(srcRows.slice(2), 4)), await toWire(batch(tgtRows.slice(2), 6))], seed: null }]);
      const combined = combineShares({ loss: local.loss, scalars: {}, grads: local.named, size: 2 }, replies, [1], trainable);
      expect(combined.loss).toBeCloseTo(whole.loss, 5);
      let largest = 0;
      for (const n of names) {
        const g = whole.named.get(n)!.dataSync();
        const c = combined.grads.get(n)!.dataSync();
        let d = 0;
        let m = 0;
        for (let k = 0; k < g.length; k++) {
          d = Math.max(d, Math.abs(g[k]! - c[k]!));
          m = Math.max(m, Math.abs(g[k]!));
        }
        expect(d, n).toBeLessThanOrEqual(1e-5 + 1e-4 * m);
        largest = Math.max(largest, m);
      }
      expect(largest).toBeGreaterThan(1e-3); // real gradients, not all zero
      // the worker's share matters: its gradient alone differs from the local share's
      const diff = names.some((n, j) => {
        const w = replies[0]!.grads[j]!;
        const g = whole.named.get(n)!.dataSync();
        return w.some((v, k) => Math.abs(v - g[k]!) > 1e-3);
      });
      expect(diff).toBe(true);
      tf.dispose([...whole.named.values(), ...combined.grads.values()]);
    } finally {
      await pool.close();
      prior.dispose();
    }
  }, 120_000);

  it('more workers than batch entries is a clear error, and nothing is left running', async () => {
    // record every pool the run starts, and whether it was closed (its worker threads terminated)
    const started: GradientWorkers[] = [];
    const closed: GradientWorkers[] = [];
    const realStart = GradientWorkers.start.bind(GradientWorkers);
    const spy = vi.spyOn(GradientWorkers, 'start').mockImplementation(async (...args) => {
      const pool = await realStart(...args);
      started.push(pool);
      const realClose = pool.close.bind(pool);
      pool.close = async () => {
        await realClose();
        closed.push(pool);
      };
      return pool;
    });
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
    spy.mockRestore();
    expect(started).toHaveLength(1);
    expect(started[0]!.size).toBe(2);
    expect(closed).toEqual(started);
  }, 60_000);
});
