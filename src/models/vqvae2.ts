/**
 * VQ-VAE-2 (Razavi et al. 2019) in one dimension, as the thesis uses it on raw 4 kHz audio, plus
 * the single-level VQ-VAE — one file, readable top to bottom, after rosinality's vqvae.py.
 *
 *   bottom encoder: n stride-2 convs (×2ⁿ), conv, residual stack, ReLU      x → h_b
 *   top encoder:    m stride-2 convs (×2ᵐ more), conv, residual stack, ReLU  h_b → h_t
 *   top codebook:   quantise conv1x1(h_t)                                      → e_t (top codes)
 *   top decoder:    conv, residual stack, m transposed convs                 e_t → d_t (bottom rate)
 *   bottom codebook: quantise conv1x1([d_t, h_b])                             → e_b (bottom codes)
 *   decoder:        [upsample(e_t), e_b] → conv, residual stack, n transposed convs → x̂
 *   loss = ‖x − x̂‖² + Σ_levels (‖sg(z) − e‖² + β‖z − sg(e)‖²)
 *
 * Residual stack: for each dilation d, x ← x + conv1x1(ReLU(conv3_d(ReLU(x)))), padding = d
 * (the thesis: 7 layers, dilations 1, 2, 3, 6, 9, 18, 27).
 * The single-level VQ-VAE drops the top level: encoder → codebook → decoder.
 * Inputs are [batch, time, channels]: raw audio has 1 channel, log-mel spectrograms 64.
 */
import * as tf from '@tensorflow/tfjs';
import { Codebook, type CodebookConfig } from './codebook';
import { convLayer, convTransposeLayer, Params, relu, residualLayer, sequential, type Layer } from './nn';

export interface VqVaeConfig {
  /** Input/output channels (1 for raw audio, the number of mel bands for spectrograms). */
  inChannels: number;
  /** Hidden width of encoders and decoders. */
  channels: number;
  /** Width inside the residual layers. */
  resChannels: number;
  /** Dilations of the residual stack's layers. */
  dilations: number[];
  /** Stride-2 convolutions from the input to the bottom level (3 → ×8). */
  bottomDownsamples: number;
  /** Further stride-2 convolutions to the top level (2 → ×4 more); 0 = single-level VQ-VAE. */
  topDownsamples: number;
  codebook: CodebookConfig;
  seed: number;
}

export interface VqVaeOutput {
  reconstruction: tf.Tensor3D;
  loss: tf.Scalar;
  recon: tf.Scalar;
  codebookLoss: tf.Scalar;
  commitLoss: tf.Scalar;
  /** Code indices per level, int32 [batch, time]: top first when there is one. */
  codes: { top: tf.Tensor2D | null; bottom: tf.Tensor2D };
  /** Encoder outputs per level, for EMA codebook updates. */
  flat: { top: tf.Tensor2D | null; bottom: tf.Tensor2D };
}

/** x ← x + conv1x1(ReLU(conv3_d(ReLU(x)))) for each dilation d. */
function residualStack(p: Params, name: string, channels: number, resChannels: number, dilations: number[]): Layer {
  // the ReLUs ride on the convolutions' inputs; on webgpu each layer is one fused op (ops/residual-webgpu.ts)
  return sequential(...dilations.map((d, i) => residualLayer(p, `${name}.${i}`, channels, resChannels, d)));
}

// A ReLU before a (transposed) conv rides on the conv's input (folded into the fused kernels on webgpu).
const down = (p: Params, name: string, cin: number, cout: number, inputRelu: boolean) =>
  convLayer(p, name, cin, cout, { kernel: 4, stride: 2, padding: 1, inputRelu });
const up = (p: Params, name: string, cin: number, cout: number, inputRelu: boolean) =>
  convTransposeLayer(p, name, cin, cout, { kernel: 4, stride: 2, padding: 1, inputRelu });

