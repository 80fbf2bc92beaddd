import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

const TSX = path.join(process.cwd(), 'node_modules', '.bin', 'tsx');
const dir = tempDir();

function run(script: string, args: string[]) {
  const r = spawnSync(TSX, [path.join('src', 'cli', script), ...args], { encoding: 'utf8', env: { ...process.env, SOUNDTRACK_BACKEND: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm run data:check', () => {
  it('loads the embedded data and prints clips and seconds per class as one JSON object', () => {
    const r = run('data-check.ts', ['--data', 'embedded', '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { layout: string; classes: Array<{ name: string; clips: number; seconds: number }>; failed: unknown[] };
    expect(s.layout).toBe('embedded');
    expect(s.classes.map((c) => [c.name, c.clips])).toEqual([
      ['cat', 7],
      ['dog', 12],
    ]);
    expect(s.classes[0]!.seconds).toBeGreaterThan(7);
    expect(s.failed).toEqual([]);
  });

  it('prints a table by default', () => {
    const r = run('data-check.ts', ['--data', 'embedded']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/cat\s+7\s+7\.\d/);
    expect(r.stdout).toMatch(/dog\s+12\s+9\.\d/);
  });

  it('a missing folder is one clear error line naming it (exit 1)', () => {
    const missing = path.join(dir, 'no-such-data');
    const r = run('data-check.ts', ['--data', missing]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`error: ${missing}: dataset folder not found`);
  });

  it('names each file that cannot be decoded and exits 1', () => {
    const root = path.join(dir, 'bad');
    mkdirSync(path.join(root, 'cat'), { recursive: true });
    writeFileSync(path.join(root, 'cat', 'fake.wav'), 'not a wav');
    const r = run('data-check.ts', ['--data', root, '--json']);
    expect(r.code).toBe(1);
    const s = JSON.parse(r.stdout) as { failed: Array<{ error: string }> };
    expect(s.failed[0]!.error).toMatch(/fake\.wav: not a RIFF\/WAVE file/);
  });

  it('unknown options are usage errors (exit 2)', () => {
    const r = run('data-check.ts', ['--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/usage error/);
  });
});

describe('npm run info', () => {
  it('reports versions, backend, device, ffmpeg and datasets', () => {
    const r = run('info.ts', ['--backend', 'cpu', '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as {
      backend: { name: string; device: string };
      ffmpeg: { path: string } | null;
      datasets: Array<{ spec: string; classes: Record<string, number> }>;
      capabilities: Array<{ family: string; train: boolean }>;
    };
    expect(info.backend.name).toBe('cpu');
    expect(info.backend.device).toMatch(/CPU/);
    expect(info.ffmpeg?.path).toBeTruthy();
    expect(info.datasets[0]).toMatchObject({ spec: 'embedded', classes: { cat: 7, dog: 12 } });
    expect(info.capabilities.every((c) => c.train)).toBe(true);
    const text = run('info.ts', []);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^backend\s+\S+ · /m);
  });
  it('an unknown backend is a clear error', () => {
    const r = run('info.ts', ['--backend', 'cuda']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Unknown backend 'cuda'/);
  });
});
