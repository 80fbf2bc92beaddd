import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findFfmpeg, readAudio, useFfmpeg, writeWav } from '../src/audio/index';
import { AudioInputError } from '../src/util/errors';
import { dominantFrequency, ffmpeg, tempDir, tone } from './helpers';

const dir = tempDir();
const src = path.join(dir, 'tone.wav');

beforeAll(async () => {
  await writeWav(src, tone(440, 16000, 2, 0.5), 16000, 'pcm16');
});
afterEach(() => useFfmpeg(undefined));

async function codeOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AudioInputError);
  return (e as AudioInputError).code;
}

describe('ffmpeg decoding', () => {
  it('finds ffmpeg and says where it came from', async () => {
    const ff = await findFfmpeg();
    expect(ff).not.toBeNull();
    expect(['override', 'FFMPEG_PATH', 'npm @ffmpeg-installer/ffmpeg', 'PATH']).toContain(ff?.source);
    expect(ff?.version.length).toBeGreaterThan(0);
  });

  it('reads ogg, mp3, flac and m4a as mono 4 kHz with the right pitch and length', async () => {
    const formats: Array<[string, string[]]> = [
      ['ogg', ['-c:a', 'libvorbis']],
      ['mp3', ['-c:a', 'libmp3lame']],
      ['flac', ['-c:a', 'flac']],
      ['m4a', ['-c:a', 'aac']],
    ];
    for (const [ext, codec] of formats) {
      const file = path.join(dir, `tone.${ext}`);
      await ffmpeg(['-i', src, ...codec, file]);
      const a = await readAudio(file);
      expect(a.decoder).toBe('ffmpeg');
      expect(a.sampleRate).toBe(4000);
      expect(a.originalSampleRate).toBe(16000);
      expect(Math.abs(a.audio.length - 8000)).toBeLessThan(400); // encoders add priming/padding
      expect(dominantFrequency(a.audio.subarray(800, 7200), 4000, [220, 330, 440, 550, 880])).toBe(440);
    }
  });

  it('takes the audio track of a video', async () => {
    const file = path.join(dir, 'clip.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=d=2:s=64x64:r=10', '-i', src, '-c:v', 'libx264', '-c:a', 'aac', '-shortest', file]);
    const a = await readAudio(file);
    expect(a.audio.length).toBeGreaterThan(7000);
    expect(dominantFrequency(a.audio.subarray(800, 7000), 4000, [220, 440, 880])).toBe(440);
  });

  it('a video without an audio stream is a clear error', async () => {
    const file = path.join(dir, 'silent.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=d=1:s=64x64:r=10', '-c:v', 'libx264', file]);
    const e = await readAudio(file).catch((err: unknown) => err as AudioInputError);
    expect(e).toBeInstanceOf(AudioInputError);
    expect((e as AudioInputError).code).toBe('no-audio-stream');
    expect((e as AudioInputError).message).toContain(file);
  });

  it('corrupt and mislabelled files are decode errors naming the file', async () => {
    const corrupt = path.join(dir, 'corrupt.ogg');
    writeFileSync(corrupt, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
    expect(await codeOf(readAudio(corrupt))).toBe('decode-failed');
    const text = path.join(dir, 'text.mp3');
    writeFileSync(text, 'hello, I am not an mp3\n');
    expect(await codeOf(readAudio(text))).toBe('decode-failed');
  });

  it('an unsupported codec is named as such', async () => {
    // a WAV whose format tag (0x1234) no decoder knows
    const data = Buffer.alloc(400);
    const header = Buffer.alloc(44);
    header.write('RIFF', 0);
    header.writeUInt32LE(36 + data.length, 4);
    header.write('WAVEfmt ', 8);
    header.writeUInt32LE(16, 16);
    header.writeUInt16LE(0x1234, 20);
    header.writeUInt16LE(1, 22);
    header.writeUInt32LE(8000, 24);
    header.writeUInt32LE(8000, 28);
    header.writeUInt16LE(1, 32);
    header.writeUInt16LE(8, 34);
    header.write('data', 36);
    header.writeUInt32LE(data.length, 40);
    const file = path.join(dir, 'odd-codec.wav');
    writeFileSync(file, Buffer.concat([header, data]));
    expect(await codeOf(readAudio(file))).toBe('unsupported-codec');
  });

  it('without ffmpeg, non-WAV input says ffmpeg is missing and WAV still works', async () => {
    const ogg = path.join(dir, 'needs-ffmpeg.ogg');
    await ffmpeg(['-i', src, '-c:a', 'libvorbis', ogg]);
    useFfmpeg(null);
    expect(await findFfmpeg()).toBeNull();
    const e = await readAudio(ogg).catch((err: unknown) => err as AudioInputError);
    expect((e as AudioInputError).code).toBe('ffmpeg-missing');
    expect((e as AudioInputError).message).toContain(ogg);
    expect((await readAudio(src)).decoder).toBe('wavefile');
  });
});
