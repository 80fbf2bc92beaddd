/**
 * npm run bench:cpu runs this: whole training-loop steps (batch preparation, gradients, Adam, codebook
 * updates) with `--workers N` gradient threads, for the thesis codec on the embedded data or the thesis
 * Top prior (class → 901 tokens) on random codes of the thesis' lengths. Prints one JSON line with the
 * median seconds per step after the first.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src/backend/index';
import { writeCodes, type CodesMeta } from '../src/codes/store';
import { THESIS_CODES } from '../src/models/presets';
import { trainCodec } from '../src/train/codec';
import { trainPrior } from '../src/train/prior';
import { parseCli, runCli } from '../src/util/cli';
import { Rng } from '../src/util/rng';
import { emit, peakRssGiB } from './common';

async function randomCodes(dir: string, clips: number): Promise<void> {
  const rng = new Rng(1);
  const meta: CodesMeta = {
    format: 'soundtrack-lab/codes',
    version: 1,
    codec: { checkpoint: 'random', kind: 'raw-vqvae2', preset: 'thesis', step: 0, codebookSize: THESIS_CODES.codes },
    dataset: { spec: 'random', layout: 'folder', classes: ['cat', 'dog'] },
    lengths: { top: THESIS_CODES.topLength, bottom: THESIS_CODES.bottomLength },
    clips: Array.from({ length: clips }, (_, i) => ({
      id: `r${i}`,
      label: i % 2,
      className: i % 2 ? 'dog' : 'cat',
      split: i < clips - 2 ? 'train' : 'val',
      segment: 0,
      source: `random/${i}`,
    })),
  };
  const codes = (n: number) => Array.from({ length: clips }, () => Uint16Array.from({ length: n }, () => rng.int(THESIS_CODES.codes)));
  await writeCodes(dir, { meta, top: codes(THESIS_CODES.topLength), bottom: codes(THESIS_CODES.bottomLength) });
}

async function main(): Promise<void> {
  const { values } = parseCli(
    process.argv.slice(2),
    {
      model: { type: 'string', default: 'codec' },
      workers: { type: 'string', default: '1' },
      steps: { type: 'string', default: '4' },
      batch: { type: 'string', default: '8' },
      'no-twin': { type: 'boolean' },
    },
    'tsx bench/train-loop.ts [--model codec|prior-top] [--workers 2] [--steps 4] [--batch 8]',
  );
  const info = await initBackend({ backend: 'wasm' });
  const workers = Number(values.workers);
  const batch = Number(values.batch);
  const steps = Number(values.steps);
  const base = mkdtempSync(path.join(os.tmpdir(), 'bench-loop-'));
  const out = path.join(base, 'run');
  const common = { out, steps, batchSize: batch, validateEvery: 1000, checkpointEvery: 1000, quiet: true, backend: 'wasm' as const, workers };
  if (values.model === 'prior-top') {
    await randomCodes(path.join(base, 'codes'), batch + 2);
    await trainPrior({ ...common, level: 'top', preset: 'thesis', codes: path.join(base, 'codes') });
  } else {
    await trainCodec({ ...common, kind: 'raw-vqvae2', preset: 'thesis', data: 'embedded' });
  }
  const secs = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { split: string; seconds?: number })
    .filter((l) => l.split === 'train')
    .map((l) => l.seconds as number)
    .slice(1)
    .sort((a, b) => a - b);
  const median = secs[Math.floor(secs.length / 2)] as number;
  rmSync(base, { recursive: true, force: true });
  const name =
    values.model === 'prior-top'
      ? `prior_top_train_loop_step_thesis_b${batch}_1to901_workers${workers}`
      : `codec_train_loop_step_thesis_b${batch}_workers${workers}`;
  emit({
    name,
    backend: info.name,
    device: info.device,
    step_s: Number(median.toFixed(3)),
    twin_s: null,
    ratio: null,
    peak_rss_gib: Number(peakRssGiB().toFixed(2)),
  });
}

runCli(main);
