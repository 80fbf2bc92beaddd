/**
 * The whole algorithm (thesis Fig. 12): image or video in → cat/dog label → a sound generator
 * (default: the log-mel flow generator; or the thesis' Top prior → Bottom prior → codec decoder) →
 * 4 kHz waveform out; for a video, enough 7.2-s clips to cover it, joined with short crossfades, and
 * the video with the new sound track muxed in. With a class and no input: just the sound.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runFfmpeg } from '../audio/ffmpeg';
import { resample } from '../audio/resample';
import { encodeWav, writeWav } from '../audio/wav';
import { DEFAULT_SAMPLING } from '../sample/strategy';
import { InputError } from '../util/errors';
import { checkOutput, writeOutput, writeOutputBytes } from '../util/output';
import { CatDogClassifier, CLASS_NAMES, type VideoPrediction } from '../vision/classifier';
import { looksLikeImage } from '../vision/image-header';
import { isImageFile, isVideoFile, probeMedia, readImage, readVideoFrames } from '../vision/media';
import { defaultClassifier } from './models';
import { loadGenerator, type GenerateSoundOptions, type GeneratorKind, type SoundGenerator } from './generators';

export interface GenerateOptions extends GenerateSoundOptions {
  /** Image or video; optional when `className` is given. */
  input?: string;
  /** .wav (any input) or .mp4 (video input: the video with the generated track). */
  out: string;
  /** Skip the classifier. */
  className?: string;
  /** Which sound generator (default 'mel-flow'). */
  generator?: GeneratorKind;
  models?: { generator?: string; late?: string; codec?: string; top?: string; bottom?: string; classifier?: string | null };
  fps?: number;
  vote?: 'median' | 'mean';
  crossfadeSeconds?: number;
  /** Reuse loaded models across calls. */
  loaded?: { generator?: SoundGenerator; classifier?: CatDogClassifier };
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
  generator: GeneratorKind;
  /** Seconds: load, classify, each generator stage (flow/compose/vocoder or top/bottom/decode), write, total. */
  timings: Record<string, number>;
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
      out[start + i] = (out[start + i] as number) + g * (c[i] as number);
    }
  });
  return out;
}