/** n stride-2 convs (the first to half width when n > 1), a 3-tap conv, the residual stack, ReLU. */
function encoder(p: Params, name: string, cin: number, cfg: VqVaeConfig, n: number): Layer {
  const half = Math.floor(cfg.channels / 2);
  const layers: Layer[] = [];
  for (let i = 0; i < n; i++) {
    const from = i === 0 ? cin : i === 1 ? half : cfg.channels;
    const to = i === 0 && n > 1 ? half : cfg.channels;
    layers.push(down(p, `${name}.down${i}`, from, to, i > 0)); // ReLU between the downsamplings
  }
  // no ReLU right before the 3-tap conv (as rosinality's Encoder)
  layers.push(convLayer(p, `${name}.conv`, cfg.channels, cfg.channels, { kernel: 3, padding: 1 }));
  layers.push(residualStack(p, `${name}.res`, cfg.channels, cfg.resChannels, cfg.dilations), relu);
  return sequential(...layers);
}

/** A 3-tap conv, the residual stack, ReLU, then n transposed convs (×2ⁿ) down to `cout` channels. */
function decoder(p: Params, name: string, cin: number, cout: number, cfg: VqVaeConfig, n: number): Layer {
  const half = Math.floor(cfg.channels / 2);
  const widths = n === 1 ? [cfg.channels, cout] : [cfg.channels, ...Array<number>(n - 2).fill(cfg.channels), half, cout];
  const layers: Layer[] = [convLayer(p, `${name}.conv`, cin, cfg.channels, { kernel: 3, padding: 1 })];
  layers.push(residualStack(p, `${name}.res`, cfg.channels, cfg.resChannels, cfg.dilations));
  // ReLU after the residual stack and between the upsamplings: on each transposed conv's input
  for (let i = 0; i < n; i++) layers.push(up(p, `${name}.up${i}`, widths[i] as number, widths[i + 1] as number, true));
  return sequential(...layers);
}

export class VqVae {
  readonly config: VqVaeConfig;
  readonly params: Params;
  readonly top: Codebook | null;
  readonly bottom: Codebook;
  private readonly encBottom: Layer;
  private readonly encTop: Layer | null;
  private readonly quantConvTop: Layer | null;
  private readonly decTop: Layer | null;
  private readonly quantConvBottom: Layer;
  private readonly upsampleTop: Layer | null;
  private readonly dec: Layer;

  constructor(cfg: VqVaeConfig) {
    this.config = cfg;
    const p = new Params(cfg.seed);
    this.params = p;
    const D = cfg.codebook.dim;
    const C = cfg.channels;
    const m = cfg.topDownsamples;
    this.encBottom = encoder(p, 'enc_b', cfg.inChannels, cfg, cfg.bottomDownsamples);
    if (m > 0) {
      this.encTop = encoder(p, 'enc_t', C, cfg, m);
      this.quantConvTop = convLayer(p, 'quantize_conv_t', C, D, { kernel: 1 });
      this.top = new Codebook(p, 'codebook_t', cfg.codebook);
      this.decTop = decoder(p, 'dec_t', D, D, cfg, m);
      this.quantConvBottom = convLayer(p, 'quantize_conv_b', D + C, D, { kernel: 1 });
      const ups: Layer[] = [];
      for (let i = 0; i < m; i++) ups.push(up(p, `upsample_t.up${i}`, D, D, i > 0));
      this.upsampleTop = sequential(...ups);
    } else {
      this.encTop = null;
      this.quantConvTop = null;
      this.top = null;
      this.decTop = null;
      this.upsampleTop = null;
      this.quantConvBottom = convLayer(p, 'quantize_conv_b', C, D, { kernel: 1 });
    }
    this.bottom = new Codebook(p, 'codebook_b', cfg.codebook);
    this.dec = decoder(p, 'dec', m > 0 ? 2 * D : D, cfg.inChannels, cfg, cfg.bottomDownsamples);
  }

  /** Time steps per code at the bottom and top levels. */
  get hop(): { bottom: number; top: number | null } {
    const b = 2 ** this.config.bottomDownsamples;
    return { bottom: b, top: this.top ? b * 2 ** this.config.topDownsamples : null };
  }

