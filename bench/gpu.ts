/**
 * npm run bench:gpu [-- --count --model codec|prior|all --preset thesis|quick --batch 8 --clip 28800 --prior-batch 4 --src 900 --tgt 900 --d-model 100 --ff 1024 --variants reference,fused --no-twin]
 *
 * One training step (gradients, clipping by global norm 1, Adam; the loss read back at the end as a
 * logging step would) of the thesis codec (batch 8 × 28,800) and the thesis prior (batch 4, 900 → 901)
 * on the webgpu backend (any adapter; Mesa llvmpipe allowed), for each variant in the same run:
 *   reference  the ops as written (SOUNDTRACK_FUSED=0: op-by-op conv1d, residual layers, transposed conv, codebook,
 *              attention, dropout, dense, feed-forward, layer norm, per-parameter Adam, norm read back)
 *   fused      the fused WebGPU programs (src/ops/*-webgpu.ts), no read-back but the loss
 * Each variant: one warm-up step, then one measured step (--steps N: median of N).
 * With --count the measured step's GPU work is counted (src/backend/gpu-counter.ts): dispatches,
 * submits, pipelines compiled, buffers created, bind groups, uniform writes, read-backs — total and by op.
 * One JSON line per model: {"name","backend","device","step_s","twin_s","ratio", …counts of the last
 * variant, "variants": {variant: {step_s, counts, by_op}}, "speedup": first/last variant's step_s,
 * "dispatch_ratio": first/last variant's dispatches}.
 * The twin (bench/twins, PyTorch; CUDA on a GPU machine) is timed in the same run unless --no-twin.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index';
import { compactByOp, GpuCounter, type GpuCounts } from '../src/backend/gpu-counter';
import { Codec } from '../src/models/codec';
import { codecPreset, priorPreset, THESIS_CODES, type PresetName } from '../src/models/presets';
import { Prior } from '../src/models/prior';
import { Adam } from '../src/optim/adam';
import { parseCli, runCli, UsageError } from '../src/util/cli';
import { emit, ratio, runTwin, type TwinResult } from './common';

type Variant = 'reference' | 'fused';
const VARIANTS: readonly Variant[] = ['reference', 'fused'];

interface Workload {
  name: string;
  /** Build a fresh model; returns the loss closure, its trainable variables and a disposer. */
  build(): { loss: () => tf.Scalar; vars: Map<string, tf.Variable>; dispose: () => void };
  twin: () => TwinResult | null;
}

interface VariantResult {
  step_s: number;
  loss: number;
  counts: GpuCounts | null;
  pipelines_warmup: number | null;
  by_op: Record<string, Partial<GpuCounts>> | null;
}

async function runVariant(w: Workload, variant: Variant, steps: number, counter: GpuCounter | null): Promise<VariantResult> {
  // SOUNDTRACK_FUSED=0 turns every fused WebGPU op off (conv1d, layer norm, Adam): the reference variant
  const saved = process.env.SOUNDTRACK_FUSED;
  if (variant === 'reference') process.env.SOUNDTRACK_FUSED = '0';
  else delete process.env.SOUNDTRACK_FUSED;
  try {
    return await measureVariant(w, variant, steps, counter);
  } finally {
    if (saved === undefined) delete process.env.SOUNDTRACK_FUSED;
    else process.env.SOUNDTRACK_FUSED = saved;
  }
}

