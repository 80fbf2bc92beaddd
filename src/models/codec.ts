/**
 * A codec = a VQ-VAE(-2) plus its front end: raw samples in and out, or normalised log-mel
 * spectrograms in and out (turned back into audio by Griffin–Lim), so every codec is compared as audio.
 */
import * as tf from '@tensorflow/tfjs';
import { logMelSpectrogram, logMelToAudio } from '../audio/mel';
import { codeStats } from './codebook';
import type { CodecConfig } from './presets';
import { VqVae } from './vqvae2';

export interface Codes {
  /** [clips][topLength] or null for single-level codecs. */
  top: Int32Array[] | null;
  bottom: Int32Array[];
}

export class Codec {
  readonly config: CodecConfig;
  readonly model: VqVae;

  constructor(config: CodecConfig) {
    this.config = config;
    this.model = new VqVae(config.vqvae);
  }

  get params() {
    return this.model.params;
  }

  /** Code positions per clip at each level. */
  get codeLengths(): { top: number | null; bottom: number } {
    const steps = this.config.frontEnd.type === 'raw' ? this.config.clipSamples : this.config.frontEnd.frames;
    const hop = this.model.hop;
    return { bottom: steps / hop.bottom, top: hop.top ? steps / hop.top : null };
  }

  /** Network input for fixed-length clips: [batch, samples, 1] or [batch, frames, mels]. */
  toInput(clips: readonly Float32Array[]): tf.Tensor3D {
    const n = this.config.clipSamples;
    for (const c of clips) if (c.length !== n) throw new Error(`codec input clips must have ${n} samples, got ${c.length}`);
    const fe = this.config.frontEnd;
    if (fe.type === 'raw') {
      const buf = new Float32Array(clips.length * n);
      clips.forEach((c, i) => buf.set(c, i * n));
      return tf.tensor3d(buf, [clips.length, n, 1]);
    }
    const m = fe.mel.nMels;
    const buf = new Float32Array(clips.length * fe.frames * m);
    clips.forEach((c, i) => {
      const lm = logMelSpectrogram(c, fe.mel);
      for (let k = 0; k < fe.frames * m; k++) buf[i * fe.frames * m + k] = (lm.data[k] - fe.offset) / fe.scale;
    });
    return tf.tensor3d(buf, [clips.length, fe.frames, m]);
  }

  /** Audio from network output (identity for raw; de-normalise + Griffin–Lim for spectrograms). */
  async toAudio(output: tf.Tensor3D): Promise<Float32Array[]> {
    const data = (await output.data()) as Float32Array;
    const [b, t, c] = output.shape;
    const fe = this.config.frontEnd;
    const clips: Float32Array[] = [];
    for (let i = 0; i < b; i++) {
      const part = data.subarray(i * t * c, (i + 1) * t * c);
      if (fe.type === 'raw') {
        clips.push(Float32Array.from(part));
        continue;
      }
      // one more frame than the network sees (the STFT of 28,800 samples has 481): repeat the last
      const frames = fe.frames + 1;
      const lm = new Float32Array(frames * c);
      for (let k = 0; k < t * c; k++) lm[k] = part[k] * fe.scale + fe.offset;
      lm.set(lm.subarray((t - 1) * c, t * c), t * c);
      clips.push(logMelToAudio({ frames, bins: c, data: lm }, this.config.clipSamples, fe.mel, { iterations: fe.griffinLimIterations }));
    }
    return clips;
  }

  /** Encode clips to code indices (in batches). */
  encode(clips: readonly Float32Array[], batchSize = 8): Codes {
    const top: Int32Array[] = [];
    const bottom: Int32Array[] = [];
    for (let i = 0; i < clips.length; i += batchSize) {
      const x = this.toInput(clips.slice(i, i + batchSize));
      const codes = this.model.encode(x);
      const split = (t: tf.Tensor2D, out: Int32Array[]) => {
        const d = t.dataSync() as Int32Array;
        const [n, len] = t.shape;
        for (let k = 0; k < n; k++) out.push(Int32Array.from(d.subarray(k * len, (k + 1) * len)));
      };
      split(codes.bottom, bottom);
      if (codes.top) split(codes.top, top);
      tf.dispose([x, codes.bottom, codes.top ?? []]);
    }
    return { top: this.model.top ? top : null, bottom };
  }

  /** Decode code indices to audio clips. */
  async decode(codes: Codes, batchSize = 8): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    const lens = this.codeLengths;
    for (let i = 0; i < codes.bottom.length; i += batchSize) {
      const n = Math.min(batchSize, codes.bottom.length - i);
      const pack = (rows: Int32Array[], len: number) => {
        const buf = new Int32Array(n * len);
        for (let k = 0; k < n; k++) {
          const r = rows[i + k] as Int32Array;
          if (r.length !== len) throw new Error(`expected ${len} codes per clip, got ${r.length}`);
          buf.set(r, k * len);
        }
        return tf.tensor2d(buf, [n, len], 'int32');
      };
      const b = pack(codes.bottom, lens.bottom);
      const t = codes.top && lens.top ? pack(codes.top, lens.top) : null;
      const y = this.model.decodeCodes({ top: t, bottom: b });
      out.push(...(await this.toAudio(y)));
      tf.dispose([b, t ?? [], y]);
    }
    return out;
  }

  /** Encode and decode (what the codec makes of the clips). */
  async reconstruct(clips: readonly Float32Array[], batchSize = 8): Promise<Float32Array[]> {
    return this.decode(this.encode(clips, batchSize), batchSize);
  }

  /** Code usage over a set of codes. */
  usage(codes: Codes): { top: ReturnType<typeof codeStats> | null; bottom: ReturnType<typeof codeStats> } {
    const flat = (rows: Int32Array[]) => {
      const all = new Int32Array(rows.reduce((a, r) => a + r.length, 0));
      let at = 0;
      for (const r of rows) {
        all.set(r, at);
        at += r.length;
      }
      return all;
    };
    const size = this.config.vqvae.codebook.size;
    return { top: codes.top ? codeStats(flat(codes.top), size) : null, bottom: codeStats(flat(codes.bottom), size) };
  }

  dispose(): void {
    this.model.dispose();
  }
}
