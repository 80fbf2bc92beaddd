/**
 * npm run bench:prior [-- --backend NAME --batch 4 --src 900 --tgt 900 --repeats 1 --sample-tokens 32]
 * The thesis prior (6+12 layers, d_model 100): one training step (batch 4, 900 → 901 tokens as
 * measured in docs/FACTS.md), and sampling speed with and without the KV cache — each next to the
 * PyTorch twin (bench/twins/prior_twin.py) in the same run.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index';
import { Prior } from '../src/models/prior';
import { priorPreset, THESIS_CODES } from '../src/models/presets';
import { sampleFullRecompute, sampleWithCache } from '../src/sample/sampler';
import { Adam } from '../src/optim/adam';
import { parseCli, runCli } from '../src/util/cli';
import { emit, peakRssGiB, ratio, runTwin, timeIt } from './common';

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      backend: { type: 'string' },
      batch: { type: 'string', default: '4' },
      src: { type: 'string', default: '900' },
      tgt: { type: 'string', default: '900' },
      repeats: { type: 'string', default: '1' },
      warmup: { type: 'string', default: '1' },
      'sample-tokens': { type: 'string', default: '32' },
      'no-twin': { type: 'boolean' },
    },
    'npm run bench:prior -- [--backend NAME] [--batch 4] [--src 900] [--tgt 900] [--repeats 1] [--warmup 1] [--sample-tokens 32 (0: no sampling)] [--no-twin]',
  );
  const info = await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  const B = Number(values.batch);
  const S = Number(values.src);
  const T = Number(values.tgt);
  const n = Number(values['sample-tokens']);
  const base = priorPreset('bottom', 'thesis', THESIS_CODES).model;
  const prior = new Prior({ ...base, sourceLength: S, targetLength: T });
  const twin = values['no-twin']
    ? null
    : runTwin('prior_twin.py', [
        '--batch',
        String(B),
        '--src',
        String(S),
        '--tgt',
        String(T),
        '--steps',
        String(values.repeats),
        '--sample-tokens',
        String(Math.max(1, n)),
      ]);
  const twinDevice = twin ? `pytorch ${String(twin['torch'])} ${twin.device} (${String(twin['threads'])} threads)` : null;

  // training step
  const vars = prior.params.trainable();
  const byVar = new Map([...vars].map(([k, v]) => [v.name, k]));
  const adam = new Adam();
  const src = tf.randomUniform([B, S], 0, 2048, 'int32') as tf.Tensor2D;
  const tgt = tf.randomUniform([B, T], 0, 2048, 'int32') as tf.Tensor2D;
  const step = () => {
    const { value, grads } = tf.variableGrads(() => prior.loss(src, tgt, { dropoutSeed: 1 }), [...vars.values()]);
    adam.apply(vars, new Map(Object.entries(grads).map(([k, g]) => [byVar.get(k) as string, g])), 3e-4);
    value.dataSync();
    tf.dispose([value, Object.values(grads)]);
  };
  const stepS = await timeIt(step, Number(values.repeats), Number(values.warmup));
  emit({
    name: `prior_train_step_thesis_b${B}_${S}to${T + 1}`,
    backend: info.name,
    device: info.device,
    step_s: Number(stepS.toFixed(3)),
    twin_s: twin ? Number(twin.step_s.toFixed(3)) : null,
    ratio: ratio(stepS, twin?.step_s),
    twin_device: twinDevice,
    params: prior.params.count(),
    peak_rss_gib: Number(peakRssGiB().toFixed(2)),
    projected_thesis_hours: Number(((stepS * 10_080) / 3600).toFixed(1)),
  });
  if (n === 0) {
    tf.dispose([src, tgt]);
    adam.dispose();
    prior.dispose();
    return;
  }

  // sampling: n tokens for one source, with the KV cache and by full recomputation
  const one = tf.slice(src, [0, 0], [1, S]) as tf.Tensor2D;
  const cached = sampleWithCache(prior, one, { length: n, seed: 1 });
  const full = sampleFullRecompute(prior, one, { length: n, seed: 1 });
  const twinTps = twin ? Number(twin['sample_tokens_per_s']) : null;
  emit({
    name: `prior_sample_${n}_tokens_kv_cache`,
    backend: 'js (kv cache)',
    device: info.device,
    step_s: Number((1 / cached.stats.tokensPerSecond).toFixed(5)),
    twin_s: twinTps ? Number((1 / twinTps).toFixed(5)) : null,
    ratio: twinTps ? ratio(1 / cached.stats.tokensPerSecond, 1 / twinTps) : null,
    tokens_per_s: Number(cached.stats.tokensPerSecond.toFixed(1)),
    twin_device: twinDevice,
    twin_note: 'twin: nn.Transformer, no KV cache',
  });
  emit({
    name: `prior_sample_${n}_tokens_full_recompute`,
    backend: info.name,
    device: info.device,
    step_s: Number((1 / full.stats.tokensPerSecond).toFixed(5)),
    twin_s: twinTps ? Number((1 / twinTps).toFixed(5)) : null,
    ratio: twinTps ? ratio(1 / full.stats.tokensPerSecond, 1 / twinTps) : null,
    tokens_per_s: Number(full.stats.tokensPerSecond.toFixed(2)),
    twin_device: twinDevice,
    same_tokens: cached.codes[0]!.every((c, i) => c === full.codes[0]![i]),
  });
  tf.dispose([src, tgt, one]);
  adam.dispose();
  prior.dispose();
}

runCli(main);
