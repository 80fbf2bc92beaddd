import { existsSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index';
import { readCodes } from '../src/codes/store';
import { extractCodes } from '../src/codes/extract';
import { Codec } from '../src/models/codec';
import { describeModel } from '../src/models/describe';
import { codecPreset, type CodecConfig } from '../src/models/presets';
import { VqVae, type VqVaeConfig } from '../src/models/vqvae2';
import { Codebook } from '../src/models/codebook';
import { Params } from '../src/models/nn';
import { evaluateCodecCheckpoint } from '../src/pipeline/evaluate';
import { CheckpointError, loadCheckpoint, restoreParams, saveCheckpoint } from '../src/checkpoint/checkpoint';
import { trainCodec } from '../src/train/codec';
import { loadCodec } from '../src/checkpoint/models';
import { trainLoop, TrainingDivergedError, type TrainTask } from '../src/train/loop';
import { DatasetError } from '../src/util/errors';
import { Rng } from '../src/util/rng';
import { tempDir, testCheckpointMeta, tone } from './helpers';

const dir = tempDir();

beforeAll(async () => {
  // wasm: the backend CPU users train on (and 5–10× faster than cpu for these models)
  await initBackend({ backend: 'wasm' });
});

const tiny = (over: Partial<VqVaeConfig> = {}): VqVaeConfig => ({
  inChannels: 1,
  channels: 8,
  resChannels: 4,
  dilations: [1, 3],
  bottomDownsamples: 3,
  topDownsamples: 2,
  codebook: { size: 16, dim: 4, beta: 0.25, ema: null, restart: null, dataInit: true },
  seed: 1,
  ...over,
});

function burst(seed: number, n: number): Float32Array {
  const r = new Rng(seed);
  const f = r.range(200, 900);
  return Float32Array.from({ length: n }, (_, i) => {
    const u = ((i % 512) - 128) / 60;
    return 0.6 * Math.exp(-u * u) * Math.sin((2 * Math.PI * f * i) / 4000);
  });
}

describe('raw-audio VQ-VAE-2', () => {
  it('thesis preset: 580,685 parameters, within 0.1 % of the thesis (580,641), with 3600 bottom and 900 top codes', () => {
    const d = describeModel('raw-vqvae2', 'thesis');
    expect(Math.abs(d.parameters - 580_641) / 580_641).toBeLessThan(0.001);
    expect(d.parameters).toBe(580_685);
    expect(d.notes.join()).toMatch(/top 900, bottom 3600/);
    const dilated = d.rows.filter((r) => /^enc_b\.res\.\d\.conv_d/.test(r.name)).map((r) => r.kind);
    expect(dilated).toEqual(['conv1d k3', 'conv1d k3 d2', 'conv1d k3 d3', 'conv1d k3 d6', 'conv1d k3 d9', 'conv1d k3 d18', 'conv1d k3 d27']);
    expect(d.rows.filter((r) => /s2/.test(r.kind)).length).toBe(3 + 2 + 2 + 2 + 3); // enc_b, enc_t, dec_t, upsample_t, dec
  });

  it('shapes: reconstruction like the input, top codes at ×32, bottom at ×8', () => {
    tf.tidy(() => {
      const m = new VqVae(tiny());
      const out = m.forward(tf.randomNormal([2, 1024, 1]) as tf.Tensor3D);
      expect(out.reconstruction.shape).toEqual([2, 1024, 1]);
      expect(out.codes.top?.shape).toEqual([2, 32]);
      expect(out.codes.bottom.shape).toEqual([2, 128]);
      expect(out.codes.bottom.dtype).toBe('int32');
      const dec = m.decodeCodes(out.codes);
      expect(dec.shape).toEqual([2, 1024, 1]);
      m.dispose();
    });
  });

  it('straight-through: the reconstruction loss reaches the encoder; the codebook learns only from its own loss', () => {
    tf.tidy(() => {
      const m = new VqVae(tiny());
      const x = tf.tensor3d(burst(1, 1024), [1, 1024, 1]);
      const vars = m.params.trainable();
      const enc = vars.get('enc_b.down0.weight') as tf.Variable;
      const cb = vars.get('codebook_b.embeddings') as tf.Variable;
      const { grads } = tf.variableGrads(() => m.forward(x).recon, [enc, cb]);
      expect(tf.max(tf.abs(grads[enc.name]!)).dataSync()[0]).toBeGreaterThan(0);
      // no path from the codebook to the reconstruction except through the straight-through copy
      const gcb = grads[cb.name];
      expect(gcb === null || gcb === undefined || tf.max(tf.abs(gcb)).dataSync()[0] === 0).toBe(true);
      const g2 = tf.variableGrads(() => m.forward(x).codebookLoss, [cb]).grads;
      expect(tf.max(tf.abs(g2[cb.name]!)).dataSync()[0]).toBeGreaterThan(0);
      m.dispose();
    });
  });

  it('spectrogram codecs: 480 frames × 64 mels in, audio of 28,800 samples out (Griffin–Lim)', async () => {
    for (const kind of ['spec-vqvae', 'spec-vqvae2'] as const) {
      const c = new Codec({
        ...codecPreset(kind, 'quick'),
        frontEnd: { ...(codecPreset(kind, 'quick').frontEnd as Extract<CodecConfig['frontEnd'], { type: 'mel' }>), griffinLimIterations: 4 },
      });
      const clip = tone(700, 4000, 7.2, 0.3);
      const x = c.toInput([clip]);
      expect(x.shape).toEqual([1, 480, 64]);
      const codes = c.encode([clip]);
      expect(codes.bottom[0]).toHaveLength(120);
      if (kind === 'spec-vqvae2') expect(codes.top?.[0]).toHaveLength(60);
      else expect(codes.top).toBeNull();
      const audio = await c.decode(codes);
      expect(audio[0]).toHaveLength(28_800);
      x.dispose();
      c.dispose();
    }
  });
});

describe('codebook options', () => {
  const flat = () =>
    tf.tensor2d([
      [1, 1],
      [1, 1],
      [9, 9],
      [11, 11],
    ]);
  const init = [
    [0, 0],
    [10, 10],
    [-10, 10],
    [100, 100],
  ];

  it('EMA updates move each used code to the mean of its vectors; unused codes are not pulled to the data', async () => {
    {
      const p = new Params(0);
      const cb = new Codebook(p, 'cb', { size: 4, dim: 2, beta: 0.25, ema: { decay: 0.5, epsilon: 1e-5 }, restart: null, dataInit: false });
      cb.embeddings.assign(tf.tensor2d(init));
      p.get('cb.ema_sum').assign(tf.tensor2d(init)); // with EMA the running sums are the source of truth
      await cb.update(flat(), tf.tensor2d([[0, 0, 0, 0]], [1, 4], 'int32'), new Rng(0)); // first step: all to code 0
      const x = flat();
      for (let i = 0; i < 15; i++) await cb.update(x, tf.reshape(cb.nearest(x), [1, 4]) as tf.Tensor2D, new Rng(i));
      const e = cb.embeddings.arraySync() as number[][];
      expect(e[0]![0]).toBeCloseTo(1, 2);
      expect(e[1]![0]).toBeCloseTo(10, 2);
      // the unused code is not pulled towards the data (Laplace smoothing only rescales it)
      expect(e[2]![0]).toBeLessThan(-1);
      expect(e[2]![1]).toBeGreaterThan(1);
      p.dispose();
    }
  });

  it('dead-code restarts re-seed unused codes from encoder outputs, lowering the quantisation error', async () => {
    {
      const p = new Params(0);
      const cb = new Codebook(p, 'cb', { size: 4, dim: 2, beta: 0.25, ema: null, restart: { threshold: 0.995 }, dataInit: false });
      cb.embeddings.assign(
        tf.tensor2d([
          [0, 0],
          [50, 50],
          [-10, 10],
          [100, 100],
        ]),
      );
      const x = flat();
      const err = () => {
        const e = cb.embeddings.arraySync() as number[][];
        return x.arraySync().reduce((s, r) => s + Math.min(...e.map((c) => Math.hypot(c[0]! - r[0]!, c[1]! - r[1]!))), 0);
      };
      const before = err();
      const { restarted } = await cb.update(x, tf.reshape(cb.nearest(x), [1, 4]) as tf.Tensor2D, new Rng(1));
      expect(restarted).toBe(3); // codes 1, 2 and 3 were never chosen
      expect(err()).toBeLessThan(before);
      const e = cb.embeddings.arraySync() as number[][];
      for (const k of [1, 2, 3]) expect(x.arraySync().map((r) => r.join())).toContain(e[k]!.join());
      p.dispose();
    }
  });
});

/** A training task on synthetic bursts for the loop tests. */
function burstTask(m: VqVae, opts: { nanAt?: number } = {}): TrainTask<tf.Tensor3D> {
  let n = 0;
  let calls = 0;
  return {
    params: m.params,
    nextBatch: (rng) => {
      n++;
      const clips = [burst(rng.int(4), 1024), burst(rng.int(4) + 10, 1024)];
      return tf.tensor3d(Float32Array.from([...clips[0]!, ...clips[1]!]), [2, 1024, 1]);
    },
    forward: (x) => {
      calls++;
      const o = m.forward(x);
      const loss = opts.nanAt !== undefined && calls >= opts.nanAt ? tf.mul(o.loss, tf.scalar(Number.NaN)) : o.loss;
      return { loss: loss as tf.Scalar, scalars: { recon: o.recon }, keep: [o.codes.bottom, o.flat.bottom] };
    },
    disposeBatch: (x) => x.dispose(),
    afterStep: async (kept, rng) => {
      await m.bottom.update(kept[1] as tf.Tensor2D, kept[0] as tf.Tensor2D, rng);
      return {};
    },
    samplerState: () => ({ n }),
    restoreSampler: (s) => {
      n = (s as { n: number }).n;
    },
  };
}

const loopOpts = (out: string, steps: number) => ({
  out,
  steps,
  schedule: { kind: 'constant' as const, peak: 3e-3, warmupSteps: 0, totalSteps: steps, floor: 1 },
  clipNorm: 1,
  seed: 5,
  checkpointEvery: 5,
  validateEvery: 0,
  label: 'test',
  resume: null,
  meta: { kind: 'codec', model: {}, train: {}, data: null },
  quiet: true,
});

function losses(file: string): number[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { split: string; loss: number })
    .filter((l) => l.split === 'train')
    .map((l) => l.loss);
}

