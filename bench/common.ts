/**
 * Benchmark helpers. Every benchmark measures the PyTorch twin in the same run and prints one JSON
 * line per measurement: {"name","backend","device","step_s","twin_s","ratio"} (ratio = step_s / twin_s).
 * The twins are references only (Debian python3-torch + OpenBLAS on CPU; PyTorch CUDA on the GPU machine).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';

export interface Measurement {
  name: string;
  backend: string;
  device: string;
  step_s: number;
  twin_s: number | null;
  ratio: number | null;
  [extra: string]: unknown;
}

export function emit(m: Measurement): void {
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

/** Python with torch: BENCH_PYTHON, else Debian's /usr/bin/python3 (the pyenv python3 on PATH has no torch). */
export function twinPython(): string {
  return process.env.BENCH_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}

export interface TwinResult {
  step_s: number;
  device: string;
  [k: string]: unknown;
}

/** Run a twin script; null (with a message on stderr) when PyTorch is not available. */
export function runTwin(script: string, args: string[]): TwinResult | null {
  const file = path.join(process.cwd(), 'bench', 'twins', script);
  // BENCH_TWIN_DEVICE=cuda times the twin on the GPU (scripts/gpu-check.sh); default: the twin's own default (cpu)
  const device = process.env.BENCH_TWIN_DEVICE ? ['--device', process.env.BENCH_TWIN_DEVICE] : [];
  const r = spawnSync(twinPython(), [file, ...args, ...device], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '2' },
  });
  if (r.status !== 0) {
    process.stderr.write(
      `twin ${script} failed (is python3-torch installed? apt-get install python3-torch libopenblas0-pthread):\n${r.stderr.split('\n').slice(-5).join('\n')}\n`,
    );
    return null;
  }
  const line = r.stdout.trim().split('\n').pop() ?? '{}';
  return JSON.parse(line) as TwinResult;
}

/** Median wall time of `fn` over `repeats` runs after `warmup` runs; `fn` must finish its GPU work (read back a value). */
export async function timeIt(fn: () => Promise<void> | void, repeats: number, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

/** Peak resident memory of this process so far (GiB). */
export function peakRssGiB(): number {
  return (process.resourceUsage().maxRSS * 1024) / 2 ** 30;
}

export function ratio(a: number, b: number | null | undefined): number | null {
  return b ? Number((a / b).toFixed(2)) : null;
}

export function leakCheck<T>(fn: () => T): { value: T; leaked: number } {
  const before = tf.memory().numTensors;
  const value = fn();
  return { value, leaked: tf.memory().numTensors - before };
}
