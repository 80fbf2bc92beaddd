/**
 * How long is too long. A recording is decoded whole (float samples per channel, then resampled), so
 * a 1-hour 44.1-kHz stereo WAV would take over a gigabyte; clips used here are seconds long. Longer
 * recordings are refused before they are read, with the length and the limit in the message.
 */
import { promises as fsp } from 'node:fs';
import { AudioInputError } from '../util/errors';

/** Longest recording read (seconds): 10 minutes. */
export const MAX_AUDIO_SECONDS = 600;

export function tooLong(file: string, seconds: number, atLeast = false): AudioInputError {
  return new AudioInputError(
    file,
    'too-long',
    `is ${atLeast ? 'longer than' : ''}${atLeast ? ` ${MAX_AUDIO_SECONDS / 60} min` : `${(seconds / 60).toFixed(1)} min long`}; recordings over ${MAX_AUDIO_SECONDS / 60} min are not read (cut it into shorter files, e.g. ffmpeg -i IN -f segment -segment_time 60 OUT%03d.wav)`,
  );
}

/** From a WAV's header (fmt byte rate) and its size, refuse it before reading when it is too long. */
export async function checkWavLength(file: string, size: number): Promise<void> {
  const h = await fsp.open(file, 'r').catch(() => null);
  if (!h) return; // the reader reports it
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await h.read(buf, 0, buf.length, 0);
    if (bytesRead < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') return;
    for (let at = 12; at + 8 <= bytesRead; ) {
      const id = buf.toString('latin1', at, at + 4);
      const len = buf.readUInt32LE(at + 4);
      if (id === 'fmt ' && at + 20 <= bytesRead) {
        const byteRate = buf.readUInt32LE(at + 16);
        if (byteRate > 0 && size / byteRate > MAX_AUDIO_SECONDS) throw tooLong(file, size / byteRate);
        return;
      }
      at += 8 + len + (len % 2);
    }
  } finally {
    await h.close();
  }
}