describe('training loop', () => {
  it('loss falls on a tiny set, tensors do not leak, checkpoints are written', async () => {
    const m = new VqVae(tiny({ codebook: { size: 16, dim: 4, beta: 0.25, ema: null, restart: { threshold: 0.5 }, dataInit: true } }));
    const out = path.join(dir, 'loop');
    const counts: number[] = [];
    const task = burstTask(m);
    const origAfter = task.afterStep!;
    task.afterStep = async (k, r) => {
      const x = await origAfter(k, r);
      counts.push(tf.memory().numTensors);
      return x;
    };
    const r = await trainLoop(task, loopOpts(out, 40));
    const l = losses(path.join(out, 'metrics.jsonl'));
    const first = l.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = l.slice(-5).reduce((a, b) => a + b) / 5;
    expect(last).toBeLessThan(first * 0.8);
    expect(counts[counts.length - 1]).toBe(counts[5]); // steady state: no tensor leak per step
    expect(r.step).toBe(40);
    expect(JSON.parse(readFileSync(path.join(out, 'latest.json'), 'utf8')).step).toBe(40);
    expect(readdirSync(out).filter((n) => n.startsWith('step-'))).toHaveLength(2); // keeps the last two
    m.dispose();
  });

  it('a NaN loss stops the run before touching the weights and keeps the last good checkpoint', async () => {
    const m = new VqVae(tiny());
    const out = path.join(dir, 'nan');
    const e = await trainLoop(burstTask(m, { nanAt: 8 }), loopOpts(out, 20)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TrainingDivergedError);
    expect((e as Error).message).toMatch(/loss became NaN at step 8/);
    expect((e as TrainingDivergedError).checkpoint).toMatch(/step-0000005$/);
    expect(JSON.parse(readFileSync(path.join(out, 'latest.json'), 'utf8')).step).toBe(5);
    const ck = await loadCheckpoint(out);
    for (const t of Object.values(ck.weights)) expect(tf.all(tf.isFinite(t)).dataSync()[0]).toBe(1);
    m.dispose();
  });

  it('resume continues the same loss curve exactly (in-process interruption)', async () => {
    const straight = path.join(dir, 'straight');
    const m1 = new VqVae(tiny());
    await trainLoop(burstTask(m1), loopOpts(straight, 12));
    m1.dispose();
    const split = path.join(dir, 'split');
    const m2 = new VqVae(tiny());
    await trainLoop(burstTask(m2), { ...loopOpts(split, 12), stopAfter: 5 });
    m2.dispose();
    const m3 = new VqVae(tiny());
    const ck = await loadCheckpoint(split);
    restoreParams(m3.params, ck.weights, ck.dir);
    await trainLoop(burstTask(m3), { ...loopOpts(split, 12), resume: ck });
    m3.dispose();
    const a = losses(path.join(straight, 'metrics.jsonl'));
    const b = losses(path.join(split, 'metrics.jsonl'));
    expect(b).toHaveLength(12);
    b.forEach((v, i) => expect(v).toBeCloseTo(a[i]!, 6));
  });
});

