import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index';
import { readCodes, writeCodes, type CodesMeta } from '../src/codes/store';
import { perplexityReport } from '../src/metrics/perplexity';
import { checkPriorGradientParity } from '../src/train/parity';
import { priorRows, trainPrior } from '../src/train/prior';
import { loadPrior } from '../src/checkpoint/models';
import { Rng } from '../src/util/rng';
import { tempDir } from './helpers';

const dir = tempDir();
const codesDir = path.join(dir, 'codes');

/** Synthetic codes with class structure: cats use low codes, dogs high codes; bottom = top repeated ×4 with an offset. */
async function writeSyntheticCodes(): Promise<void> {
  const K = 16;
  const rng = new Rng(3);
  const clips: CodesMeta['clips'] = [];
  const top: Uint16Array[] = [];
  const bottom: Uint16Array[] = [];
  for (let i = 0; i < 40; i++) {
    const label = i % 2;
    const t = Uint16Array.from({ length: 12 }, (_, j) => (label === 0 ? j % 4 : 8 + ((j + rng.int(2)) % 4)));
    const b = Uint16Array.from({ length: 48 }, (_, j) => ((t[Math.floor(j / 4)] as number) + (j % 4)) % K);
    clips.push({ id: `clip${i}`, label, className: label ? 'dog' : 'cat', split: i < 32 ? 'train' : 'val', segment: 0, source: `synthetic/${i}` });
    top.push(t);
    bottom.push(b);
  }
  await writeCodes(codesDir, {
    meta: {
      format: 'soundtrack-lab/codes',
      version: 1,
      codec: { checkpoint: 'synthetic', kind: 'raw-vqvae2', preset: 'quick', step: 0, codebookSize: K },
      dataset: { spec: 'synthetic', layout: 'folder', classes: ['cat', 'dog'] },
      lengths: { top: 12, bottom: 48 },
      clips,
    },
    top,
    bottom,
  });
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  await writeSyntheticCodes();
});

function valLosses(out: string): number[] {
  return readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { split: string; val_loss?: number })
    .filter((l) => l.split === 'val')
    .map((l) => l.val_loss as number);
}

describe('prior training on extracted codes', () => {
  it('the Top prior (quick preset) learns: validation loss falls; checkpoint, perplexities', async () => {
    const out = path.join(dir, 'top');
    const r = await trainPrior({ level: 'top', preset: 'quick', codes: codesDir, out, steps: 40, validateEvery: 10, quiet: true });
    expect(r.config.windows.self).toBe(64);
    const v = valLosses(out);
    expect(v.length).toBeGreaterThanOrEqual(4);
    expect(v[v.length - 1]!).toBeLessThan(v[0]! * 0.7);
    const { prior } = await loadPrior(out, 'top');
    const set = await readCodes(codesDir);
    const rows = priorRows(set, 'top', 'val', prior.vocab);
    const p = perplexityReport(prior, { sources: rows.sources, targets: rows.targets }, { samples: 2 });
    expect(p.teacherForced).toBeGreaterThan(1);
    expect(p.teacherForced).toBeLessThan(16); // better than uniform over 16 codes
    expect(p.ownSamples).toBeLessThan(p.teacherForced * 2);
    prior.dispose();
  });

  it('the Bottom prior trains from top codes; an existing run is never overwritten', async () => {
    const out = path.join(dir, 'bottom');
    const r = await trainPrior({ level: 'bottom', preset: 'quick', codes: codesDir, out, steps: 4, batchSize: 4, quiet: true });
    expect(r.config.sourceLength).toBe(12);
    expect(r.config.targetLength).toBe(48);
    expect(r.step).toBe(4);
    await expect(trainPrior({ level: 'bottom', preset: 'quick', codes: codesDir, out, steps: 4, quiet: true })).rejects.toThrow(/already holds a training run/);
  });

  it('the Bottom prior trains data-parallel with 2 workers (own dropout masks per share): validation loss within 5 % of one thread', async () => {
    const common = { level: 'bottom' as const, preset: 'quick' as const, codes: codesDir, steps: 3, batchSize: 4, validateEvery: 3, quiet: true };
    const one = await trainPrior({ ...common, out: path.join(dir, 'bottom-1') });
    const two = await trainPrior({ ...common, out: path.join(dir, 'bottom-2'), workers: 2 });
    expect(two.step).toBe(3);
    const l1 = one.validation['val_loss'] as number;
    const l2 = two.validation['val_loss'] as number;
    expect(Number.isFinite(l2)).toBe(true);
    expect(Math.abs(l2 - l1) / l1).toBeLessThan(0.05);
  }, 120_000);

  it('gradient parity: wasm and cpu give the same prior gradients', async () => {
    const r = await checkPriorGradientParity();
    expect(r.backend).toBe('wasm');
    expect(r.ok).toBe(true);
    expect(r.maxRelative).toBeLessThan(1e-2);
  });
});
