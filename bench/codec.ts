/**
 * npm run bench:codec [-- --backend NAME --batch 8 --repeats 3 --preset thesis]
 * One training step of the raw-audio VQ-VAE-2 (thesis config, batch 8 × 28,800 samples) on the
 * chosen backend, next to the PyTorch twin (bench/twins/vqvae2_twin.py) in the same run.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index';
import { Codec } from '../src/models/codec';
import { codecPreset, type PresetName } from '../src/models/presets';
import { Adam } from '../src/optim/adam';
import { parseCli, runCli } from '../src/util/cli';
import { emit, peakRssGiB, ratio, runTwin, timeIt } from './common';

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      backend: { type: 'string' },
      batch: { type: 'string', default: '8' },
      repeats: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '1' },
      preset: { type: 'string', default: 'thesis' },
      'no-twin': { type: 'boolean' },
    },
    'npm run bench:codec -- [--backend NAME] [--batch 8] [--repeats 3] [--warmup 1] [--preset thesis|quick] [--no-twin]',
  );
  const info = await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  const batch = Number(values.batch);
  const preset = values.preset as PresetName;
  const cfg = codecPreset('raw-vqvae2', preset);
  const codec = new Codec(cfg);
  const adam = new Adam();
  const vars = codec.params.trainable();
  const byVar = new Map([...vars].map(([n, v]) => [v.name, n]));
  const x = tf.randomNormal([batch, cfg.clipSamples, 1], 0, 0.1) as tf.Tensor3D;
  const step = () => {
    const { value, grads } = tf.variableGrads(() => codec.model.forward(x).loss, [...vars.values()]);
    adam.apply(vars, new Map(Object.entries(grads).map(([k, g]) => [byVar.get(k) as string, g])), 3e-4);
    value.dataSync(); // wait for the step to finish
    tf.dispose([value, Object.values(grads)]);
  };
  const stepS = await timeIt(step, Number(values.repeats), Number(values.warmup));
  const rssGiB = peakRssGiB();
  const twin = values['no-twin']
    ? null
    : runTwin('vqvae2_twin.py', [
        '--batch',
        String(batch),
        '--steps',
        values.repeats as string,
        '--channels',
        String(cfg.vqvae.channels),
        '--res',
        String(cfg.vqvae.resChannels),
      ]);
  emit({
    name: `codec_train_step_${preset}_b${batch}`,
    backend: info.name,
    device: info.device,
    step_s: Number(stepS.toFixed(4)),
    twin_s: twin ? Number(twin.step_s.toFixed(4)) : null,
    ratio: ratio(stepS, twin?.step_s),
    twin_device: twin ? `pytorch ${String(twin['torch'])} ${twin.device} (${String(twin['threads'])} threads)` : null,
    params: codec.params.count(),
    peak_rss_gib: Number(rssGiB.toFixed(2)),
    cpus: os.cpus().length,
    projected_thesis_hours: Number(((stepS * 10_920) / 3600).toFixed(1)),
  });
  codec.dispose();
  adam.dispose();
}

runCli(main);
