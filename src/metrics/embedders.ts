/**
 * Audio embedders for FAD. FAD compares distributions of embeddings of short windows of audio.
 *
 * `mel-stats-v1` (built in, deterministic, no download): each clip (4 kHz) is cut into 0.96-s
 * windows with a 0.48-s hop (the windowing VGGish uses); for each window, the 32-band log-mel
 * spectrogram (256-point FFT, hop 64, Slaney mel 0–2 kHz, log(max(mel, 1e-5))) is summarised by the
 * mean and the standard deviation of each band over the window's frames → a 64-dim embedding.
 * It measures spectral envelope and its variation; it is not a learned embedding, so its FAD values
 * are comparable only with other FADs computed with it.
 *
 * `onnx`: any embedding network exported to ONNX (VGGish, PANNs, …), run with onnxruntime-node
 * (an optional dependency). The model takes waveform windows [1, samples] at its own sample rate
 * (our 4 kHz clips are resampled with the anti-aliasing resampler) and returns [1, dim] or [dim]
 * per window; or log-mel windows when `input: 'logmel'`.
 */
import { resample } from '../audio/resample';
import { DEFAULT_MEL, logMelSpectrogram, type MelConfig } from '../audio/mel';
import { SAMPLE_RATE } from '../audio/constants';
import { InputError } from '../util/errors';

export interface Embedder {
  /** Name printed beside every FAD. */
  readonly name: string;
  /** Embeddings of all windows of all clips (4 kHz mono). */
  embed(clips: readonly Float32Array[]): Promise<Float32Array[]>;
}

export interface Windowing {
  windowSeconds: number;
  hopSeconds: number;
}

export const VGGISH_WINDOWS: Windowing = { windowSeconds: 0.96, hopSeconds: 0.48 };

/** Cut a clip into windows (the last partial window is dropped; a clip shorter than one window gives one zero-padded window). */
export function windows(clip: Float32Array, sampleRate: number, w: Windowing): Float32Array[] {
  const len = Math.round(w.windowSeconds * sampleRate);
  const hop = Math.round(w.hopSeconds * sampleRate);
  if (clip.length <= len) {
    const out = new Float32Array(len);
    out.set(clip);
    return [out];
  }
  const out: Float32Array[] = [];
  for (let start = 0; start + len <= clip.length; start += hop) out.push(clip.subarray(start, start + len));
  return out;
}

const MEL_STATS: MelConfig = { ...DEFAULT_MEL, nMels: 32 };

export const melStatsEmbedder: Embedder = {
  name: 'mel-stats-v1 (32-band log-mel mean+std per 0.96-s window, 64 dims)',
  async embed(clips) {
    const out: Float32Array[] = [];
    for (const clip of clips) {
      for (const win of windows(clip, SAMPLE_RATE, VGGISH_WINDOWS)) {
        const m = logMelSpectrogram(win, MEL_STATS);
        const e = new Float32Array(2 * m.bins);
        for (let b = 0; b < m.bins; b++) {
          let s = 0;
          let s2 = 0;
          for (let t = 0; t < m.frames; t++) {
            const v = m.data[t * m.bins + b];
            s += v;
            s2 += v * v;
          }
          const mean = s / m.frames;
          e[b] = mean;
          e[m.bins + b] = Math.sqrt(Math.max(0, s2 / m.frames - mean * mean));
        }
        out.push(e);
      }
    }
    return out;
  },
};

export interface OnnxEmbedderOptions {
  /** Sample rate the network expects (VGGish 16000, PANNs 32000). */
  sampleRate: number;
  windowing?: Windowing;
  /** 'waveform': [1, samples]; 'logmel': [1, frames, mels] of the given mel config. */
  input?: 'waveform' | 'logmel';
  mel?: MelConfig;
  /** Output to read (default: the first). */
  outputName?: string;
}

interface OrtTensor {
  data: Float32Array;
  dims: readonly number[];
}
interface OrtModule {
  InferenceSession: { create(path: string): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => OrtTensor;
}
interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
}

/** Load an ONNX embedding network (path given by the user). */
export async function loadOnnxEmbedder(file: string, options: OnnxEmbedderOptions): Promise<Embedder> {
  let ort: OrtModule;
  try {
    // a variable specifier: the type check must not need the optional package (OrtModule above is its type)
    const pkg = 'onnxruntime-node';
    const mod = (await import(pkg)) as unknown as OrtModule & { default?: OrtModule };
    ort = mod.InferenceSession ? mod : (mod.default as OrtModule);
  } catch (e) {
    throw new InputError(
      file,
      'bad-argument',
      `the ONNX embedder needs the optional package onnxruntime-node (npm install onnxruntime-node): ${(e as Error).message}`,
    );
  }
  let session: OrtSession;
  try {
    session = await ort.InferenceSession.create(file);
  } catch (e) {
    const msg = (e as Error).message;
    throw new InputError(
      file,
      /no such file|not found|ENOENT|doesn't exist/i.test(msg) ? 'not-found' : 'decode-failed',
      `cannot load the ONNX model: ${msg.split('\n')[0]}`,
    );
  }
  const inputName = session.inputNames[0] as string;
  const outputName = options.outputName ?? (session.outputNames[0] as string);
  const w = options.windowing ?? VGGISH_WINDOWS;
  const kind = options.input ?? 'waveform';
  return {
    name: `onnx:${file.split('/').pop()} (${kind} @ ${options.sampleRate} Hz, ${w.windowSeconds}-s windows)`,
    async embed(clips) {
      const out: Float32Array[] = [];
      for (const clip of clips) {
        const up = resample(clip, SAMPLE_RATE, options.sampleRate);
        for (const win of windows(up, options.sampleRate, w)) {
          let tensor: OrtTensor;
          if (kind === 'waveform') tensor = new ort.Tensor('float32', Float32Array.from(win), [1, win.length]);
          else {
            const m = logMelSpectrogram(win, options.mel ?? { ...DEFAULT_MEL, sampleRate: options.sampleRate, fMax: options.sampleRate / 2 });
            tensor = new ort.Tensor('float32', m.data, [1, m.frames, m.bins]);
          }
          const res = await session.run({ [inputName]: tensor });
          const y = res[outputName];
          if (!y) throw new InputError(file, 'bad-argument', `the model has no output '${outputName}'`);
          out.push(Float32Array.from(y.data));
        }
      }
      return out;
    },
  };
}
