/**
 * Images and video frames through ffmpeg (decoded, resized to the backbone's input, RGB in [0, 1]),
 * and the duration and streams of a video. jpg, png and webp images; any container ffmpeg reads
 * for video. Every failure is an InputError naming the file and the cause.
 */
import { spawn } from 'node:child_process';
import { promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';
import { requireFfmpeg, runFfmpeg } from '../audio/ffmpeg';
import { InputError } from '../util/errors';
import type { RgbImage } from './backbone-model';
import { MIN_IMAGE_SIDE, sniffImage } from './image-header';

export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp'];
export const VIDEO_INPUT_EXTENSIONS: readonly string[] = ['.mp4', '.mov', '.mkv', '.webm', '.avi', '.m4v'];

export type { RgbImage } from './backbone-model';

async function checkFile(file: string): Promise<void> {
  let st: Stats;
  try {
    st = await fsp.stat(file);
  } catch (e) {
    throw new InputError(file, 'not-found', 'file not found', { cause: e });
  }
  if (!st.isFile()) throw new InputError(file, 'not-a-file', 'is not a regular file');
  if (st.size === 0) throw new InputError(file, 'empty', 'is an empty file (0 bytes)');
}

function toFloat(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] / 255;
  return out;
}

async function ffmpegMedia(args: string[], file: string, what: string): Promise<Buffer> {
  try {
    return (await runFfmpeg(args, file)).stdout;
  } catch (e) {
    if (e instanceof InputError) {
      const detail = e.code === 'no-audio-stream' ? `has no ${what} stream` : e.message.slice(file.length + 2);
      throw new InputError(
        file,
        e.code === 'no-audio-stream' ? 'no-audio-stream' : e.code,
        detail.replace('not a readable audio/video file', `not a readable ${what}`),
        { cause: e },
      );
    }
    throw e;
  }
}

/**
 * Centre square crop, then bilinear resize to size × size. Squashing a 16:9 video frame into a
 * square distorts animals enough to flip the classifier (measured on the shared test videos:
 * a white cat went from P(dog) 0.71 squashed to 0.03 cropped), so photos and frames are both cropped.
 */
export function squareFilter(size: number): string {
  return `crop='min(iw,ih)':'min(iw,ih)',scale=${size}:${size}:flags=bilinear`;
}

/** Decode an image, centre-crop it to a square and resize it to size × size. */
export async function readImage(file: string, size = 224): Promise<RgbImage> {
  const ext = path.extname(file).toLowerCase();
  const known = IMAGE_EXTENSIONS.includes(ext);
  if (known) await checkFile(file);
  // the content decides (a JPEG without extension is a JPEG); truncated and tiny images are refused
  const header = await fsp.readFile(file).then(sniffImage, () => null);
  if (!known && !header) throw new InputError(file, 'unsupported-format', `unsupported image type '${ext || '(none)'}' (use ${IMAGE_EXTENSIONS.join(', ')})`);
  if (header && !header.complete)
    throw new InputError(
      file,
      'truncated',
      `the ${header.format.toUpperCase()} file is truncated (it ends before its end-of-image marker); only part of the picture would be seen`,
    );
  if (header && header.width > 0 && Math.min(header.width, header.height) < MIN_IMAGE_SIDE) {
    throw new InputError(
      file,
      'bad-argument',
      `is ${header.width}×${header.height} pixels; images need at least ${MIN_IMAGE_SIDE}×${MIN_IMAGE_SIDE} to be classified`,
    );
  }
  const decoded = await runImageDecode(file, size);
  const out = decoded.stdout;
  const warning = decoded.stderr.split('\n').find((l) => l.trim() !== '');
  if (warning) throw new InputError(file, 'decode-failed', `the image decodes with errors (ffmpeg: ${warning.trim()})`);
  if (out.length !== size * size * 3)
    throw new InputError(file, 'decode-failed', `decodes to ${out.length} bytes, expected ${size * size * 3} (not an image?)`);
  return { data: toFloat(out), width: size, height: size };
}

