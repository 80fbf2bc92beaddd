/**
 * End to end on the embedded data: codec checkpoint → codes → Top and Bottom priors → `npm run sample`
 * writes a 28,800-sample WAV at 4 kHz and prints the time of each stage. (Tiny step counts: this
 * checks the wiring, not the quality.)
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readWav } from '../src/audio/wav';
import { initBackend } from '../src/backend/index';
import { buildTestModels } from './fixtures/models';
import { tempDir } from './helpers';

const TSX = path.join(process.cwd(), 'node_modules', '.bin', 'tsx');
const dir = tempDir();
const codec = path.join(dir, 'codec');

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  await buildTestModels(dir);
}, 300_000);

describe('npm run sample', () => {
  it('writes a 7.2-s WAV at 4 kHz for a class and prints the time per stage', async () => {
    const out = path.join(dir, 'cat.wav');
    const r = spawnSync(
      TSX,
      [
        'src/cli/sample.ts',
        '--class',
        'cat',
        '--codec',
        codec,
        '--top',
        path.join(dir, 'top'),
        '--bottom',
        path.join(dir, 'bottom'),
        '--out',
        out,
        '--seed',
        '3',
        '--backend',
        'wasm',
      ],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^generator thesis/m);
    expect(r.stderr).toMatch(/top\s+[\d.]+ s/);
    expect(r.stderr).toMatch(/bottom\s+[\d.]+ s/);
    expect(r.stderr).toMatch(/decode\s+[\d.]+ s/);
    const wav = await readWav(out);
    expect(wav.sampleRate).toBe(4000);
    expect(wav.channels[0]).toHaveLength(28_800);
  });

  it('mismatched models and bad arguments are clear errors', () => {
    const swapped = spawnSync(
      TSX,
      [
        'src/cli/sample.ts',
        '--class',
        'dog',
        '--codec',
        codec,
        '--top',
        path.join(dir, 'bottom'),
        '--bottom',
        path.join(dir, 'bottom'),
        '--out',
        path.join(dir, 'x.wav'),
      ],
      { encoding: 'utf8' },
    );
    expect(swapped.status).toBe(1);
    expect(swapped.stderr).toMatch(/is a bottom prior, not a top prior/);
    const badClass = spawnSync(TSX, ['src/cli/sample.ts', '--class', 'cow', '--codec', codec, '--top', 'a', '--bottom', 'b', '--out', 'x.wav'], {
      encoding: 'utf8',
    });
    expect(badClass.status).toBe(2);
    expect(badClass.stderr).toMatch(/unknown --class 'cow'/);
  });
});
