/**
 * npm run bench:generate [-- --backend NAME --clips 3 --input IMAGE]
 * Wall time per 7.2-s clip of each stage of `generate` with the shipped checkpoints: classifier;
 * the default generator (mel-flow: flow sampling, event layout, Griffin–Lim; no twin exists); the
 * thesis pipeline (Top prior, Bottom prior with KV-cache sampling, decoder next to its PyTorch twin).
 * Targets: < 7.2 s per clip on 2 CPU cores (faster than real time), < 1 s on one GPU.
 */
import { initBackend } from '../src/backend/index';
import { loadGenerator } from '../src/pipeline/generators';
import { shippedPath, defaultClassifier } from '../src/pipeline/models';
import { disposeSoundModels, loadSoundModels, soundForClass } from '../src/pipeline/sound';
import { CatDogClassifier } from '../src/vision/classifier';
import { readImage } from '../src/vision/media';
import { parseCli, runCli } from '../src/util/cli';
import { emit, ratio, runTwin } from './common';

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      backend: { type: 'string' },
      clips: { type: 'string', default: '3' },
      input: { type: 'string', default: 'data/images/dog/dog-gcompris-german-shepherd.webp' },
      'no-twin': { type: 'boolean' },
    },
    'npm run bench:generate -- [--backend NAME] [--clips 3] [--input IMAGE] [--no-twin]',
  );
  const info = await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  const n = Number(values.clips);
  const models = await loadSoundModels({ codec: shippedPath('codec'), top: shippedPath('top'), bottom: shippedPath('bottom') });
  const clf = await CatDogClassifier.load(await defaultClassifier());
  try {
    const image = await readImage(String(values.input), clf.backbone.spec.inputSize);
    clf.probDog([image]); // warm up
    const t0 = performance.now();
    for (let i = 0; i < n; i++) clf.probDog([image]);
    const classify = (performance.now() - t0) / 1000 / n;
    const base0 = { backend: info.name, device: info.device };
    const flow = await loadGenerator('mel-flow');
    try {
      await flow.generate(1, { clips: 1, seed: 'warmup' });
      const t1 = performance.now();
      const g = await flow.generate(1, { clips: n, seed: 'bench' });
      const perClip = (performance.now() - t1) / 1000 / n;
      for (const [stage, s] of Object.entries(g.stages))
        emit({ name: `generate_mel_flow_${stage}_per_clip`, ...base0, step_s: Number((s / n).toFixed(4)), twin_s: null, ratio: null, twin_device: null });
      emit({
        name: 'generate_mel_flow_total_per_clip',
        ...base0,
        step_s: Number((classify + perClip).toFixed(4)),
        twin_s: null,
        ratio: null,
        twin_device: null,
        real_time_factor: Number(((classify + perClip) / 7.2).toFixed(3)),
        models: `mel-flow (${Object.values(flow.sources).join(' + ')})`,
      });
    } finally {
      flow.dispose();
    }
    await soundForClass(models, 1, { clips: 1, seed: 'warmup' });
    const r = await soundForClass(models, 1, { clips: n, seed: 'bench' });
    const per = { top: r.timings.topSeconds / n, bottom: r.timings.bottomSeconds / n, decode: r.timings.decodeSeconds / n };
    const cfg = models.codec.config.vqvae;
    const twin = values['no-twin']
      ? null
      : runTwin('vqvae2_twin.py', [
          '--decode',
          '--steps',
          '3',
          '--channels',
          String(cfg.channels),
          '--res',
          String(cfg.resChannels),
          '--codes',
          String(cfg.codebook.size),
          '--dim',
          String(cfg.codebook.dim),
        ]);
    const twinDevice = twin ? `pytorch ${String(twin['torch'])} ${twin.device} (${String(twin['threads'])} threads)` : null;
    const base = { backend: info.name, device: info.device };
    emit({ name: 'generate_classify_per_image', ...base, step_s: Number(classify.toFixed(4)), twin_s: null, ratio: null, twin_device: null, note: clf.mode });
    emit({
      name: 'generate_top_prior_per_clip',
      ...base,
      backend: 'js (kv cache)',
      step_s: Number(per.top.toFixed(4)),
      twin_s: null,
      ratio: null,
      twin_device: null,
      tokens_per_s: Math.round(r.timings.topTokensPerSecond),
    });
    emit({
      name: 'generate_bottom_prior_per_clip',
      ...base,
      backend: 'js (kv cache)',
      step_s: Number(per.bottom.toFixed(4)),
      twin_s: null,
      ratio: null,
      twin_device: null,
      tokens_per_s: Math.round(r.timings.bottomTokensPerSecond),
    });
    emit({
      name: 'generate_decode_per_clip',
      ...base,
      step_s: Number(per.decode.toFixed(4)),
      twin_s: twin ? Number(twin.step_s.toFixed(4)) : null,
      ratio: ratio(per.decode, twin?.step_s),
      twin_device: twinDevice,
    });
    const total = classify + per.top + per.bottom + per.decode;
    emit({
      name: 'generate_thesis_total_per_clip',
      ...base,
      step_s: Number(total.toFixed(4)),
      twin_s: null,
      ratio: null,
      twin_device: null,
      real_time_factor: Number((total / 7.2).toFixed(3)),
      models: `${models.codec.config.kind}/${models.codec.config.preset}, priors ${models.top.config.preset}`,
    });
  } finally {
    clf.dispose();
    disposeSoundModels(models);
  }
}

runCli(main);
