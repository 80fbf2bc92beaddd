/**
 * The whole algorithm (thesis Fig. 12): image or video in → cat/dog label → Top prior → Bottom prior
 * → codec decoder → 4 kHz waveform out; for a video, enough 7.2-s clips to cover it, joined with
 * short crossfades, and the video with the new sound track muxed in.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { runFfmpeg } from '../audio/ffmpeg';
import { resample } from '../audio/resample';
import { writeWav } from '../audio/wav';
import type { SamplingOptions } from '../sample/strategy';
import { InputError } from '../util/errors';
import { CatDogClassifier, CLASS_NAMES, type VideoPrediction } from '../vision/classifier';
import { isImageFile, isVideoFile, probeMedia } from '../vision/media';
import { defaultClassifier, shippedPath } from './models';
import { disposeSoundModels, loadSoundModels, soundForClass, type SoundModels } from './sound';

export interface GenerateOptions extends SamplingOptions {
  input: string;
  /** .wav (any input) or .mp4 (video input: the video with the generated track). */
  out: string;
  /** Skip the classifier. */
  className?: string;
  models?: { codec?: string; top?: string; bottom?: string; classifier?: string | null };
  fps?: number;
  vote?: 'median' | 'mean';
  crossfadeSeconds?: number;
  /** Reuse loaded models across calls. */
  loaded?: { sound?: SoundModels; classifier?: CatDogClassifier };
}

export interface GenerateResult {
  out: string;
  label: number;
  className: string;
  /** Classifier confidence (null with --class). */
  confidence: number | null;
  labelSource: string;
  video: VideoPrediction | null;
  clips: number;
  seconds: number;
  sampleRate: number;
  timings: { load: number; classify: number; top: number; bottom: number; decode: number; write: number; total: number };
}

/** Join equal-length clips with equal-power crossfades of `fade` samples. */
export function joinWithCrossfades(clips: readonly Float32Array[], fade: number): Float32Array {
  if (clips.length === 0) return new Float32Array(0);
  const len = (clips[0] as Float32Array).length;
  const f = Math.max(0, Math.min(fade, Math.floor(len / 2)));
  const out = new Float32Array(clips.length * len - (clips.length - 1) * f);
  clips.forEach((c, k) => {
    const start = k * (len - f);
    for (let i = 0; i < len; i++) {
      let g = 1;
      if (k > 0 && i < f) g = Math.sin((Math.PI / 2) * ((i + 0.5) / f));
      if (k < clips.length - 1 && i >= len - f) g *= Math.cos((Math.PI / 2) * ((i - (len - f) + 0.5) / f));
      out[start + i] = out[start + i] + g * c[i];
    }
  });
  return out;
}

async function tempPathBeside(out: string, ext: string): Promise<string> {
  await fsp.mkdir(path.dirname(path.resolve(out)), { recursive: true });
  return path.join(path.dirname(path.resolve(out)), `.${path.basename(out)}.${process.pid}.${randomBytes(3).toString('hex')}.tmp${ext}`);
}

