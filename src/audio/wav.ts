/**
 * WAV reading and writing with wavefile (8/16/24/32-bit PCM, 32/64-bit float, mono or multi-channel).
 *
 * Before handing bytes to wavefile we walk the RIFF chunk list ourselves: wavefile accepts a
 * truncated data chunk silently, and the project promises a clear error for one.
 */
import { promises as fsp } from 'node:fs';
import * as wavefileModule from 'wavefile';
import { AudioInputError } from '../util/errors';
import { writeFileAtomic } from '../util/fs';
import { cjsExport } from '../util/interop';

const WaveFile = cjsExport<typeof wavefileModule.WaveFile>(wavefileModule, 'WaveFile');

export interface WavData {
  /** One Float32Array per channel, samples in [-1, 1] (float files may exceed it). */
  channels: Float32Array[];
  sampleRate: number;
  /** Bit depth as wavefile names it: '8', '16', '24', '32', '32f', '64'. */
  bitDepth: string;
  /** WAVE format tag (1 PCM, 3 IEEE float, 0xFFFE extensible, others compressed). */
  formatTag: number;
}

export interface RiffLayout {
  formatTag: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  dataOffset: number;
  dataBytes: number;
  /** Sub-format of WAVE_FORMAT_EXTENSIBLE files (1 PCM, 3 float), else the format tag. */
  subFormat: number;
}

function ascii(buf: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...buf.subarray(at, at + n));
}

/** Check the RIFF/WAVE structure and find the fmt and data chunks. Throws AudioInputError. */
export function inspectRiff(buf: Uint8Array, file: string): RiffLayout {
  if (buf.length < 12 || ascii(buf, 0, 4) !== 'RIFF' || ascii(buf, 8, 4) !== 'WAVE') {
    const head = buf.length >= 4 ? JSON.stringify(ascii(buf, 0, 4)) : 'fewer than 4 bytes';
    throw new AudioInputError(file, 'not-riff-wave', `not a RIFF/WAVE file (starts with ${head})`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 12;
  let fmt: Omit<RiffLayout, 'dataOffset' | 'dataBytes'> | undefined;
  while (at + 8 <= buf.length) {
    const id = ascii(buf, at, 4);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) throw new AudioInputError(file, 'truncated', 'the fmt chunk is truncated');
      const formatTag = view.getUint16(body, true);
      const subFormat = formatTag === 0xfffe && size >= 40 && body + 26 <= buf.length ? view.getUint16(body + 24, true) : formatTag;
      fmt = {
        formatTag,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        bitsPerSample: view.getUint16(body + 14, true),
        subFormat,
      };
    } else if (id === 'data') {
      if (!fmt) throw new AudioInputError(file, 'not-riff-wave', 'the data chunk comes before any fmt chunk');
      const available = buf.length - body;
      // 0 and 0xFFFFFFFF are the placeholders streaming writers leave: take what is there.
      const streaming = size === 0xffffffff || (size === 0 && available > 0);
      if (!streaming && size > available) {
        throw new AudioInputError(file, 'truncated', `the data chunk is truncated: header says ${size} bytes, file holds ${available}`);
      }
      return { ...fmt, dataOffset: body, dataBytes: streaming ? available : size };
    }
    at = body + size + (size % 2);
  }
  throw new AudioInputError(file, fmt ? 'truncated' : 'not-riff-wave', fmt ? 'no data chunk (file truncated?)' : 'no fmt chunk');
}

/** True when wavefile can decode this layout directly (PCM or float); other tags go through ffmpeg. */
export function isPlainPcm(layout: RiffLayout): boolean {
  return layout.subFormat === 1 || layout.subFormat === 3;
}

