import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';
import { findFfmpeg } from '../src/audio/ffmpeg';
import * as tf from '@tensorflow/tfjs';
import { saveCheckpoint } from '../src/checkpoint/checkpoint';
import { MelFlow, melFlowPreset } from '../src/models/mel-flow';

/** A temp folder removed after the test file. */
export function tempDir(prefix = 'soundtrack-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function tone(freq: number, sampleRate: number, seconds: number, amplitude = 0.5): Float32Array {
  const n = Math.round(sampleRate * seconds);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / sampleRate);
  return x;
}

export function rmsOf(x: Float32Array, skip = 0): number {
  let s = 0;
  for (let i = skip; i < x.length - skip; i++) s += (x[i] as number) ** 2;
  return Math.sqrt(s / Math.max(1, x.length - 2 * skip));
}

/** Dominant frequency by a brute-force DFT scan over candidate frequencies. */
export function dominantFrequency(x: Float32Array, sampleRate: number, candidates: number[]): number {
  let best = candidates[0] as number;
  let bestP = -1;
  for (const f of candidates) {
    let re = 0;
    let im = 0;
    for (let i = 0; i < x.length; i++) {
      re += (x[i] as number) * Math.cos((2 * Math.PI * f * i) / sampleRate);
      im += (x[i] as number) * Math.sin((2 * Math.PI * f * i) / sampleRate);
    }
    const p = re * re + im * im;
    if (p > bestP) {
      bestP = p;
      best = f;
    }
  }
  return best;
}

/** Run the test's own ffmpeg to make fixtures (ogg, mp3, video, …). */
export async function ffmpeg(args: string[]): Promise<void> {
  const ff = await findFfmpeg();
  if (!ff) throw new Error('tests need ffmpeg (npm @ffmpeg-installer/ffmpeg)');
  execFileSync(ff.path, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The metadata of a checkpoint written by a test (no training state, no data, no metrics). */
export function testCheckpointMeta<M>(kind: string, model: M, o: { step: number; trainSeconds?: number; backend?: string }) {
  return {
    kind,
    model,
    step: o.step,
    trainSeconds: o.trainSeconds ?? 0,
    software: { soundtrackLab: 'test', tfjs: tf.version.tfjs, backend: o.backend ?? 'cpu' },
    train: {},
    rng: null,
    sampler: null,
    data: null,
    metrics: {},
  };
}

/** An untrained tiny mel-flow model saved as a one-step checkpoint in `dir` (a fixture for the loaders). */
export async function saveTinyMelFlow(dir: string, seed: number, backend: string, timeRange?: [number, number]): Promise<void> {
  const tiny = melFlowPreset('tiny', seed);
  const model = new MelFlow(timeRange ? { ...tiny, train: { ...tiny.train, timeRange } } : tiny);
  try {
    await saveCheckpoint(dir, { meta: testCheckpointMeta('mel-flow', model.cfg, { step: 1, backend }), params: model.params });
  } finally {
    model.dispose();
  }
}