export async function generate(request: GenerateOptions): Promise<GenerateResult> {
  const t0 = performance.now();
  const outExt = path.extname(request.out).toLowerCase();
  const image = isImageFile(request.input);
  const video = !image && isVideoFile(request.input);
  if (!image && !video)
    throw new InputError(request.input, 'unsupported-format', `is neither an image (.jpg .jpeg .png .webp) nor a video (.mp4 .mov .mkv .webm .avi .m4v)`);
  if (outExt !== '.wav' && outExt !== '.mp4') throw new InputError(request.out, 'bad-argument', 'the output must be a .wav or an .mp4 file');
  if (outExt === '.mp4' && !video) throw new InputError(request.out, 'bad-argument', 'an .mp4 output needs a video input (the sound track is muxed into it)');
  if (request.className !== undefined && !(CLASS_NAMES as readonly string[]).includes(request.className))
    throw new InputError(request.input, 'bad-argument', `unknown class '${request.className}' (choose ${CLASS_NAMES.join(' or ')})`);
  const info = video ? await probeMedia(request.input) : null;
  if (video && !info?.video) throw new InputError(request.input, 'no-audio-stream', 'has no video stream');
  if (video && !(info?.durationSeconds && info.durationSeconds > 0)) throw new InputError(request.input, 'empty', 'the video has zero length');

  // models
  const tl = performance.now();
  const sound =
    request.loaded?.sound ??
    (await loadSoundModels({
      codec: request.models?.codec ?? shippedPath('codec'),
      top: request.models?.top ?? shippedPath('top'),
      bottom: request.models?.bottom ?? shippedPath('bottom'),
    }));
  let classifier = request.loaded?.classifier ?? null;
  try {
    if (!classifier && request.className === undefined) {
      const head = request.models?.classifier === undefined ? await defaultClassifier() : request.models.classifier;
      classifier = await CatDogClassifier.load(head);
    }
    const load = (performance.now() - tl) / 1000;

    // label
    const tc = performance.now();
    let label: number;
    let confidence: number | null = null;
    let videoPrediction: VideoPrediction | null = null;
    let labelSource: string;
    if (request.className !== undefined) {
      label = CLASS_NAMES.indexOf(request.className as (typeof CLASS_NAMES)[number]);
      labelSource = '--class';
    } else if (image) {
      const p = await (classifier as CatDogClassifier).classifyImage(request.input);
      label = p.label;
      confidence = p.probability;
      labelSource = (classifier as CatDogClassifier).mode;
    } else {
      videoPrediction = await (classifier as CatDogClassifier).classifyVideo(request.input, {
        ...(request.fps ? { fps: request.fps } : {}),
        vote: request.vote ?? 'median',
      });
      label = videoPrediction.label;
      confidence = videoPrediction.probability;
      labelSource = `${(classifier as CatDogClassifier).mode}, ${videoPrediction.vote} of ${videoPrediction.frames.length} frames`;
    }
    const classify = (performance.now() - tc) / 1000;

    // sound
    const sr = sound.codec.config.sampleRate;
    const clipSeconds = sound.codec.config.clipSamples / sr;
    const fade = Math.round((request.crossfadeSeconds ?? 0.25) * sr);
    const wanted = video ? (info?.durationSeconds as number) : clipSeconds;
    const n = Math.max(1, Math.ceil((wanted * sr - fade) / (sound.codec.config.clipSamples - fade)));
    const { crossfadeSeconds: _c, input: _i, out: _o, className: _n, models: _m, fps: _f, vote: _v, loaded: _l, ...sampling } = request;
    const r = await soundForClass(sound, label, { ...sampling, clips: n });
    let audio = joinWithCrossfades(r.clips, fade);
    if (video) audio = audio.slice(0, Math.round(wanted * sr));

    // write (temp file + rename: no partial output)
    const tw = performance.now();
    if (outExt === '.wav') await writeWav(request.out, audio, sr, 'pcm16');
    else {
      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'soundtrack-mux-'));
      const tmp = await tempPathBeside(request.out, '.mp4');
      try {
        // 4 kHz AAC is refused by common players: upsample to 16 kHz first (anti-aliased)
        const wav = path.join(dir, 'track.wav');
        await writeWav(wav, resample(audio, sr, 16000), 16000, 'pcm16');
        await runFfmpeg(
          [
            '-loglevel',
            'error',
            '-y',
            '-i',
            request.input,
            '-i',
            wav,
            '-map',
            '0:v:0',
            '-map',
            '1:a:0',
            '-c:v',
            'copy',
            '-c:a',
            'aac',
            '-b:a',
            '96k',
            '-shortest',
            '-movflags',
            '+faststart',
            tmp,
          ],
          request.input,
        );
        await fsp.rename(tmp, request.out);
      } finally {
        await fsp.rm(dir, { recursive: true, force: true });
        await fsp.rm(tmp, { force: true });
      }
    }
    const write = (performance.now() - tw) / 1000;
    return {
      out: request.out,
      label,
      className: CLASS_NAMES[label] as string,
      confidence,
      labelSource,
      video: videoPrediction,
      clips: n,
      seconds: audio.length / sr,
      sampleRate: sr,
      timings: {
        load,
        classify,
        top: r.timings.topSeconds,
        bottom: r.timings.bottomSeconds,
        decode: r.timings.decodeSeconds,
        write,
        total: (performance.now() - t0) / 1000,
      },
    };
  } finally {
    if (!request.loaded?.sound) disposeSoundModels(sound);
    if (!request.loaded?.classifier) classifier?.dispose();
  }
}
