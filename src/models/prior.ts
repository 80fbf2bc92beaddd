/**
 * The Top and Bottom priors (thesis §2.3, Table 1): an encoder–decoder transformer laid out as
 * PyTorch's nn.Transformer (post-norm layers, ReLU feed-forward, dropout), with one token embedding
 * shared by encoder and decoder, sinusoidal positions, and a linear output over the vocabulary.
 * Readable top to bottom, after nanoGPT's model.py.
 *
 *   Top prior:    source = [class token]          target = START, 900 top codes
 *   Bottom prior: source = 900 top codes           target = START, 3600 bottom codes
 *
 * Vocabulary: codes 0…K−1, then START = K, PAD = K+1 (also the "no class" token of classifier-free
 * guidance), class c = K+2+c (cat K+2, dog K+3). K = 2048 gives the thesis' 2052 tokens and, with
 * 6 + 12 layers, d_model 100, 4 heads and FF 1024, exactly the thesis' 5,341,084 parameters.
 *
 * Weight layout: linear weights are [in, out] (x·W); PyTorch stores [out, in].
 */
import * as tf from '@tensorflow/tfjs';
import { attention } from '../ops/attention';
import { packedAttentionWebGpu } from '../ops/attention-webgpu';
import { dropoutAddWebGpu } from '../ops/dropout-webgpu';
import { lookupRows } from '../ops/gradient';
import { feedForward } from '../ops/feed-forward';
import { layerNorm } from '../ops/layer-norm';
import { crossEntropy } from '../ops/loss';
import { linear } from '../ops/matmul';
import { fusedWebGpuOps } from '../ops/webgpu-program';
import { Params } from './nn';

export interface PriorConfig {
  format: 'soundtrack-lab/prior';
  version: 1;
  level: 'top' | 'bottom';
  preset: string;
  /** Codebook size K of the codec whose codes this prior models. */
  codes: number;
  /** Number of classes (cat, dog). */
  classes: number;
  dModel: number;
  heads: number;
  encoderLayers: number;
  decoderLayers: number;
  feedForward: number;
  dropout: number;
  /** Source and target lengths (codes per clip at the conditioning and the modelled level). */
  sourceLength: number;
  targetLength: number;
  /** Attention query chunk (memory/speed trade-off of the training attention). */
  attentionChunk: number;
  /**
   * Local attention windows (null = full attention, as the thesis): encoder self-attention (centred),
   * decoder self-attention (the last W positions) and cross-attention (W source positions aligned
   * with the target position). The quick presets use them so CPU training scales with the sequence
   * length instead of its square.
   */
  windows: { encoder: number | null; self: number | null; cross: number | null };
  seed: number;
}

export interface Vocab {
  size: number;
  start: number;
  pad: number;
  /** The "no class" token for classifier-free guidance (= pad). */
  none: number;
  classToken(c: number): number;
}

export function vocabOf(cfg: Pick<PriorConfig, 'codes' | 'classes'>): Vocab {
  const K = cfg.codes;
  return { size: K + 2 + cfg.classes, start: K, pad: K + 1, none: K + 1, classToken: (c) => K + 2 + c };
}

/** Sinusoidal positional encoding [length, d] (Vaswani et al.). */
export function positionalEncoding(length: number, d: number): Float32Array {
  const pe = new Float32Array(length * d);
  for (let pos = 0; pos < length; pos++) {
    for (let i = 0; i < d; i += 2) {
      const angle = pos / 10000 ** (i / d);
      pe[pos * d + i] = Math.sin(angle);
      if (i + 1 < d) pe[pos * d + i + 1] = Math.cos(angle);
    }
  }
  return pe;
}

interface Linear {
  w: tf.Variable;
  b: tf.Variable;
}

/** Deterministic dropout seeds within one forward pass. */
class DropoutSeeds {
  private n = 0;
  constructor(private readonly base: number | null) {}
  next(): number | null {
    return this.base === null ? null : (this.base * 7919 + this.n++ * 104729) % 2147483647;
  }
}

