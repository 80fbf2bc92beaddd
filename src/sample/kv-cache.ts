/**
 * Incremental decoding of a prior with a key/value cache, in plain Float32Array arithmetic.
 *
 * Each new token costs one position: the decoder's self-attention keys and values of earlier
 * positions are cached per layer, the cross-attention keys and values of the source are computed
 * once. With d_model 100 the per-token work is a few hundred small vector–matrix products, where a
 * tfjs kernel launch per op would cost more than the arithmetic — so this runs outside tfjs, reading
 * the weights once. The maths mirrors Prior.decode exactly (post-norm layers, ε = 1e-5); a test
 * checks that it gives the same tokens as full recomputation with tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { positionalEncoding, type Prior, type PriorConfig } from '../models/prior';
import { keyRange, type KeyRange } from '../ops/attention-mask';

/** The prior's weights as flat arrays (read from the tfjs variables once). */
export class PriorWeights {
  readonly config: PriorConfig;
  readonly vocabSize: number;
  private readonly w = new Map<string, Float32Array>();
  readonly pe: Float32Array;

  constructor(prior: Prior) {
    this.config = prior.config;
    this.vocabSize = prior.vocab.size;
    for (const info of prior.params.info()) this.w.set(info.name, prior.params.get(info.name).dataSync() as Float32Array);
    this.pe = positionalEncoding(Math.max(prior.config.sourceLength, prior.config.targetLength) + 1, prior.config.dModel);
  }

  get(name: string): Float32Array {
    const a = this.w.get(name);
    if (!a) throw new Error(`no weight ${name}`);
    return a;
  }
}

/** y = x·W + b, W [din, dout] row-major, written into `out`. */
function linear(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array,
  din: number,
  dout: number,
  out: Float32Array,
  wOffset = 0,
  bOffset = 0,
  wStride = dout,
): void {
  for (let j = 0; j < dout; j++) out[j] = b[bOffset + j];
  for (let i = 0; i < din; i++) {
    const xi = x[i];
    if (xi === 0) continue;
    const row = wOffset + i * wStride;
    for (let j = 0; j < dout; j++) out[j] = out[j] + xi * w[row + j];
  }
}

function layerNorm(x: Float32Array, g: Float32Array, b: Float32Array, d: number): void {
  let mean = 0;
  for (let i = 0; i < d; i++) mean += x[i];
  mean /= d;
  let v = 0;
  for (let i = 0; i < d; i++) v += (x[i] - mean) ** 2;
  const inv = 1 / Math.sqrt(v / d + 1e-5);
  for (let i = 0; i < d; i++) x[i] = (x[i] - mean) * inv * g[i] + b[i];
}

/** Attention of one query over cached keys/values lo…hi ([n, d] row-major), per head, into out [d]. */
function attendCached(
  q: Float32Array,
  keys: Float32Array,
  values: Float32Array,
  lo: number,
  hi: number,
  d: number,
  heads: number,
  out: Float32Array,
  scores: Float32Array,
): void {
  const dh = d / heads;
  const scale = 1 / Math.sqrt(dh);
  out.fill(0);
  for (let h = 0; h < heads; h++) {
    const off = h * dh;
    let max = -Infinity;
    for (let t = lo; t <= hi; t++) {
      let s = 0;
      const row = t * d + off;
      for (let i = 0; i < dh; i++) s += q[off + i] * keys[row + i];
      s *= scale;
      scores[t] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let t = lo; t <= hi; t++) {
      const e = Math.exp(scores[t] - max);
      scores[t] = e;
      sum += e;
    }
    for (let t = lo; t <= hi; t++) {
      const p = scores[t] / sum;
      const row = t * d + off;
      for (let i = 0; i < dh; i++) out[off + i] = out[off + i] + p * values[row + i];
    }
  }
}

export class IncrementalDecoder {
  private readonly w: PriorWeights;
  private readonly d: number;
  private readonly layers: number;
  private readonly selfK: Float32Array[];
  private readonly selfV: Float32Array[];
  private readonly crossK: Float32Array[];
  private readonly crossV: Float32Array[];
  private readonly sourceLength: number;
  private readonly crossRange: KeyRange;
  private pos = 0;
  // scratch buffers
  private readonly x: Float32Array;
  private readonly q: Float32Array;
  private readonly k: Float32Array;
  private readonly v: Float32Array;
  private readonly att: Float32Array;
  private readonly proj: Float32Array;
  private readonly hidden: Float32Array;
  private readonly scores: Float32Array;
  readonly logits: Float32Array;

