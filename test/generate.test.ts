/**
 * `generate`: image → WAV and video → MP4 with an audio track, through the classifier, both priors
 * and the decoder (test models built from the embedded data); bad input is refused with a clear
 * error and no partial output.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readWav } from '../src/audio/wav';
import { initBackend } from '../src/backend/index';
import { generate } from '../src/pipeline/generate';
import { evaluateGeneration } from '../src/pipeline/evaluate';
import { shippedPath } from '../src/pipeline/models';
import { disposeSoundModels, loadSoundModels } from '../src/pipeline/sound';
import { probeMedia } from '../src/vision/media';
import { buildTestModels, type TestModels } from './fixtures/models';
import { ffmpeg, tempDir } from './helpers';

const TSX = path.join(process.cwd(), 'node_modules', '.bin', 'tsx');
const dir = tempDir();
const CAT = 'data/images/cat/cat-gcompris-kitten-playing.webp';
const DOG = 'data/images/dog/dog-gcompris-german-shepherd.webp';
const video = path.join(dir, 'dog.mp4');
let models: TestModels;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  models = await buildTestModels(dir);
  await ffmpeg(['-loop', '1', '-t', '3', '-i', DOG, '-vf', 'scale=320:240,setsar=1,fps=10', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', video]);
}, 300_000);

const withModels = () => ({ codec: models.codec, top: models.top, bottom: models.bottom, classifier: null });

describe('generate', () => {
  it('an image becomes a 7.2-s WAV at 4 kHz; the label comes from the classifier (zero-shot here)', async () => {
    const out = path.join(dir, 'dog.wav');
    const r = await generate({ input: DOG, out, models: withModels(), seed: 1 });
    expect(r.className).toBe('dog');
    expect(r.confidence).toBeGreaterThan(0.5);
    expect(r.labelSource).toMatch(/zero-shot/);
    const wav = await readWav(out);
    expect(wav.sampleRate).toBe(4000);
    expect(wav.channels[0]).toHaveLength(28_800);
    expect(r.timings.top).toBeGreaterThan(0);
  });

  it('a video becomes an MP4 with the original video stream and a generated AAC track as long as the video', async () => {
    const out = path.join(dir, 'dog-with-sound.mp4');
    const r = await generate({ input: video, out, models: withModels(), className: 'dog', seed: 2 });
    expect(r.clips).toBe(1);
    const info = await probeMedia(out);
    expect(info.video?.codec).toBe('h264');
    expect(info.video?.width).toBe(320);
    expect(info.audio?.codec).toBe('aac');
    expect(info.audio?.sampleRate).toBe(16000);
    expect(info.durationSeconds).toBeCloseTo(3, 0);
    const wavOut = path.join(dir, 'dog-track.wav');
    const w = await generate({ input: video, out: wavOut, models: withModels(), seed: 2 });
    expect(w.video?.frames.length).toBe(6);
    expect((await readWav(wavOut)).channels[0]).toHaveLength(12_000);
  });

  it('bad input: a text file named .jpg, an unknown class, a missing checkpoint, mp4 from a photo, an empty video — clear errors and no output file', async () => {
    const text = path.join(dir, 'not-a-photo.jpg');
    writeFileSync(text, 'hello');
    const out = path.join(dir, 'never.wav');
    await expect(generate({ input: text, out, models: withModels() })).rejects.toThrow(text);
    await expect(generate({ input: CAT, out, models: withModels(), className: 'cow' })).rejects.toThrow(/unknown class 'cow'/);
    const missing = path.join(dir, 'no-such-codec');
    await expect(generate({ input: CAT, out, models: { ...withModels(), codec: missing } })).rejects.toThrow(missing);
    await expect(generate({ input: CAT, out: path.join(dir, 'x.mp4'), models: withModels() })).rejects.toThrow(/needs a video input/);
    const empty = path.join(dir, 'empty.mp4');
    writeFileSync(empty, '');
    await expect(generate({ input: empty, out, models: withModels() })).rejects.toThrow(/empty/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp'))).toEqual([]);
  });

  it('the CLI prints label, confidence, backend and time per stage', () => {
    const out = path.join(dir, 'cli-cat.wav');
    const r = spawnSync(
      TSX,
      [
        'src/cli/generate.ts',
        '--input',
        CAT,
        '--out',
        out,
        '--class',
        'cat',
        '--codec',
        models.codec,
        '--top',
        models.top,
        '--bottom',
        models.bottom,
        '--backend',
        'wasm',
      ],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^label\s+cat — --class$/m);
    expect(r.stdout).toMatch(/^backend\s+wasm/m);
    expect(r.stdout).toMatch(/top [\d.]+ s · bottom [\d.]+ s · decode [\d.]+ s/);
    expect(existsSync(out)).toBe(true);
  });

  it('the shipped checkpoints work with no training: photo → WAV with the trained head, video → MP4', async () => {
    const out = path.join(dir, 'shipped-cat.wav');
    const r = await generate({ input: CAT, out, seed: 5 });
    expect(r.className).toBe('cat');
    expect(r.labelSource).toMatch(/^head on tiny-darknet/);
    expect((await readWav(out)).channels[0]).toHaveLength(28_800);
    const mp4 = path.join(dir, 'shipped-dog.mp4');
    await generate({ input: video, out: mp4, seed: 5 });
    expect((await probeMedia(mp4)).audio?.codec).toBe('aac');
  });

  it('eval:generation runs: audio classifier accuracy, class fidelity and FAD per class', async () => {
    const m = await loadSoundModels({ codec: shippedPath('codec'), top: shippedPath('top'), bottom: shippedPath('bottom') });
    try {
      const r = await evaluateGeneration(m, { data: 'embedded', perClass: 2 });
      expect(r.audioClassifier.heldOutClips).toBeGreaterThan(0);
      expect(r.perClass.map((c) => c.className)).toEqual(['cat', 'dog']);
      for (const c of r.perClass) {
        expect(c.generated).toBe(2);
        expect([0, 0.5, 1]).toContain(c.classifiedAsAsked); // a share of 2 clips
        expect(c.fad.fad).toBeGreaterThan(0);
        expect(c.fad.test.clips).toBe(2);
      }
      expect(r.audioClassifier.heldOutAccuracy).toBeGreaterThanOrEqual(0);
      expect(r.audioClassifier.heldOutAccuracy).toBeLessThanOrEqual(1);
      expect(r.fidelity).toBeCloseTo((r.perClass[0]!.classifiedAsAsked + r.perClass[1]!.classifiedAsAsked) / 2, 12);
    } finally {
      disposeSoundModels(m);
    }
  });
});