export class Prior {
  readonly config: PriorConfig;
  readonly params: Params;
  readonly vocab: Vocab;
  private readonly pe: tf.Tensor2D;

  constructor(cfg: PriorConfig) {
    if (cfg.dModel % cfg.heads !== 0) throw new Error(`d_model ${cfg.dModel} is not divisible by ${cfg.heads} heads`);
    this.config = cfg;
    this.vocab = vocabOf(cfg);
    const p = new Params(cfg.seed);
    this.params = p;
    const d = cfg.dModel;
    const V = this.vocab.size;
    p.create('embedding.weight', [V, d], { kind: 'uniform', bound: 0.1 });
    for (let i = 0; i < cfg.encoderLayers; i++) {
      const n = `encoder.layers.${i}`;
      this.attnParams(`${n}.self_attn`);
      this.ffParams(n);
      this.normParams(`${n}.norm1`);
      this.normParams(`${n}.norm2`);
    }
    this.normParams('encoder.norm');
    for (let i = 0; i < cfg.decoderLayers; i++) {
      const n = `decoder.layers.${i}`;
      this.attnParams(`${n}.self_attn`);
      this.attnParams(`${n}.multihead_attn`);
      this.ffParams(n);
      this.normParams(`${n}.norm1`);
      this.normParams(`${n}.norm2`);
      this.normParams(`${n}.norm3`);
    }
    this.normParams('decoder.norm');
    p.create('output.weight', [d, V], { kind: 'uniform', bound: 0.1 });
    p.create('output.bias', [V], { kind: 'zeros' });
    this.pe = tf.keep(
      tf.tensor2d(positionalEncoding(Math.max(cfg.sourceLength, cfg.targetLength) + 1, d), [Math.max(cfg.sourceLength, cfg.targetLength) + 1, d]),
    );
  }

  // --- parameters, initialised as nn.Transformer does (Xavier-uniform matrices, zero attention biases) ---

  private xavier(fanIn: number, fanOut: number) {
    return { kind: 'uniform' as const, bound: Math.sqrt(6 / (fanIn + fanOut)) };
  }

  private attnParams(n: string): void {
    const d = this.config.dModel;
    this.params.create(`${n}.in_proj_weight`, [d, 3 * d], this.xavier(d, 3 * d));
    this.params.create(`${n}.in_proj_bias`, [3 * d], { kind: 'zeros' });
    this.params.create(`${n}.out_proj.weight`, [d, d], this.xavier(d, d));
    this.params.create(`${n}.out_proj.bias`, [d], { kind: 'zeros' });
  }

  private ffParams(n: string): void {
    const d = this.config.dModel;
    const f = this.config.feedForward;
    this.params.create(`${n}.linear1.weight`, [d, f], this.xavier(d, f));
    this.params.create(`${n}.linear1.bias`, [f], { kind: 'uniform', bound: 1 / Math.sqrt(d) });
    this.params.create(`${n}.linear2.weight`, [f, d], this.xavier(f, d));
    this.params.create(`${n}.linear2.bias`, [d], { kind: 'uniform', bound: 1 / Math.sqrt(f) });
  }

  private normParams(n: string): void {
    this.params.create(`${n}.weight`, [this.config.dModel], { kind: 'ones' });
    this.params.create(`${n}.bias`, [this.config.dModel], { kind: 'zeros' });
  }

  private lin(n: string): Linear {
    return { w: this.params.get(`${n}.weight`), b: this.params.get(`${n}.bias`) };
  }

  /** x [b, t, in] · W [in, out] + bias */
  private dense(x: tf.Tensor3D, w: tf.Tensor, b: tf.Tensor): tf.Tensor3D {
    const [bs, t, din] = x.shape;
    const y = linear(tf.reshape(x, [bs * t, din]) as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D);
    return tf.reshape(y, [bs, t, w.shape[1] as number]) as tf.Tensor3D;
  }

  /** ops/layer-norm.ts: fused WebGPU kernels on webgpu, the op-by-op reference elsewhere. */
  private layerNorm(x: tf.Tensor3D, n: string): tf.Tensor3D {
    return layerNorm(x, this.params.get(`${n}.weight`) as tf.Tensor1D, this.params.get(`${n}.bias`) as tf.Tensor1D, 1e-5);
  }