/** Decode WAV bytes. `file` is used in error messages only. */
export function decodeWav(bytes: Uint8Array, file: string): WavData {
  const layout = inspectRiff(bytes, file);
  if (!isPlainPcm(layout)) {
    throw new AudioInputError(file, 'unsupported-codec', `WAV format tag 0x${layout.subFormat.toString(16)} is not PCM or float (decode it with ffmpeg)`);
  }
  if (layout.channels < 1) throw new AudioInputError(file, 'not-riff-wave', 'the fmt chunk declares 0 channels');
  const bytesPerFrame = (layout.bitsPerSample / 8) * layout.channels;
  if (layout.dataBytes < bytesPerFrame) throw new AudioInputError(file, 'empty', 'the data chunk holds zero samples');
  if (layout.subFormat === 3) return decodeFloatData(bytes, layout, file);
  const wav = new WaveFile();
  try {
    wav.fromBuffer(bytes);
  } catch (e) {
    throw new AudioInputError(file, 'decode-failed', `wavefile cannot parse it: ${(e as Error).message}`, { cause: e });
  }
  const fmt = wav.fmt as { numChannels: number; sampleRate: number };
  const bitDepth = wav.bitDepth;
  const bits = Number.parseInt(bitDepth, 10);
  if (!(bits >= 8 && bits <= 32)) throw new AudioInputError(file, 'unsupported-codec', `PCM WAV with ${bitDepth} bits per sample`);
  const raw = wav.getSamples(false, Float64Array) as unknown as Float64Array | Float64Array[];
  const chans = fmt.numChannels === 1 ? [raw as Float64Array] : (raw as Float64Array[]);
  // Integer PCM to [-1, 1] (scaled here: wavefile's toBitDepth('32f') is ~20x slower).
  // 8-bit WAV is unsigned with 128 as zero; wider PCM is signed. Negative and positive halves are
  // scaled separately so that full scale maps to exactly ±1 (the inverse of encodeWav).
  const offset = bits === 8 ? 128 : 0;
  const neg = 2 ** (bits - 1);
  const pos = neg - 1;
  const channels = chans.map((c) => {
    const out = new Float32Array(c.length);
    for (let i = 0; i < c.length; i++) {
      const v = c[i] - offset;
      out[i] = v < 0 ? v / neg : v / pos;
    }
    return out;
  });
  return { channels, sampleRate: fmt.sampleRate, bitDepth, formatTag: layout.formatTag };
}

/**
 * IEEE-float data read directly: wavefile 11 reads WAVE_FORMAT_EXTENSIBLE files with a float
 * sub-format (what ffmpeg writes for pcm_f32le) as 32-bit integers, which garbles them.
 */
function decodeFloatData(bytes: Uint8Array, layout: RiffLayout, file: string): WavData {
  const width = layout.bitsPerSample / 8;
  if (width !== 4 && width !== 8) throw new AudioInputError(file, 'unsupported-codec', `float WAV with ${layout.bitsPerSample} bits per sample`);
  const frames = Math.floor(layout.dataBytes / (width * layout.channels));
  const view = new DataView(bytes.buffer, bytes.byteOffset + layout.dataOffset, frames * width * layout.channels);
  const channels = Array.from({ length: layout.channels }, () => new Float32Array(frames));
  for (let i = 0, at = 0; i < frames; i++) {
    for (let c = 0; c < layout.channels; c++, at += width) {
      (channels[c] as Float32Array)[i] = width === 4 ? view.getFloat32(at, true) : view.getFloat64(at, true);
    }
  }
  return { channels, sampleRate: layout.sampleRate, bitDepth: width === 4 ? '32f' : '64', formatTag: layout.formatTag };
}

export async function readFileChecked(file: string): Promise<Buffer> {
  try {
    return await fsp.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AudioInputError(file, 'not-found', 'file not found', { cause: e });
    if (code === 'EISDIR') throw new AudioInputError(file, 'not-a-file', 'is a directory, not a file', { cause: e });
    throw new AudioInputError(file, 'decode-failed', `cannot read: ${(e as Error).message}`, { cause: e });
  }
}

export async function readWav(file: string): Promise<WavData> {
  return decodeWav(await readFileChecked(file), file);
}

export type WavEncoding = 'pcm16' | 'float32';

/** Encode mono or multi-channel samples as WAV bytes. PCM16 clamps to [-1, 1]. */
export function encodeWav(channels: Float32Array | Float32Array[], sampleRate: number, encoding: WavEncoding = 'pcm16'): Uint8Array {
  const chans = Array.isArray(channels) ? channels : [channels];
  const wav = new WaveFile();
  if (encoding === 'float32') {
    wav.fromScratch(chans.length, sampleRate, '32f', chans.length === 1 ? chans[0] : chans);
  } else {
    const ints = chans.map((c) => {
      const out = new Int16Array(c.length);
      for (let i = 0; i < c.length; i++) {
        const v = Math.max(-1, Math.min(1, c[i]));
        out[i] = Math.round(v < 0 ? v * 32768 : v * 32767);
      }
      return out;
    });
    wav.fromScratch(ints.length, sampleRate, '16', ints.length === 1 ? ints[0] : ints);
  }
  return wav.toBuffer();
}

/** Write a WAV file atomically (temp file + rename). */
export async function writeWav(file: string, channels: Float32Array | Float32Array[], sampleRate: number, encoding: WavEncoding = 'pcm16'): Promise<void> {
  await writeFileAtomic(file, encodeWav(channels, sampleRate, encoding));
}
