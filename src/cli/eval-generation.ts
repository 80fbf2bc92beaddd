/** npm run eval:generation -- [--data embedded|DIR] [--n 8] [--codec DIR --top DIR --bottom DIR] [--seed 0] [--json] */
import { initBackend } from '../backend/index';
import { formatFad } from '../metrics/fad';
import { evaluateGeneration } from '../metrics/generation';
import { shippedPath } from '../pipeline/models';
import { disposeSoundModels, loadSoundModels } from '../pipeline/sound';
import { parseCli, runCli } from '../util/cli';
import { flag, samplingFlags } from '../util/flags';

const USAGE = `npm run eval:generation -- [--data embedded|DIR] [--n 8] [--codec DIR --top DIR --bottom DIR] [--top-k 6] [--guidance 1] [--seed 0] [--json] [--backend NAME]
Trains a small cat/dog audio classifier on the real clips of --data (reports its held-out accuracy), generates
N clips per class and reports the share classified as the asked class and FAD against the real clips.`;

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      data: { type: 'string', default: 'embedded' },
      n: { type: 'string', default: '8' },
      codec: { type: 'string' },
      top: { type: 'string' },
      bottom: { type: 'string' },
      'top-k': { type: 'string', default: '6' },
      guidance: { type: 'string', default: '1' },
      seed: { type: 'string', default: '0' },
      json: { type: 'boolean' },
      backend: { type: 'string' },
    },
    USAGE,
  );
  const n = flag('n', values.n) as number; // ≥ 2: FAD needs at least two clips
  const { seed, ...sampling } = samplingFlags(values);
  await initBackend(values.backend ? { backend: values.backend as 'auto' } : {});
  const models = await loadSoundModels({ codec: values.codec ?? shippedPath('codec'), top: values.top ?? shippedPath('top'), bottom: values.bottom ?? shippedPath('bottom') });
  try {
    const r = await evaluateGeneration(models, { data: String(values.data), perClass: n, seed: Number(seed), sampling });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ...r, models: models.sources })}\n`);
      return;
    }
    const lines = [
      `audio classifier (mel-stats + logistic regression): ${(100 * r.audioClassifier.heldOutAccuracy).toFixed(1)} % on ${r.audioClassifier.heldOutClips} real held-out clips (trained on ${r.audioClassifier.trainClips})`,
      ...r.perClass.map((c) => `${c.className}: ${c.generated} generated, ${(100 * c.classifiedAsAsked).toFixed(1)} % classified as ${c.className}\n  ${formatFad(c.fad)}`),
      `class fidelity (mean): ${(100 * r.fidelity).toFixed(1)} % · ${r.secondsPerClip.toFixed(2)} s per generated 7.2-s clip`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    disposeSoundModels(models);
  }
}

runCli(main);
