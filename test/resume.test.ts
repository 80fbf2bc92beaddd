/**
 * A training run killed with SIGKILL resumes from its last checkpoint and continues the same loss
 * curve: same batches (RNG and sampler state), same weights and optimizer moments, same next loss.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

const TSX = path.join(process.cwd(), 'node_modules', '.bin', 'tsx');
const dir = tempDir();
const ARGS = [
  '--model',
  'raw-vqvae2',
  '--preset',
  'quick',
  '--data',
  'embedded',
  '--steps',
  '8',
  '--batch',
  '2',
  '--checkpoint-every',
  '2',
  '--validate-every',
  '100',
  '--backend',
  'wasm',
];

function trainLosses(out: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const line of readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')) {
    const r = JSON.parse(line) as { step: number; split: string; loss: number };
    if (r.split === 'train') m.set(r.step, r.loss);
  }
  return m;
}

function latestStep(out: string): number {
  try {
    return (JSON.parse(readFileSync(path.join(out, 'latest.json'), 'utf8')) as { step: number }).step;
  } catch {
    return 0;
  }
}

describe('resume after SIGKILL', () => {
  it('continues the same loss curve', async () => {
    const straight = path.join(dir, 'straight');
    const s = spawnSync(TSX, ['src/cli/train-codec.ts', ...ARGS, '--out', straight], { encoding: 'utf8' });
    expect(s.status, s.stderr).toBe(0);

    const killed = path.join(dir, 'killed');
    const child = spawn(TSX, ['src/cli/train-codec.ts', ...ARGS, '--out', killed], { stdio: 'ignore', detached: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (latestStep(killed) >= 4) {
          clearInterval(timer);
          process.kill(-child.pid!, 'SIGKILL'); // the whole process group: npx/tsx and node
          resolve();
        }
      }, 50);
      child.on('exit', () => {
        clearInterval(timer);
        if (latestStep(killed) < 8) resolve();
        else reject(new Error('the run finished before it could be killed'));
      });
    });
    await new Promise((r) => setTimeout(r, 200));
    const at = latestStep(killed);
    expect(at).toBeGreaterThanOrEqual(4);
    expect(at).toBeLessThan(8);

    const resumed = spawnSync(TSX, ['src/cli/train-codec.ts', ...ARGS, '--out', killed, '--resume'], { encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(latestStep(killed)).toBe(8);
    const a = trainLosses(straight);
    const b = trainLosses(killed);
    expect([...b.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (let step = 1; step <= 8; step++) expect(b.get(step)).toBeCloseTo(a.get(step)!, 6);
    expect(existsSync(path.join(killed, 'step-0000008', 'optimizer.bin'))).toBe(true);
  });

  it('without --resume an existing run is never overwritten', () => {
    const r = spawnSync(TSX, ['src/cli/train-codec.ts', ...ARGS, '--out', path.join(dir, 'straight')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/already holds a training run; pass --resume/);
  });
});
