/**
 * Images and video frames in the browser: decoded by the browser (<img>/createImageBitmap, <video>),
 * centre-cropped to a square and resized to the backbone's input on a canvas — the same crop the
 * Node pipeline makes with ffmpeg (src/vision/media.ts) — as RGB in [0, 1].
 */
import type { RgbImage } from '../../src/vision/backbone-model';

export class MediaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MediaError';
  }
}

export type MediaKind = 'image' | 'video';

const IMAGE_EXT = /\.(jpe?g|png|webp|gif|bmp|avif)$/i;
const VIDEO_EXT = /\.(mp4|m4v|webm|mov|mkv|ogv)$/i;

/** 'image' or 'video' from the file's type (or its name when the type is empty); a MediaError otherwise. */
export function mediaKind(file: { name: string; type: string }): MediaKind {
  if (file.type.startsWith('image/')) return 'image';
  if (file.type.startsWith('video/')) return 'video';
  if (!file.type && IMAGE_EXT.test(file.name)) return 'image';
  if (!file.type && VIDEO_EXT.test(file.name)) return 'video';
  throw new MediaError(
    `“${file.name}” is not an image or a video${file.type ? ` (its type is ${file.type})` : ''}. Choose a photo (JPEG, PNG, WebP) or a video (MP4, WebM).`,
  );
}

/** Centre square of a drawable, resized to size × size: RGB in [0, 1] plus the canvas (for a thumbnail). */
export function cropToRgb(src: CanvasImageSource, width: number, height: number, size: number): { image: RgbImage; canvas: HTMLCanvasElement } {
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new MediaError('this browser gives no 2-D canvas');
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  const side = Math.min(width, height);
  ctx.drawImage(src, (width - side) / 2, (height - side) / 2, side, side, 0, 0, size, size);
  const px = ctx.getImageData(0, 0, size, size).data;
  const data = new Float32Array(size * size * 3);
  for (let i = 0, j = 0; i < px.length; i += 4, j += 3) {
    data[j] = (px[i] as number) / 255;
    data[j + 1] = (px[i + 1] as number) / 255;
    data[j + 2] = (px[i + 2] as number) / 255;
  }
  return { image: { data, width: size, height: size }, canvas };
}

export async function decodeImage(blob: Blob, name: string, size: number): Promise<{ image: RgbImage; canvas: HTMLCanvasElement }> {
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(blob);
  } catch {
    throw new MediaError(`“${name}” could not be decoded as an image (a damaged file, or a format this browser does not read).`);
  }
  try {
    if (bmp.width === 0 || bmp.height === 0) throw new MediaError(`“${name}” is an empty image.`);
    return cropToRgb(bmp, bmp.width, bmp.height, size);
  } finally {
    bmp.close();
  }
}

function once(target: HTMLMediaElement, ok: string, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (f: () => void) => {
      clearTimeout(timer);
      target.removeEventListener(ok, onOk);
      target.removeEventListener('error', onErr);
      f();
    };
    const onOk = () => done(resolve);
    const onErr = () =>
      done(() =>
        reject(
          new MediaError(
            `${what}: this browser cannot decode the video (${target.error?.message || `media error ${target.error?.code ?? '?'}`}). Try an MP4 (H.264) or WebM (VP8/VP9) file.`,
          ),
        ),
      );
    const timer = setTimeout(
      () => done(() => reject(new MediaError(`${what}: the video did not load within ${timeoutMs / 1000} s (a format this browser cannot decode?).`))),
      timeoutMs,
    );
    target.addEventListener(ok, onOk);
    target.addEventListener('error', onErr);
  });
}

export interface VideoFrames {
  frames: Array<{ time: number; image: RgbImage; canvas: HTMLCanvasElement }>;
  durationSeconds: number;
}

/**
 * Frames at `fps` (2 per second, as the Node pipeline) — at most `maxFrames`, spread over the whole
 * video when it is longer — by seeking a <video> (the one on the page) and drawing it on a canvas.
 */
export async function videoFrames(
  video: HTMLVideoElement,
  url: string,
  name: string,
  size: number,
  o: { fps?: number; maxFrames?: number } = {},
): Promise<VideoFrames> {
  const fps = o.fps ?? 2;
  const maxFrames = o.maxFrames ?? 16;
  video.preload = 'auto';
  video.muted = true;
  const loaded = once(video, 'loadeddata', 20_000, `“${name}”`);
  video.src = url;
  video.load();
  await loaded;
  const duration = Number.isFinite(video.duration) && video.duration > 0 ? video.duration : 0;
  if (video.videoWidth === 0 || video.videoHeight === 0) throw new MediaError(`“${name}” has no picture (an audio-only file?).`);
  let times = Array.from({ length: Math.max(1, Math.floor(duration * fps)) }, (_, i) => i / fps);
  if (times.length > maxFrames) times = Array.from({ length: maxFrames }, (_, i) => (i * duration) / maxFrames);
  const frames: VideoFrames['frames'] = [];
  for (const t of times) {
    const seeked = once(video, 'seeked', 10_000, `“${name}” at ${t.toFixed(1)} s`);
    video.currentTime = Math.min(t, Math.max(0, duration - 0.01));
    await seeked;
    frames.push({ time: t, ...cropToRgb(video, video.videoWidth, video.videoHeight, size) });
  }
  video.currentTime = 0;
  return { frames, durationSeconds: duration };
}