  /** (x +) dropout(s); on webgpu one fused op (ops/dropout-webgpu.ts) with tf.dropout's random stream. */
  private dropout(s: tf.Tensor3D, seeds: DropoutSeeds, x: tf.Tensor3D | null = null): tf.Tensor3D {
    const seed = seeds.next();
    if (seed === null || this.config.dropout === 0) return x ? (tf.add(x, s) as tf.Tensor3D) : s;
    if (fusedWebGpuOps()) return dropoutAddWebGpu(x, s, this.config.dropout, seed);
    const d = tf.dropout(s, this.config.dropout, undefined, seed) as tf.Tensor3D;
    return x ? (tf.add(x, d) as tf.Tensor3D) : d;
  }

  /** [b, t, d] → [b·heads, t, d/heads] */
  private splitHeads(x: tf.Tensor3D): tf.Tensor3D {
    const [b, t, d] = x.shape;
    const h = this.config.heads;
    return tf.reshape(tf.transpose(tf.reshape(x, [b, t, h, d / h]), [0, 2, 1, 3]), [b * h, t, d / h]) as tf.Tensor3D;
  }

  private mergeHeads(x: tf.Tensor3D, b: number): tf.Tensor3D {
    const [, t, dh] = x.shape;
    const h = this.config.heads;
    return tf.reshape(tf.transpose(tf.reshape(x, [b, h, t, dh]), [0, 2, 1, 3]), [b, t, h * dh]) as tf.Tensor3D;
  }

  /** Multi-head attention with PyTorch's packed in-projection. Self-attention when kv = x. */
  private mha(n: string, x: tf.Tensor3D, kv: tf.Tensor3D, mask: { causal: boolean; window: number | null; queryLength?: number }): tf.Tensor3D {
    const d = this.config.dModel;
    const w = this.params.get(`${n}.in_proj_weight`);
    const bias = this.params.get(`${n}.in_proj_bias`);
    const out = this.lin(`${n}.out_proj`);
    if (fusedWebGpuOps()) {
      // webgpu: the whole packed projection per sequence, attention straight on it (ops/attention-webgpu.ts)
      const a = this.dense(x, w, bias);
      const attended = packedAttentionWebGpu(a, kv === x ? null : this.dense(kv, w, bias), this.config.heads, mask);
      return this.dense(attended, out.w, out.b);
    }
    const q = this.dense(x, tf.slice(w, [0, 0], [d, d]), tf.slice(bias, [0], [d]));
    const k = this.dense(kv, tf.slice(w, [0, d], [d, d]), tf.slice(bias, [d], [d]));
    const v = this.dense(kv, tf.slice(w, [0, 2 * d], [d, d]), tf.slice(bias, [2 * d], [d]));
    const attended = attention(this.splitHeads(q), this.splitHeads(k), this.splitHeads(v), { ...mask, chunk: this.config.attentionChunk });
    return this.dense(this.mergeHeads(attended, x.shape[0]), out.w, out.b);
  }

  /** linear1 → ReLU → dropout → linear2, as one op that keeps only its input and hidden layer (ops/feed-forward.ts). */
  private feedForward(n: string, x: tf.Tensor3D, seeds: DropoutSeeds): tf.Tensor3D {
    const l1 = this.lin(`${n}.linear1`);
    const l2 = this.lin(`${n}.linear2`);
    const seed = seeds.next();
    const [b, t, d] = x.shape;
    const w = { w1: l1.w as tf.Tensor2D, b1: l1.b as tf.Tensor1D, w2: l2.w as tf.Tensor2D, b2: l2.b as tf.Tensor1D };
    const y = feedForward(tf.reshape(x, [b * t, d]) as tf.Tensor2D, w, seed === null || this.config.dropout === 0 ? null : { rate: this.config.dropout, seed });
    return tf.reshape(y, [b, t, d]) as tf.Tensor3D;
  }