async function measureVariant(w: Workload, variant: Variant, steps: number, counter: GpuCounter | null): Promise<VariantResult> {
  const model = w.build();
  const adam = new Adam({}, variant === 'fused' ? 'auto' : 'off');
  const byVar = new Map([...model.vars].map(([n, v]) => [v.name, n]));
  const step = async (): Promise<number> => {
    const { value, grads } = tf.variableGrads(model.loss, [...model.vars.values()]);
    const named = new Map(Object.entries(grads).map(([k, g]) => [byVar.get(k) as string, g]));
    const norm = await adam.clipAndApply(model.vars, named, 3e-4, 1);
    tf.dispose([...named.values(), norm]);
    const loss = ((await value.data()) as Float32Array)[0] as number; // the one read-back of a logging step
    value.dispose();
    return loss;
  };
  try {
    if (counter) counter.reset();
    await step(); // warm-up: compiles pipelines, fills the buffer pool
    const pipelinesWarmup = counter ? counter.snapshot().total.pipelines : null;
    const times: number[] = [];
    let loss = NaN;
    let snap: ReturnType<GpuCounter['snapshot']> | null = null;
    for (let i = 0; i < steps; i++) {
      if (counter) counter.reset();
      const t0 = performance.now();
      loss = await step();
      times.push((performance.now() - t0) / 1000);
      if (counter && i === 0) snap = counter.snapshot();
    }
    times.sort((a, b) => a - b);
    return {
      step_s: Number((times[Math.floor(times.length / 2)] as number).toFixed(3)),
      loss,
      counts: snap ? snap.total : null,
      pipelines_warmup: pipelinesWarmup,
      by_op: snap ? compactByOp(snap.byOp) : null,
    };
  } finally {
    adam.dispose();
    model.dispose();
  }
}

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      backend: { type: 'string', default: 'webgpu' },
      count: { type: 'boolean' },
      model: { type: 'string', default: 'all' },
      preset: { type: 'string', default: 'thesis' },
      batch: { type: 'string', default: '8' },
      clip: { type: 'string' },
      'prior-batch': { type: 'string', default: '4' },
      src: { type: 'string', default: '900' },
      tgt: { type: 'string', default: '900' },
      'd-model': { type: 'string' },
      ff: { type: 'string' },
      steps: { type: 'string', default: '1' },
      variants: { type: 'string', default: VARIANTS.join(',') },
      'no-twin': { type: 'boolean' },
    },
    'npm run bench:gpu -- [--count] [--model codec|prior|all] [--preset thesis|quick] [--batch 8] [--clip 28800] [--prior-batch 4] [--src 900] [--tgt 900] [--d-model 100] [--ff 1024] [--steps 1] [--variants reference,fused] [--no-twin] [--backend webgpu]',
  );
  const info = await initBackend({ backend: values.backend as 'webgpu' });
  const preset = values.preset as PresetName;
  if (preset !== 'thesis' && preset !== 'quick') throw new UsageError(`--preset must be thesis or quick, got '${preset}'`);
  const variants = (values.variants as string).split(',').map((v) => v.trim()) as Variant[];
  for (const v of variants) if (!VARIANTS.includes(v)) throw new UsageError(`unknown variant '${v}' (choose from ${VARIANTS.join(', ')})`);
  const counter = values.count ? GpuCounter.install() : null;
  const steps = Math.max(1, Number(values.steps));
  const noTwin = Boolean(values['no-twin']);

  const workloads: Workload[] = [];
  const which = values.model as string;
  if (which === 'codec' || which === 'all') {
    const B = Number(values.batch);
    // --clip N: shorter clips (a multiple of 32) for counting on a slow adapter; the dispatch counts do not
    // depend on the length (the reference's codebook search adds one chunk per 8,192 rows, ~4 dispatches each)
    const base = codecPreset('raw-vqvae2', preset);
    const cfg = values.clip ? { ...base, clipSamples: Number(values.clip) } : base;
    workloads.push({
      name: `codec_train_step_${preset}_b${B}${values.clip ? `_clip${values.clip}` : ''}`,
      build: () => {
        const codec = new Codec(cfg);
        const x = tf.randomNormal([B, cfg.clipSamples, 1], 0, 0.1, 'float32', 7) as tf.Tensor3D;
        return {
          loss: () => codec.model.forward(x).loss,
          vars: codec.params.trainable(),
          dispose: () => {
            x.dispose();
            codec.dispose();
          },
        };
      },
      twin: () =>
        runTwin('vqvae2_twin.py', [
          '--batch',
          String(B),
          '--steps',
          String(Math.max(2, steps)),
          '--channels',
          String(cfg.vqvae.channels),
          '--res',
          String(cfg.vqvae.resChannels),
        ]),
    });
  }
  if (which === 'prior' || which === 'all') {
    const B = Number(values['prior-batch']);
    const S = Number(values.src);
    const T = Number(values.tgt);
    // --d-model / --ff: narrower layers for counting on a slow adapter (the counts depend on layers, heads, lengths, not widths)
    const preset0 = priorPreset('bottom', preset, THESIS_CODES).model;
    const base = {
      ...preset0,
      ...(values['d-model'] ? { dModel: Number(values['d-model']) } : {}),
      ...(values.ff ? { feedForward: Number(values.ff) } : {}),
    };
    const narrow = values['d-model'] || values.ff ? `_d${base.dModel}_ff${base.feedForward}` : '';
    workloads.push({
      name: `prior_train_step_${preset}_b${B}_${S}to${T + 1}${narrow}`,
      build: () => {
        const prior = new Prior({ ...base, sourceLength: S, targetLength: T });
        const src = tf.randomUniform([B, S], 0, 2048, 'int32', 3) as tf.Tensor2D;
        const tgt = tf.randomUniform([B, T], 0, 2048, 'int32', 4) as tf.Tensor2D;
        return {
          loss: () => prior.loss(src, tgt, { dropoutSeed: 1 }),
          vars: prior.params.trainable(),
          dispose: () => {
            tf.dispose([src, tgt]);
            prior.dispose();
          },
        };
      },
      twin: () =>
        runTwin('prior_twin.py', ['--batch', String(B), '--src', String(S), '--tgt', String(T), '--steps', String(Math.max(1, steps)), '--sample-tokens', '1']),
    });
  }
  if (workloads.length === 0) throw new UsageError(`--model must be codec, prior or all, got '${which}'`);

  for (const w of workloads) {
    const results: Partial<Record<Variant, VariantResult>> = {};
    for (const v of variants) {
      process.stderr.write(`${w.name}: ${v} …\n`);
      results[v] = await runVariant(w, v, steps, counter);
    }
    const last = results[variants[variants.length - 1] as Variant] as VariantResult;
    const first = results[variants[0] as Variant] as VariantResult;
    const twin = noTwin ? null : w.twin();
    emit({
      name: w.name,
      backend: info.name,
      device: info.device,
      step_s: last.step_s,
      twin_s: twin ? Number(twin.step_s.toFixed(4)) : null,
      ratio: ratio(last.step_s, twin?.step_s),
      twin_device: twin ? `pytorch ${String(twin['torch'])} ${twin.device}` : null,
      variant: variants[variants.length - 1],
      ...(last.counts ?? {}),
      speedup: variants.length > 1 ? ratio(first.step_s, last.step_s) : null,
      dispatch_ratio: variants.length > 1 && first.counts && last.counts ? ratio(first.counts.dispatches, last.counts.dispatches) : null,
      variants: Object.fromEntries(
        Object.entries(results).map(([k, r]) => [
          k,
          { step_s: r.step_s, loss: Number(r.loss.toFixed(6)), ...(r.counts ?? {}), pipelines_warmup: r.pipelines_warmup, by_op: r.by_op },
        ]),
      ),
    });
  }
  tf.disposeVariables();
}

runCli(main);
