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
import { neitherClip } from '../src/data/negatives';
import { probabilityGreater, recognition } from '../src/metrics/recognition';
import { evaluateGeneration, formatGenerationEvaluation } from '../src/pipeline/evaluate-generation';
import { loadGenerator, loadJudge } from '../src/pipeline/generators';
import { Rng } from '../src/util/rng';
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

// the thesis pipeline with test models built from the embedded data (the default generator is tested in mel-flow/judge tests and below)
const withModels = () => ({ codec: models.codec, top: models.top, bottom: models.bottom, classifier: null });
const thesis = 'thesis' as const;

describe('generate', () => {
  it('an image becomes a 7.2-s WAV at 4 kHz; the label comes from the classifier (zero-shot here)', async () => {
    const out = path.join(dir, 'dog.wav');
    const r = await generate({ input: DOG, out, generator: thesis, models: withModels(), seed: 1 });
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
    const r = await generate({ input: video, out, generator: thesis, models: withModels(), className: 'dog', seed: 2 });
    expect(r.clips).toBe(1);
    const info = await probeMedia(out);
    expect(info.video?.codec).toBe('h264');
    expect(info.video?.width).toBe(320);
    expect(info.audio?.codec).toBe('aac');
    expect(info.audio?.sampleRate).toBe(16000);
    expect(info.durationSeconds).toBeCloseTo(3, 0);
    const wavOut = path.join(dir, 'dog-track.wav');
    const w = await generate({ input: video, out: wavOut, generator: thesis, models: withModels(), seed: 2 });
    expect(w.video?.frames.length).toBe(6);
    expect((await readWav(wavOut)).channels[0]).toHaveLength(12_000);
  });

  it('bad input: a text file named .jpg, an unknown class, a missing checkpoint, mp4 from a photo, an empty video — clear errors and no output file', async () => {
    const text = path.join(dir, 'not-a-photo.jpg');
    writeFileSync(text, 'hello');
    const out = path.join(dir, 'never.wav');
    await expect(generate({ input: text, out, generator: thesis, models: withModels() })).rejects.toThrow(text);
    await expect(generate({ input: CAT, out, generator: thesis, models: withModels(), className: 'cow' })).rejects.toThrow(/unknown class 'cow'/);
    const missing = path.join(dir, 'no-such-codec');
    await expect(generate({ input: CAT, out, generator: thesis, models: { ...withModels(), codec: missing } })).rejects.toThrow(missing);
    await expect(generate({ input: CAT, out: path.join(dir, 'x.mp4'), generator: thesis, models: withModels() })).rejects.toThrow(/needs a video input/);
    const empty = path.join(dir, 'empty.mp4');
    writeFileSync(empty, '');
    await expect(generate({ input: empty, out, generator: thesis, models: withModels() })).rejects.toThrow(/empty/);
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

  it('the shipped default generator: --class without a picture gives a 7.2-s clip the shipped judge recognises (and noise it calls "neither")', async () => {
    const gen = await loadGenerator('mel-flow');
    const { judge } = await loadJudge();
    try {
      const clips: Float32Array[] = [];
      const labels: number[] = [];
      for (const label of [0, 1]) {
        const r = await gen.generate(label, { clips: 3, seed: 11 });
        for (const c of r.clips) {
          expect(c).toHaveLength(28_800);
          expect(c.every(Number.isFinite)).toBe(true);
          expect(Math.max(...c.map(Math.abs))).toBeGreaterThan(0.5); // peak-normalised, not silent
        }
        clips.push(...r.clips);
        labels.push(...r.clips.map(() => label));
      }
      const rec = recognition(judge, clips, labels);
      expect(rec.recognised).toBeGreaterThanOrEqual(4 / 6);
      const noise = recognition(
        judge,
        [0, 1, 2, 3].map((i) => neitherClip('white', 28_800, new Rng(i))),
        0,
      );
      expect(noise.neither).toBe(1);
    } finally {
      gen.dispose();
      judge.dispose();
    }
    const out = path.join(dir, 'class-only.wav');
    const r = await generate({ className: 'dog', out, seed: 3 });
    expect(r.generator).toBe('mel-flow');
    expect(r.labelSource).toBe('--class');
    expect((await readWav(out)).channels[0]).toHaveLength(28_800);
    expect(Object.keys(r.timings)).toEqual(expect.arrayContaining(['flow', 'compose', 'vocoder']));
  }, 180_000);

  it('eval:generation judges generated clips beside real held-out clips, their Griffin–Lim resynthesis and noise', async () => {
    const gen = await loadGenerator('mel-flow');
    const { judge, trainIds } = await loadJudge();
    try {
      const r = await evaluateGeneration(gen, judge, { data: 'embedded', perClass: 2, judgeTrainIds: trainIds });
      const row = (name: string) => r.rows.find((x) => x.audio === name);
      expect(r.rows.map((x) => x.audio)).toEqual([
        'real held-out cat',
        'real held-out cat → log-mel → Griffin–Lim',
        'real training cat events → same layout → Griffin–Lim',
        'generated cat',
        'real held-out dog',
        'real held-out dog → log-mel → Griffin–Lim',
        'real training dog events → same layout → Griffin–Lim',
        'generated dog',
        'white noise',
        'pink noise',
        'silence',
      ]);
      expect(row('generated cat')?.clips).toBe(2);
      // the layout ceiling: real events through the generator's own layout and vocoder, judged and placed by FAD
      const ceiling = row('real training cat events → same layout → Griffin–Lim');
      expect(ceiling?.clips).toBe(2);
      expect(ceiling?.fad).toBeGreaterThan(0);
      expect(ceiling?.nearestTrain).toBeNull();
      // the references that show the metric can fail
      expect(row('white noise')?.neither).toBe(1);
      expect(row('silence')?.neither).toBe(1);
      for (const f of r.fad) expect(f.generated.fad).toBeGreaterThan(0);
      const near = row('generated dog')?.nearestTrain;
      expect(near && near.max <= 1 && near.median > -1).toBe(true);
      // every clip's similarity is kept, and the generated clips are compared with the held-out ones of their class
      expect(near?.values).toHaveLength(2);
      const vsHeldOut = row('real held-out dog')?.nearestTrain?.values ?? [];
      expect(near?.closerThanHeldOut?.p).toBe(probabilityGreater(near?.values ?? [], vsHeldOut));
      expect(row('real held-out dog')?.nearestTrain?.closerThanHeldOut).toBeUndefined();
      expect(formatGenerationEvaluation(r)).toMatch(/\| generated dog \| 2 \|/);
    } finally {
      gen.dispose();
      judge.dispose();
    }
  }, 300_000);
});