  /** Token embedding × √d + positions, [b, t] int32 → [b, t, d]. */
  private embed(tokens: tf.Tensor2D, seeds: DropoutSeeds): tf.Tensor3D {
    const [b, t] = tokens.shape;
    const d = this.config.dModel;
    const e = lookupRows(this.params.get('embedding.weight') as tf.Tensor2D, tf.reshape(tokens, [-1]) as tf.Tensor1D);
    const x = tf.add(tf.mul(tf.reshape(e, [b, t, d]), Math.sqrt(d)), tf.slice(this.pe, [0, 0], [t, d]));
    return this.dropout(x as tf.Tensor3D, seeds);
  }

  // --- the transformer ---

  /** Encoder memory for source tokens [b, s]. */
  encode(src: tf.Tensor2D, dropoutSeed: number | null = null): tf.Tensor3D {
    const seeds = new DropoutSeeds(dropoutSeed);
    let x = this.embed(src, seeds);
    for (let i = 0; i < this.config.encoderLayers; i++) {
      const n = `encoder.layers.${i}`;
      x = this.layerNorm(this.dropout(this.mha(`${n}.self_attn`, x, x, { causal: false, window: this.config.windows.encoder }), seeds, x), `${n}.norm1`);
      x = this.layerNorm(this.dropout(this.feedForward(n, x, seeds), seeds, x), `${n}.norm2`);
    }
    return this.layerNorm(x, 'encoder.norm');
  }

  /** Logits [b, t, vocab] for decoder inputs [b, t] given the encoder memory. */
  decode(tgtIn: tf.Tensor2D, memory: tf.Tensor3D, dropoutSeed: number | null = null): tf.Tensor3D {
    const seeds = new DropoutSeeds(dropoutSeed === null ? null : dropoutSeed + 1);
    let x = this.embed(tgtIn, seeds);
    for (let i = 0; i < this.config.decoderLayers; i++) {
      const n = `decoder.layers.${i}`;
      const w = this.config.windows;
      x = this.layerNorm(this.dropout(this.mha(`${n}.self_attn`, x, x, { causal: true, window: w.self }), seeds, x), `${n}.norm1`);
      const cross = { causal: false, window: w.cross, queryLength: this.config.targetLength };
      x = this.layerNorm(this.dropout(this.mha(`${n}.multihead_attn`, x, memory, cross), seeds, x), `${n}.norm2`);
      x = this.layerNorm(this.dropout(this.feedForward(n, x, seeds), seeds, x), `${n}.norm3`);
    }
    x = this.layerNorm(x, 'decoder.norm');
    return this.dense(x, this.params.get('output.weight'), this.params.get('output.bias'));
  }

  /**
   * Teacher-forced cross-entropy: decoder inputs [START, c1 … c(n−1)] predict [c1 … cn].
   * src [b, s], target codes [b, n] (int32). Dropout is active when dropoutSeed is a number.
   */
  loss(src: tf.Tensor2D, target: tf.Tensor2D, options: { labelSmoothing?: number; dropoutSeed?: number | null } = {}): tf.Scalar {
    const [b, n] = target.shape;
    const tgtIn = tf.concat([tf.fill([b, 1], this.vocab.start, 'int32'), tf.slice(target, [0, 0], [b, n - 1])], 1) as tf.Tensor2D;
    const memory = this.encode(src, options.dropoutSeed ?? null);
    const logits = this.decode(tgtIn, memory, options.dropoutSeed ?? null);
    return crossEntropy(tf.reshape(logits, [b * n, this.vocab.size]) as tf.Tensor2D, tf.reshape(target, [b * n]) as tf.Tensor1D, options.labelSmoothing ?? 0);
  }

  /** Source tokens for the Top prior: one class token per example (null = the "no class" token). */
  classSource(labels: ReadonlyArray<number | null>): tf.Tensor2D {
    return tf.tensor2d(
      labels.map((c) => [c === null ? this.vocab.none : this.vocab.classToken(c)]),
      [labels.length, 1],
      'int32',
    );
  }

  dispose(): void {
    this.params.dispose();
    this.pe.dispose();
  }
}
