import { promises as fsp, writeFileSync as writeSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import wavefile from 'wavefile';
import { decodeWav, encodeWav, readAudio, readWav, writeWav } from '../src/audio/index';
import { AudioInputError } from '../src/util/errors';
import { tempDir, tone } from './helpers';

const dir = tempDir();

async function expectAudioError(p: Promise<unknown>, code: string, file: string): Promise<AudioInputError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AudioInputError);
  const err = e as AudioInputError;
  expect(err.code).toBe(code);
  expect(err.file).toBe(file);
  expect(err.message).toContain(file);
  return err;
}

function writeRaw(name: string, channels: number, sampleRate: number, bitDepth: string, samples: number[] | number[][]): string {
  const wav = new wavefile.WaveFile();
  wav.fromScratch(channels, sampleRate, bitDepth, samples);
  const file = path.join(dir, name);
  writeSync(file, wav.toBuffer());
  return file;
}

describe('WAV reading', () => {
  it('reads 8/16/24/32-bit PCM and 32-bit float, mono and stereo, to [-1, 1]', async () => {
    const cases: Array<[string, number[], number]> = [
      ['8', [0, 128, 255, 192], 1 / 127],
      ['16', [-32768, 0, 32767, 16384], 1 / 32767],
      ['24', [-8388608, 0, 8388607, 4194304], 1e-6],
      ['32', [-2147483648, 0, 2147483647, 1073741824], 1e-6],
      ['32f', [-1, 0, 1, 0.5], 1e-7],
    ];
    for (const [bits, samples, tol] of cases) {
      const file = writeRaw(`pcm${bits}.wav`, 1, 8000, bits, samples);
      const w = await readWav(file);
      expect(w.sampleRate).toBe(8000);
      expect(w.channels).toHaveLength(1);
      const got = Array.from(w.channels[0] as Float32Array);
      const want = [-1, 0, 1, 0.5];
      got.forEach((v, i) => expect(Math.abs(v - (want[i] as number))).toBeLessThanOrEqual(tol));
    }
    const stereo = writeRaw('stereo.wav', 2, 16000, '16', [
      [16384, 16384, 16384],
      [-16384, -16384, 0],
    ]);
    const w = await readWav(stereo);
    expect(w.channels).toHaveLength(2);
    expect(w.channels[0]?.[0]).toBeCloseTo(0.5, 3);
    expect(w.channels[1]?.[0]).toBeCloseTo(-0.5, 3);
  });

  it('round-trips what writeWav writes (16-bit and float)', async () => {
    const x = tone(440, 4000, 0.5);
    for (const enc of ['pcm16', 'float32'] as const) {
      const file = path.join(dir, `rt-${enc}.wav`);
      await writeWav(file, x, 4000, enc);
      const a = await readAudio(file, { sampleRate: null });
      expect(a.sampleRate).toBe(4000);
      expect(a.audio.length).toBe(x.length);
      let maxErr = 0;
      for (let i = 0; i < x.length; i++) maxErr = Math.max(maxErr, Math.abs((a.audio[i] as number) - (x[i] as number)));
      expect(maxErr).toBeLessThan(enc === 'pcm16' ? 1 / 16000 : 1e-7);
    }
  });

  it('mixes stereo to mono and resamples to 4 kHz by default', async () => {
    const left = tone(500, 16000, 1, 0.4);
    const right = tone(500, 16000, 1, 0.2);
    const file = path.join(dir, 'mix.wav');
    await writeWav(file, [left, right], 16000, 'float32');
    const a = await readAudio(file);
    expect(a.sampleRate).toBe(4000);
    expect(a.originalChannels).toBe(2);
    expect(a.audio.length).toBe(4000);
    const peak = Math.max(...Array.from(a.audio.subarray(200, 3800), Math.abs));
    expect(peak).toBeGreaterThan(0.28);
    expect(peak).toBeLessThan(0.32);
  });
});

describe('bad WAV input gets a typed error naming the file', () => {
  it('file not found', async () => {
    const f = path.join(dir, 'missing.wav');
    await expectAudioError(readAudio(f), 'not-found', f);
  });
  it('a text file named .wav is not RIFF/WAVE', async () => {
    const f = path.join(dir, 'text.wav');
    writeSync(f, 'this is not audio\n');
    const e = await expectAudioError(readAudio(f), 'not-riff-wave', f);
    expect(e.message).toMatch(/RIFF\/WAVE/);
  });
  it('a zero-byte file is empty', async () => {
    const f = path.join(dir, 'zero.wav');
    writeSync(f, '');
    await expectAudioError(readAudio(f), 'empty', f);
  });
  it('a truncated data chunk', async () => {
    const full = encodeWav(tone(440, 8000, 0.5), 8000);
    const f = path.join(dir, 'truncated.wav');
    writeSync(f, full.subarray(0, full.length - 1000));
    const e = await expectAudioError(readAudio(f), 'truncated', f);
    expect(e.message).toMatch(/data chunk is truncated/);
  });
  it('zero samples', async () => {
    const f = path.join(dir, 'nosamples.wav');
    writeSync(f, encodeWav(new Float32Array(0), 8000));
    await expectAudioError(readAudio(f), 'empty', f);
  });
  it('NaN and Inf samples', async () => {
    for (const bad of [NaN, Infinity]) {
      const x = tone(440, 8000, 0.1);
      x[100] = bad;
      const f = path.join(dir, `nonfinite-${bad}.wav`);
      writeSync(f, encodeWav(x, 8000, 'float32'));
      const e = await expectAudioError(readAudio(f), 'non-finite', f);
      expect(e.message).toMatch(/sample 100/);
    }
  });
  it('a directory is not a file', async () => {
    const d = path.join(dir, 'folder.wav');
    await fsp.mkdir(d, { recursive: true });
    await expectAudioError(readAudio(d), 'not-a-file', d);
  });
  it('decodeWav checks structure before wavefile parses it', () => {
    expect(() => decodeWav(new Uint8Array([1, 2, 3]), 'x.wav')).toThrow(/x\.wav: not a RIFF\/WAVE file/);
  });
});