describe('checkpoints: round trip and bad input', () => {
  const cfg = codecPreset('raw-vqvae2', 'quick', 3);
  let ckDir = '';
  /** The saved weights: the seed-3 initialisation moved by noise (a stand-in for training), so a fresh Codec(cfg) differs. */
  const saved = new Map<string, Float32Array>();
  beforeAll(async () => {
    const c = new Codec(cfg);
    const r = new Rng(17);
    for (const info of c.params.info()) {
      const v = c.params.get(info.name);
      const x = Float32Array.from(v.dataSync() as Float32Array, (a) => a + 0.05 * r.normal());
      v.assign(tf.tensor(x, info.shape));
      saved.set(info.name, x);
    }
    ckDir = await saveCheckpoint(path.join(dir, 'ck'), {
      meta: testCheckpointMeta('codec', cfg, { step: 0 }),
      params: c.params,
    });
    c.dispose();
  });

  it('a loaded codec has the saved (not freshly initialised) weights and encodes with them', async () => {
    const fresh = new Codec(cfg);
    const { codec, step, config } = await loadCodec(path.join(dir, 'ck'));
    expect(step).toBe(0);
    expect(config).toEqual(cfg);
    let differsFromFresh = 0;
    for (const info of codec.params.info()) {
      const got = codec.params.get(info.name).dataSync() as Float32Array;
      expect(Array.from(got), info.name).toEqual(Array.from(saved.get(info.name)!));
      if (Array.from(fresh.params.get(info.name).dataSync()).some((a, i) => a !== got[i])) differsFromFresh++;
    }
    expect(saved.size).toBe(codec.params.info().length);
    expect(differsFromFresh).toBe(saved.size);
    // and the codes come from those weights: a copy made from the saved arrays encodes the same, the fresh model differently
    const copy = new Codec(cfg);
    for (const info of copy.params.info()) copy.params.get(info.name).assign(tf.tensor(saved.get(info.name)!, info.shape));
    const clip = burst(2, 28_800);
    const a = copy.encode([clip]);
    const b = codec.encode([clip]);
    const c = fresh.encode([clip]);
    expect(Array.from(b.bottom[0]!)).toEqual(Array.from(a.bottom[0]!));
    expect(Array.from(b.top![0]!)).toEqual(Array.from(a.top![0]!));
    expect(Array.from(b.bottom[0]!)).not.toEqual(Array.from(c.bottom[0]!));
    copy.dispose();
    fresh.dispose();
    codec.dispose();
  });

  it('another model, a truncated weights file, a wrong format are clear errors naming the file', async () => {
    const other = new Codec(codecPreset('spec-vqvae', 'quick'));
    const ck = await loadCheckpoint(ckDir);
    expect(() => restoreParams(other.params, ck.weights, ck.dir)).toThrow(CheckpointError);
    other.dispose();
    await expect(loadCheckpoint(ckDir, 'prior')).rejects.toThrow(/is a codec checkpoint, not a prior/);
    const broken = path.join(dir, 'ck-broken');
    const copy = await saveCheckpoint(broken, {
      meta: testCheckpointMeta('codec', cfg, { step: 1 }),
      params: new Codec(cfg).params,
    });
    const w = path.join(copy, 'weights.bin');
    truncateSync(w, statSync(w).size - 100);
    await expect(loadCodec(broken)).rejects.toThrow(/weights\.bin: weights data is \d+ bytes, the manifest needs \d+/);
    writeFileSync(path.join(copy, 'checkpoint.json'), '{"format":"something-else"}');
    await expect(loadCodec(broken)).rejects.toThrow(/not a soundtrack-lab checkpoint/);
    await expect(loadCodec(path.join(dir, 'nothing-here'))).rejects.toThrow(/no checkpoint here/);
  });

  it('code extraction stores uint16 top/bottom codes with labels and splits', async () => {
    const out = path.join(dir, 'codes');
    const r = await extractCodes({ codec: path.join(dir, 'ck'), data: 'embedded', out, mode: 'center' });
    expect(r.clips).toBe(19);
    const set = await readCodes(out);
    expect(set.meta.lengths).toEqual({ top: 900, bottom: 3600 });
    expect(set.bottom[0]).toBeInstanceOf(Uint16Array);
    expect(set.bottom).toHaveLength(19);
    expect(set.top).toHaveLength(19);
    expect(new Set(set.meta.clips.map((c) => c.label))).toEqual(new Set([0, 1]));
    expect(set.meta.clips.filter((c) => c.split === 'val').length).toBeGreaterThan(0);
    expect(statSync(path.join(out, 'bottom.u16')).size).toBe(19 * 3600 * 2);
    truncateSync(path.join(out, 'top.u16'), 100);
    await expect(readCodes(out)).rejects.toThrow(/top\.u16: holds 100 bytes/);
  });
});

