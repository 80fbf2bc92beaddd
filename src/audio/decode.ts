/**
 * Read any audio (or the audio track of a video) as mono float samples at a chosen rate (4 kHz by
 * default): WAV through wavefile, everything else through ffmpeg; then mix to mono and resample.
 */
import { promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';
import { AudioInputError } from '../util/errors';
import { SAMPLE_RATE, WAV_EXTENSIONS } from './constants';
import { ffmpegToWavBytes } from './ffmpeg';
import { mixToMono, resample } from './resample';
import { decodeWav, inspectRiff, isPlainPcm, readFileChecked, type WavData } from './wav';
import { checkWavLength, MAX_AUDIO_SECONDS, tooLong } from './length-limit';

export interface DecodedAudio {
  /** Mono samples at `sampleRate`. */
  audio: Float32Array;
  sampleRate: number;
  originalSampleRate: number;
  originalChannels: number;
  durationSeconds: number;
  decoder: 'wavefile' | 'ffmpeg';
  file: string;
}

export interface ReadAudioOptions {
  /** Target sample rate; default 4000. `null` keeps the file's rate. */
  sampleRate?: number | null;
  /** Read from this second on. */
  startSeconds?: number;
  /** Read at most this many seconds. */
  durationSeconds?: number;
}

function isRiff(buf: Uint8Array): boolean {
  return buf.length >= 12 && buf[0] === 0x52 && buf[1] === 0x49 && buf[2] === 0x46 && buf[3] === 0x46;
}

/** Throw when samples are empty or hold NaN/Inf. */
export function validateSamples(channels: readonly Float32Array[], file: string): void {
  if (channels.length === 0 || channels.every((c) => c.length === 0)) throw new AudioInputError(file, 'empty', 'holds zero samples');
  for (let ch = 0; ch < channels.length; ch++) {
    const c = channels[ch] as Float32Array;
    for (let i = 0; i < c.length; i++) {
      if (!Number.isFinite(c[i])) {
        throw new AudioInputError(file, 'non-finite', `sample ${i} of channel ${ch} is ${c[i]} (NaN/Inf samples are not audio)`);
      }
    }
  }
}

function sliceSeconds(wav: WavData, start = 0, duration?: number): Float32Array[] {
  const a = Math.max(0, Math.floor(start * wav.sampleRate));
  const b = duration === undefined ? undefined : a + Math.floor(duration * wav.sampleRate);
  return wav.channels.map((c) => (a === 0 && b === undefined ? c : c.subarray(a, b)));
}

/** Decode a file to per-channel float samples at its own rate. */
export async function decodeFile(
  file: string,
  options: Pick<ReadAudioOptions, 'startSeconds' | 'durationSeconds'> = {},
): Promise<{ wav: WavData; decoder: DecodedAudio['decoder'] }> {
  const ext = path.extname(file).toLowerCase();
  let stat: Stats;
  try {
    stat = await fsp.stat(file);
  } catch (e) {
    throw new AudioInputError(file, 'not-found', 'file not found', { cause: e });
  }
  if (!stat.isFile()) throw new AudioInputError(file, 'not-a-file', 'is not a regular file');
  if (stat.size === 0) throw new AudioInputError(file, 'empty', 'is an empty file (0 bytes)');

  if (WAV_EXTENSIONS.includes(ext)) {
    if (options.durationSeconds === undefined) await checkWavLength(file, stat.size);
    const bytes = await readFileChecked(file);
    const layout = inspectRiff(bytes, file); // throws not-riff-wave / truncated with the file name
    if (isPlainPcm(layout)) {
      const wav = decodeWav(bytes, file);
      return { wav: { ...wav, channels: sliceSeconds(wav, options.startSeconds, options.durationSeconds) }, decoder: 'wavefile' };
    }
    // compressed WAV (ADPCM, µ-law, …): ffmpeg decodes it
  }
  // at most the length limit (+1 s to tell "too long" from "exactly the limit") is decoded
  const limited = options.durationSeconds === undefined;
  const bytes = await ffmpegToWavBytes(file, limited ? { ...options, durationSeconds: MAX_AUDIO_SECONDS + 1 } : options);
  if (!isRiff(bytes)) throw new AudioInputError(file, 'decode-failed', 'ffmpeg produced no WAV output');
  let wav: WavData;
  try {
    wav = decodeWav(bytes, file);
  } catch (e) {
    if (e instanceof AudioInputError && e.code === 'empty') throw new AudioInputError(file, 'empty', 'decodes to zero samples');
    throw e;
  }
  if (limited && (wav.channels[0]?.length ?? 0) > MAX_AUDIO_SECONDS * wav.sampleRate)
    throw tooLong(file, (wav.channels[0]?.length ?? 0) / wav.sampleRate, true);
  return { wav, decoder: 'ffmpeg' };
}

/**
 * Read an audio file (or a video's first audio track) as mono samples, resampled with an
 * anti-aliasing filter to `sampleRate` (default 4 kHz). Throws AudioInputError naming the file.
 */
export async function readAudio(file: string, options: ReadAudioOptions = {}): Promise<DecodedAudio> {
  const { wav, decoder } = await decodeFile(file, options);
  validateSamples(wav.channels, file);
  const mono = mixToMono(wav.channels);
  const target = options.sampleRate === null ? wav.sampleRate : (options.sampleRate ?? SAMPLE_RATE);
  const audio = resample(mono, wav.sampleRate, target);
  if (audio.length === 0) throw new AudioInputError(file, 'empty', `is shorter than one sample at ${target} Hz`);
  return {
    audio,
    sampleRate: target,
    originalSampleRate: wav.sampleRate,
    originalChannels: wav.channels.length,
    durationSeconds: mono.length / wav.sampleRate,
    decoder,
    file,
  };
}