  /** Full forward pass with losses (call inside the gradient tape when training). */
  forward(x: tf.Tensor3D): VqVaeOutput {
    const hb = this.encBottom(x);
    let zb: tf.Tensor3D;
    let qt: ReturnType<Codebook['quantize']> | null = null;
    if (this.top && this.encTop && this.quantConvTop && this.decTop) {
      const ht = this.encTop(hb);
      qt = this.top.quantize(this.quantConvTop(ht));
      const dt = this.decTop(qt.quantized);
      zb = this.quantConvBottom(tf.concat([dt, hb], 2));
    } else {
      zb = this.quantConvBottom(hb);
    }
    const qb = this.bottom.quantize(zb);
    const reconstruction = this.decodeLatents(qt ? qt.quantized : null, qb.quantized);
    const recon = tf.mean(tf.square(tf.sub(reconstruction, x))) as tf.Scalar;
    const codebookLoss = (qt ? tf.add(qt.codebookLoss, qb.codebookLoss) : qb.codebookLoss) as tf.Scalar;
    const commitLoss = (qt ? tf.add(qt.commitLoss, qb.commitLoss) : qb.commitLoss) as tf.Scalar;
    const latent = qt ? tf.add(qt.loss, qb.loss) : qb.loss;
    return {
      reconstruction,
      loss: tf.add(recon, latent) as tf.Scalar,
      recon,
      codebookLoss,
      commitLoss,
      codes: { top: qt ? qt.codes : null, bottom: qb.codes },
      flat: { top: qt ? qt.flat : null, bottom: qb.flat },
    };
  }

  private decodeLatents(top: tf.Tensor3D | null, bottom: tf.Tensor3D): tf.Tensor3D {
    if (top && this.upsampleTop) return this.dec(tf.concat([this.upsampleTop(top), bottom], 2));
    return this.dec(bottom);
  }

  /** Code indices for inputs (no gradient). */
  encode(x: tf.Tensor3D): { top: tf.Tensor2D | null; bottom: tf.Tensor2D } {
    const kept = tf.tidy(() => {
      const { top, bottom } = this.forward(x).codes;
      return top ? [top, bottom] : [bottom];
    });
    return kept.length === 2 ? { top: kept[0] as tf.Tensor2D, bottom: kept[1] as tf.Tensor2D } : { top: null, bottom: kept[0] as tf.Tensor2D };
  }

  /** Continuous (pre-quantisation) latents per level, for PCA of the latent space. */
  latents(x: tf.Tensor3D): { top: tf.Tensor3D | null; bottom: tf.Tensor3D } {
    const kept = tf.tidy(() => {
      const hb = this.encBottom(x);
      if (this.top && this.encTop && this.quantConvTop && this.decTop) {
        const zt = this.quantConvTop(this.encTop(hb));
        const [b, t] = zt.shape;
        const ids = this.top.nearest(tf.reshape(zt, [b * t, this.config.codebook.dim]) as tf.Tensor2D);
        const qt = this.top.lookup(tf.reshape(ids, [b, t]) as tf.Tensor2D);
        return [zt, this.quantConvBottom(tf.concat([this.decTop(qt), hb], 2))];
      }
      return [this.quantConvBottom(hb)];
    });
    return kept.length === 2 ? { top: kept[0] as tf.Tensor3D, bottom: kept[1] as tf.Tensor3D } : { top: null, bottom: kept[0] as tf.Tensor3D };
  }

  /** Decode code indices to the output (audio samples or spectrogram frames). */
  decodeCodes(codes: { top: tf.Tensor2D | null; bottom: tf.Tensor2D }): tf.Tensor3D {
    return tf.tidy(() => {
      const qb = this.bottom.lookup(codes.bottom);
      if (this.top) {
        if (!codes.top) throw new Error('this VQ-VAE-2 needs top codes to decode');
        return this.decodeLatents(this.top.lookup(codes.top), qb);
      }
      return this.decodeLatents(null, qb);
    });
  }

  codebooks(): Codebook[] {
    return this.top ? [this.top, this.bottom] : [this.bottom];
  }

  dispose(): void {
    this.params.dispose();
  }
}