export async function generate(o: GenerateOptions): Promise<GenerateResult> {
  const t0 = performance.now();
  const outExt = path.extname(o.out).toLowerCase();
  const input = o.input;
  if (input === undefined && o.className === undefined) throw new InputError(o.out, 'bad-argument', 'needs an --input image or video, or a --class');
  const image = input !== undefined && (isImageFile(input) || (!isVideoFile(input) && (await looksLikeImage(input))));
  const video = input !== undefined && !image && isVideoFile(input);
  if (input !== undefined && !image && !video)
    throw new InputError(input, 'unsupported-format', `is neither an image (.jpg .jpeg .png .webp) nor a video (.mp4 .mov .mkv .webm .avi .m4v)`);
  if (outExt !== '.wav' && outExt !== '.mp4') throw new InputError(o.out, 'bad-argument', 'the output must be a .wav or an .mp4 file');
  if (outExt === '.mp4' && !video) throw new InputError(o.out, 'bad-argument', 'an .mp4 output needs a video input (the sound track is muxed into it)');
  if (o.className !== undefined && !(CLASS_NAMES as readonly string[]).includes(o.className))
    throw new InputError(input ?? o.out, 'bad-argument', `unknown class '${o.className}' (choose ${CLASS_NAMES.join(' or ')})`);
  const info = video ? await probeMedia(input as string) : null;
  if (video && !info?.video) throw new InputError(input as string, 'no-audio-stream', 'has no video stream');
  if (video && !(info?.durationSeconds && info.durationSeconds > 0)) throw new InputError(input as string, 'empty', 'the video has zero length');
  // before any computation: --out is writable and not the input; the input is read even with --class
  await checkOutput(o.out, input !== undefined ? { inputs: [['--input', input]] } : {});
  if (input !== undefined && o.className !== undefined) {
    if (image) await readImage(input, 32);
    else await readVideoFrames(input, { size: 32, maxFrames: 1 });
  }

  // models
  const tl = performance.now();
  const kind = o.loaded?.generator?.kind ?? o.generator ?? 'mel-flow';
  const sound = o.loaded?.generator ?? (await loadGenerator(kind, o.models ?? {}));
  let classifier = o.loaded?.classifier ?? null;
  try {
    if (!classifier && o.className === undefined) {
      const head = o.models?.classifier === undefined ? await defaultClassifier() : o.models.classifier;
      classifier = await CatDogClassifier.load(head);
    }
    const load = (performance.now() - tl) / 1000;

    // label
    const tc = performance.now();
    let label: number;
    let confidence: number | null = null;
    let videoPrediction: VideoPrediction | null = null;
    let labelSource: string;
    if (o.className !== undefined) {
      label = CLASS_NAMES.indexOf(o.className as (typeof CLASS_NAMES)[number]);
      labelSource = '--class';
    } else if (image) {
      const p = await (classifier as CatDogClassifier).classifyImage(input as string);
      label = p.label;
      confidence = p.probability;
      labelSource = (classifier as CatDogClassifier).mode;
    } else {
      videoPrediction = await (classifier as CatDogClassifier).classifyVideo(input as string, { ...(o.fps ? { fps: o.fps } : {}), vote: o.vote ?? 'median' });
      label = videoPrediction.label;
      confidence = videoPrediction.probability;
      labelSource = `${(classifier as CatDogClassifier).mode}, ${videoPrediction.vote} of ${videoPrediction.frames.length} frames`;
    }
    const classify = (performance.now() - tc) / 1000;

    // sound
    const sr = sound.sampleRate;
    const clipSeconds = sound.clipSamples / sr;
    const fade = Math.round((o.crossfadeSeconds ?? 0.25) * sr);
    const wanted = video ? (info?.durationSeconds as number) : clipSeconds;
    const n = Math.max(1, Math.ceil((wanted * sr - fade) / (sound.clipSamples - fade)));
    const { crossfadeSeconds: _c, input: _i, out: _o, className: _n, models: _m, fps: _f, vote: _v, loaded: _l, generator: _g, ...sampling } = o;
    const r = await sound.generate(label, { ...(kind === 'thesis' ? DEFAULT_SAMPLING : {}), ...sampling, clips: n });
    let audio = joinWithCrossfades(r.clips, fade);
    if (video) audio = audio.slice(0, Math.round(wanted * sr));

    // write (temp file + rename: no partial output)
    const tw = performance.now();
    if (outExt === '.wav') await writeOutputBytes(o.out, encodeWav(audio, sr, 'pcm16'));
    else {
      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'soundtrack-mux-'));
      try {
        // 4 kHz AAC is refused by common players: upsample to 16 kHz first (anti-aliased)
        const wav = path.join(dir, 'track.wav');
        await writeWav(wav, resample(audio, sr, 16000), 16000, 'pcm16');
        await writeOutput(
          o.out,
          (tmp) =>
            runFfmpeg(
              [
                '-loglevel',
                'error',
                '-y',
                '-i',
                input as string,
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
                '-f',
                'mp4',
                tmp,
              ],
              o.out,
            ).then(() => undefined),
          { ext: '.mp4' },
        );
      } finally {
        await fsp.rm(dir, { recursive: true, force: true });
      }
    }
    const write = (performance.now() - tw) / 1000;
    return {
      out: o.out,
      label,
      className: CLASS_NAMES[label] as string,
      confidence,
      labelSource,
      video: videoPrediction,
      clips: n,
      seconds: audio.length / sr,
      sampleRate: sr,
      generator: kind,
      timings: { load, classify, ...r.stages, write, total: (performance.now() - t0) / 1000 },
    };
  } finally {
    if (!o.loaded?.generator) sound.dispose();
    if (!o.loaded?.classifier) classifier?.dispose();
  }
}