describe('trainCodec on the embedded data', () => {
  it('refuses a batch larger than the training set, and an output folder that holds a run', async () => {
    await expect(
      trainCodec({ kind: 'raw-vqvae2', preset: 'quick', data: 'embedded', out: path.join(dir, 'big'), steps: 1, batchSize: 64, quiet: true }),
    ).rejects.toThrow(DatasetError);
    await expect(trainCodec({ kind: 'raw-vqvae2', preset: 'quick', data: 'embedded', out: path.join(dir, 'ck'), steps: 1, quiet: true })).rejects.toThrow(
      /already holds a training run/,
    );
  });

  it('trains a few steps, evaluates against the untrained model, and writes the JSONL curve', async () => {
    const out = path.join(dir, 'quick');
    const r = await trainCodec({
      kind: 'raw-vqvae2',
      preset: 'quick',
      data: 'embedded',
      out,
      steps: 4,
      batchSize: 2,
      validateEvery: 2,
      checkpointEvery: 2,
      quiet: true,
    });
    expect(r.step).toBe(4);
    expect(existsSync(path.join(out, 'latest.json'))).toBe(true);
    const lines = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number | string>);
    expect(lines.filter((l) => l['split'] === 'train')).toHaveLength(4);
    expect(lines.filter((l) => l['split'] === 'val').length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toHaveProperty('perplexity_bottom');
    const rep = await evaluateCodecCheckpoint({ codec: out, data: 'embedded', compareUntrained: true });
    expect(rep.trained.clips).toBe(3);
    expect(rep.trained.fad.embedder).toMatch(/mel-stats/);
    // the comparison: the same clips through the same architecture with its initial weights — other numbers
    const u = rep.untrained!;
    expect(u).not.toBeNull();
    expect(u.clips).toBe(rep.trained.clips);
    expect(u.fad.embedder).toBe(rep.trained.fad.embedder);
    expect(u.fad.reference.clips).toBe(rep.trained.fad.reference.clips);
    for (const [a, b] of [
      [u.mse, rep.trained.mse],
      [u.fad.fad, rep.trained.fad.fad],
    ] as const) {
      expect(Number.isFinite(a)).toBe(true);
      expect(Number.isFinite(b)).toBe(true);
      expect(a).not.toBe(b);
    }
  });
});