async function runImageDecode(file: string, size: number): Promise<{ stdout: Buffer; stderr: string }> {
  try {
    return await runFfmpeg(
      ['-loglevel', 'error', '-i', file, '-map', '0:v:0', '-frames:v', '1', '-vf', squareFilter(size), '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
      file,
    );
  } catch (e) {
    if (e instanceof InputError) {
      const detail = e.message.slice(file.length + 2).replace('not a readable audio/video file', 'not a readable image');
      throw new InputError(file, e.code === 'no-audio-stream' ? 'no-audio-stream' : e.code, e.code === 'no-audio-stream' ? 'has no image stream' : detail, {
        cause: e,
      });
    }
    throw e;
  }
}

export interface MediaInfo {
  durationSeconds: number | null;
  video: { codec: string; width: number; height: number; fps: number | null } | null;
  audio: { codec: string; sampleRate: number | null } | null;
}

/** Streams and duration from ffmpeg's description of the input. */
export async function probeMedia(file: string): Promise<MediaInfo> {
  await checkFile(file);
  const ff = await requireFfmpeg(file);
  const stderr = await new Promise<string>((resolve, reject) => {
    const child = spawn(ff.path, ['-nostdin', '-hide_banner', '-i', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stderr.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', reject);
    child.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
  if (/Invalid data found when processing input|moov atom not found/i.test(stderr)) {
    throw new InputError(file, 'decode-failed', 'not a readable video or image (ffmpeg: invalid data)');
  }
  const dur = /Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)/.exec(stderr);
  const durationSeconds = dur ? Number(dur[1]) * 3600 + Number(dur[2]) * 60 + Number(dur[3]) : null;
  const v = /Stream #\d+:\d+.*?: Video: (\w+)[^\n]*?, (\d+)x(\d+)[^\n]*/.exec(stderr);
  const fps = v ? /([\d.]+) (?:fps|tbr)/.exec(v[0]) : null;
  const a = /Stream #\d+:\d+.*?: Audio: (\w+)[^\n]*/.exec(stderr);
  const hz = a ? /(\d+) Hz/.exec(a[0]) : null;
  return {
    durationSeconds,
    video: v ? { codec: v[1] as string, width: Number(v[2]), height: Number(v[3]), fps: fps ? Number(fps[1]) : null } : null,
    audio: a ? { codec: a[1] as string, sampleRate: hz ? Number(hz[1]) : null } : null,
  };
}

export interface VideoFrames {
  frames: RgbImage[];
  /** Time of each frame in seconds. */
  times: number[];
  fps: number;
  durationSeconds: number;
}

/** Sample frames at `fps` frames per second (default 2), centre-cropped and resized to size × size. */
export async function readVideoFrames(file: string, options: { fps?: number; size?: number; maxFrames?: number } = {}): Promise<VideoFrames> {
  const fps = options.fps ?? 2;
  const size = options.size ?? 224;
  if (!(fps > 0)) throw new InputError(file, 'bad-argument', `frame rate must be positive, got ${fps}`);
  const info = await probeMedia(file);
  if (!info.video) throw new InputError(file, 'no-audio-stream', 'has no video stream');
  const args = ['-loglevel', 'error', '-i', file, '-map', '0:v:0', '-vf', `fps=${fps},${squareFilter(size)}`];
  if (options.maxFrames) args.push('-frames:v', String(options.maxFrames));
  args.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', '-');
  const out = await ffmpegMedia(args, file, 'video');
  const frameBytes = size * size * 3;
  let n = Math.floor(out.length / frameBytes);
  let frameData = out;
  if (n === 0) {
    // shorter than one frame interval (a 0.2-s clip at 2 fps): take its first frame
    frameData = await ffmpegMedia(
      ['-loglevel', 'error', '-i', file, '-map', '0:v:0', '-frames:v', '1', '-vf', squareFilter(size), '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
      file,
      'video',
    );
    n = Math.floor(frameData.length / frameBytes);
  }
  if (n === 0) throw new InputError(file, 'empty', 'no frame of the video stream could be decoded (empty or corrupt video)');
  const frames: RgbImage[] = [];
  for (let i = 0; i < n; i++) frames.push({ data: toFloat(frameData.subarray(i * frameBytes, (i + 1) * frameBytes)), width: size, height: size });
  const durationSeconds = info.durationSeconds ?? n / fps;
  return { frames, times: frames.map((_, i) => i / fps), fps, durationSeconds };
}

export function isImageFile(file: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

export function isVideoFile(file: string): boolean {
  return VIDEO_INPUT_EXTENSIONS.includes(path.extname(file).toLowerCase());
}
