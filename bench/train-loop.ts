/**
 * npm run bench:cpu runs this: whole training-loop steps (batch preparation, gradients, Adam,
 * codebook updates) of the thesis codec on the embedded data, with `--workers N` gradient threads.
 * Prints one JSON line with the median seconds per step after the first.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src/backend/index';
import { trainCodec } from '../src/train/codec';
import { parseCli, runCli } from '../src/util/cli';
import { emit, peakRssGiB } from './common';

async function main(): Promise<void> {
  const { values } = parseCli(process.argv.slice(2), { workers: { type: 'string', default: '1' }, steps: { type: 'string', default: '4' }, batch: { type: 'string', default: '8' }, 'no-twin': { type: 'boolean' } }, 'tsx bench/train-loop.ts [--workers 2] [--steps 4] [--batch 8]');
  const info = await initBackend({ backend: 'wasm' });
  const workers = Number(values.workers);
  const base = mkdtempSync(path.join(os.tmpdir(), 'bench-loop-'));
  const out = path.join(base, 'run');
  await trainCodec({ kind: 'raw-vqvae2', preset: 'thesis', data: 'embedded', out, steps: Number(values.steps), batchSize: Number(values.batch), validateEvery: 1000, checkpointEvery: 1000, quiet: true, backend: 'wasm', workers });
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
  emit({ name: `codec_train_loop_step_thesis_b${values.batch}_workers${workers}`, backend: info.name, device: info.device, step_s: Number(median.toFixed(3)), twin_s: null, ratio: null, peak_rss_gib: Number(peakRssGiB().toFixed(2)) });
}

runCli(main);
