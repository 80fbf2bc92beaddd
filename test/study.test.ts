/**
 * The study notebooks run headless on the tslab kernel with the smallest settings, so a broken
 * notebook fails CI; the runner writes executed notebooks and reports a failing cell's error.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chromePath } from '../src/study/html';
import { NotebookError, runNotebook } from '../src/study/runner';
import { tempDir } from './helpers';

const TSX = path.join(process.cwd(), 'node_modules', '.bin', 'tsx');
const dir = tempDir();

describe('notebook runner', () => {
  it('runs cells on the tslab kernel, keeps their outputs, and stops at a failing cell with its error text', async () => {
    const nb = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [
        { cell_type: 'markdown', metadata: {}, source: ['# test'] },
        {
          cell_type: 'code',
          metadata: {},
          outputs: [],
          execution_count: null,
          source: ["import { rms } from './src/audio/clips';\n", 'console.log(rms(new Float32Array([3, 4])).toFixed(3));'],
        },
        { cell_type: 'code', metadata: {}, outputs: [], execution_count: null, source: ["throw new Error('deliberate failure in cell 3');"] },
        { cell_type: 'code', metadata: {}, outputs: [], execution_count: null, source: ["console.log('never');"] },
      ],
    };
    const file = path.join(dir, 'test.ipynb');
    writeFileSync(file, JSON.stringify(nb));
    const out = path.join(dir, 'executed.ipynb');
    const e = await runNotebook(file, { out }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotebookError);
    expect((e as Error).message).toMatch(/test\.ipynb: cell 3 failed: .*deliberate failure in cell 3/);
    const executed = JSON.parse(readFileSync(out, 'utf8')) as { cells: Array<{ outputs?: Array<{ text?: string }> }> };
    expect(executed.cells[1]!.outputs![0]!.text).toBe('3.536\n');
    expect(executed.cells[3]!.outputs).toEqual([]);
  }, 120_000);
});

describe('npm run study --small', () => {
  it('executes all seven notebooks and writes figures, results and tables.md', () => {
    const out = path.join(dir, 'figures');
    const r = spawnSync(TSX, ['src/cli/study.ts', '--small', '--out', out], { encoding: 'utf8', env: { ...process.env, SOUNDTRACK_BACKEND: 'wasm' } });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const executed = readdirSync(path.join(out, 'notebooks')).sort();
    expect(executed).toEqual([
      '01-data.ipynb',
      '02-codecs.ipynb',
      '03-latents.ipynb',
      '04-priors.ipynb',
      '05-classifier.ipynb',
      '06-generate.ipynb',
      '07-tables.ipynb',
    ]);
    for (const n of executed) {
      const nb = JSON.parse(readFileSync(path.join(out, 'notebooks', n), 'utf8')) as { cells: Array<{ cell_type: string; outputs?: unknown[] }> };
      expect(
        nb.cells.filter((c) => c.cell_type === 'code').every((c) => (c.outputs ?? []).length > 0),
        n,
      ).toBe(true);
    }
    const tables = readFileSync(path.join(out, 'tables.md'), 'utf8');
    expect(tables).toMatch(/\| parameters per prior \| 5,341,084 \| 5,341,084 \|/);
    expect(tables).toMatch(/\| codec parameters \| 580,641 \| 580,685 \|/);
    expect(existsSync(path.join(out, '03-fig14-raw-vqvae2-top.html'))).toBe(true);
    if (chromePath()) expect(existsSync(path.join(out, '03-fig14-raw-vqvae2-top.png'))).toBe(true);
    for (const k of ['01-data', '02-codecs', '03-latents', '04-priors', '05-classifier', '06-generate'])
      expect(existsSync(path.join(out, 'results', `${k}.json`)), k).toBe(true);
  }, 900_000);
});