  /** `memory`: the encoder output for one source sequence, [sourceLength, d] row-major. */
  constructor(weights: PriorWeights, memory: Float32Array) {
    const c = weights.config;
    this.w = weights;
    this.d = c.dModel;
    this.layers = c.decoderLayers;
    this.sourceLength = memory.length / this.d;
    const maxT = c.targetLength + 1;
    this.selfK = Array.from({ length: this.layers }, () => new Float32Array(maxT * this.d));
    this.selfV = Array.from({ length: this.layers }, () => new Float32Array(maxT * this.d));
    this.x = new Float32Array(this.d);
    this.q = new Float32Array(this.d);
    this.k = new Float32Array(this.d);
    this.v = new Float32Array(this.d);
    this.att = new Float32Array(this.d);
    this.proj = new Float32Array(this.d);
    this.hidden = new Float32Array(c.feedForward);
    this.scores = new Float32Array(Math.max(maxT, this.sourceLength));
    this.logits = new Float32Array(weights.vocabSize);
    this.crossRange = keyRange({ causal: false, window: c.windows.cross, queryLength: c.targetLength }, c.targetLength, this.sourceLength);
    // cross-attention keys and values of the source, once per layer
    this.crossK = [];
    this.crossV = [];
    const d = this.d;
    for (let l = 0; l < this.layers; l++) {
      const n = `decoder.layers.${l}.multihead_attn`;
      const W = weights.get(`${n}.in_proj_weight`);
      const B = weights.get(`${n}.in_proj_bias`);
      const K = new Float32Array(this.sourceLength * d);
      const V = new Float32Array(this.sourceLength * d);
      const row = new Float32Array(d);
      const outK = new Float32Array(d);
      const outV = new Float32Array(d);
      for (let s = 0; s < this.sourceLength; s++) {
        row.set(memory.subarray(s * d, (s + 1) * d));
        linear(row, W, B, d, d, outK, d, d, 3 * d);
        linear(row, W, B, d, d, outV, 2 * d, 2 * d, 3 * d);
        K.set(outK, s * d);
        V.set(outV, s * d);
      }
      this.crossK.push(K);
      this.crossV.push(V);
    }
  }

  get position(): number {
    return this.pos;
  }

  /** Feed the token at the current position; returns the logits for the next one. */
  step(token: number): Float32Array {
    const d = this.d;
    const c = this.w.config;
    const x = this.x;
    const emb = this.w.get('embedding.weight');
    const scale = Math.sqrt(d);
    for (let i = 0; i < d; i++) x[i] = emb[token * d + i] * scale + this.w.pe[this.pos * d + i];
    for (let l = 0; l < this.layers; l++) {
      const n = `decoder.layers.${l}`;
      // self-attention over positions 0…pos (the cache plus this one)
      const W = this.w.get(`${n}.self_attn.in_proj_weight`);
      const B = this.w.get(`${n}.self_attn.in_proj_bias`);
      linear(x, W, B, d, d, this.q, 0, 0, 3 * d);
      linear(x, W, B, d, d, this.k, d, d, 3 * d);
      linear(x, W, B, d, d, this.v, 2 * d, 2 * d, 3 * d);
      (this.selfK[l] as Float32Array).set(this.k, this.pos * d);
      (this.selfV[l] as Float32Array).set(this.v, this.pos * d);
      const selfLo = c.windows.self === null ? 0 : Math.max(0, this.pos - c.windows.self + 1);
      attendCached(this.q, this.selfK[l] as Float32Array, this.selfV[l] as Float32Array, selfLo, this.pos, d, c.heads, this.att, this.scores);
      linear(this.att, this.w.get(`${n}.self_attn.out_proj.weight`), this.w.get(`${n}.self_attn.out_proj.bias`), d, d, this.proj);
      for (let i = 0; i < d; i++) x[i] = x[i] + this.proj[i];
      layerNorm(x, this.w.get(`${n}.norm1.weight`), this.w.get(`${n}.norm1.bias`), d);
      // cross-attention over the source
      const Wc = this.w.get(`${n}.multihead_attn.in_proj_weight`);
      const Bc = this.w.get(`${n}.multihead_attn.in_proj_bias`);
      linear(x, Wc, Bc, d, d, this.q, 0, 0, 3 * d);
      const [clo, chi] = this.crossRange(this.pos);
      attendCached(this.q, this.crossK[l] as Float32Array, this.crossV[l] as Float32Array, clo, chi, d, c.heads, this.att, this.scores);
      linear(this.att, this.w.get(`${n}.multihead_attn.out_proj.weight`), this.w.get(`${n}.multihead_attn.out_proj.bias`), d, d, this.proj);
      for (let i = 0; i < d; i++) x[i] = x[i] + this.proj[i];
      layerNorm(x, this.w.get(`${n}.norm2.weight`), this.w.get(`${n}.norm2.bias`), d);
      // feed-forward
      linear(x, this.w.get(`${n}.linear1.weight`), this.w.get(`${n}.linear1.bias`), d, c.feedForward, this.hidden);
      for (let i = 0; i < c.feedForward; i++) if (this.hidden[i] < 0) this.hidden[i] = 0;
      linear(this.hidden, this.w.get(`${n}.linear2.weight`), this.w.get(`${n}.linear2.bias`), c.feedForward, d, this.proj);
      for (let i = 0; i < d; i++) x[i] = x[i] + this.proj[i];
      layerNorm(x, this.w.get(`${n}.norm3.weight`), this.w.get(`${n}.norm3.bias`), d);
    }
    layerNorm(x, this.w.get('decoder.norm.weight'), this.w.get('decoder.norm.bias'), d);
    linear(x, this.w.get('output.weight'), this.w.get('output.bias'), d, this.w.vocabSize, this.logits);
    this.pos++;
    return this.logits;
  }
}

/** Encoder memory for each source sequence (tfjs, no dropout), as flat [sourceLength × d] arrays. */
export function encodeSources(prior: Prior, sources: tf.Tensor2D): Float32Array[] {
  return tf.tidy(() => {
    const mem = prior.encode(sources);
    const [b, s, d] = mem.shape;
    const all = mem.dataSync() as Float32Array;
    return Array.from({ length: b }, (_, i) => Float32Array.from(all.subarray(i * s * d, (i + 1) * s * d)));
  });
}
