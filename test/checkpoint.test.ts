import { promises as fsp, readdirSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CheckpointMeta, exportCheckpoint, findCheckpoint, loadCheckpoint, saveCheckpoint } from '../src/checkpoint/checkpoint';
import { Params } from '../src/models/nn';
import { DEFAULT_ADAM } from '../src/optim/adam';
import { tempDir } from './helpers';

const dir = tempDir();

/** The file-system calls a save makes that change the disk; a kill or an I/O error can hit before any of them. */
const MUTATING = ['mkdir', 'writeFile', 'open', 'rename', 'rm'] as const;
type Mutating = (typeof MUTATING)[number];

function meta(step: number): Omit<CheckpointMeta<{ n: number }>, 'format' | 'version' | 'createdAt' | 'optimizer'> {
  return {
    kind: 'test',
    model: { n: step },
    step,
    trainSeconds: step,
    software: { soundtrackLab: 'test', tfjs: tf.version.tfjs, backend: tf.getBackend() },
    train: {},
    rng: null,
    sampler: null,
    data: null,
    metrics: { step },
  };
}

/** Parameters (and Adam moments) whose every entry is `value`, so a loaded checkpoint tells which save it came from. */
function saveAt(runDir: string, step: number, value: number, keep?: number): Promise<string> {
  const params = new Params(0);
  params.create('w', [2, 3], { kind: 'zeros' }).assign(tf.fill([2, 3], value));
  const m = new Map([['w', tf.fill([2, 3], value / 10)]]);
  const v = new Map([['w', tf.fill([2, 3], value / 100)]]);
  return saveCheckpoint(runDir, {
    meta: meta(step),
    params,
    optimizer: { config: DEFAULT_ADAM, state: { step, m, v } },
    ...(keep ? { keep } : {}),
  });
}

/** Load a checkpoint and check that weights, moments and metadata all belong to the save of `step` with `value`. */
async function expectComplete(where: string, step: number, value: number): Promise<void> {
  const ck = await loadCheckpoint<{ n: number }>(where, 'test');
  expect(ck.meta.step).toBe(step);
  expect(ck.meta.model.n).toBe(step);
  expect(Array.from(ck.weights['w']!.dataSync())).toEqual(new Array(6).fill(value));
  expect(ck.optimizer?.step).toBe(step);
  expect(ck.optimizer?.m.get('w')?.dataSync()[0]).toBeCloseTo(value / 10, 6);
  expect(ck.optimizer?.v.get('w')?.dataSync()[0]).toBeCloseTo(value / 100, 6);
}

/** Every step-NNNNNNN folder in the run is a complete checkpoint (a reader may pick any of them). */
async function expectEveryStepFolderComplete(runDir: string, valueFor: (step: number) => number): Promise<void> {
  for (const name of readdirSync(runDir).filter((n) => /^step-\d{7}$/.test(n))) {
    const step = Number(name.slice(5));
    await expectComplete(path.join(runDir, name), step, valueFor(step));
  }
}

/**
 * Spy on the mutating fs.promises calls. `action(k)` decides for the k-th call (0-based):
 * 'pass', 'hang' (the promise never settles: the process was killed right before this call) or
 * 'fail' (an I/O error). Returns the log of calls.
 */
function interceptFs(action: (k: number) => 'pass' | 'hang' | 'fail'): Array<{ fn: Mutating; args: string[] }> {
  const log: Array<{ fn: Mutating; args: string[] }> = [];
  for (const fn of MUTATING) {
    const real = fsp[fn].bind(fsp) as (...a: unknown[]) => Promise<unknown>;
    vi.spyOn(fsp, fn).mockImplementation(((...args: unknown[]) => {
      const k = log.length;
      log.push({ fn, args: args.filter((a) => typeof a === 'string') as string[] });
      const what = action(k);
      if (what === 'hang') return new Promise(() => {});
      if (what === 'fail') return Promise.reject(Object.assign(new Error(`injected I/O error at ${fn} #${k}`), { code: 'EIO' }));
      return real(...args);
    }) as never);
  }
  return log;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('checkpoint saves interrupted at every step of the write', () => {
  it('a dry run: weights go to a temp folder, which is renamed into place before latest.json is replaced', async () => {
    const run = path.join(dir, 'dry');
    await saveAt(run, 1, 1);
    const log = interceptFs(() => 'pass');
    await saveAt(run, 2, 2);
    vi.restoreAllMocks();
    const writes = log.filter((c) => c.fn === 'writeFile').map((c) => c.args[0]!);
    expect(writes.length).toBeGreaterThanOrEqual(4); // weights.bin, model.json, optimizer.bin/.json, checkpoint.json
    for (const w of writes) expect(path.basename(path.dirname(w))).toMatch(/^\.step-0000002\..*\.tmp$/);
    const stepRename = log.findIndex((c) => c.fn === 'rename' && c.args[1] === path.join(run, 'step-0000002'));
    const latestRename = log.findIndex((c) => c.fn === 'rename' && c.args[1] === path.join(run, 'latest.json'));
    expect(stepRename).toBeGreaterThan(log.map((c) => c.fn).lastIndexOf('writeFile'));
    expect(latestRename).toBeGreaterThan(stepRename);
    await expectComplete(run, 2, 2);
  });

  // How many mutating calls a save of step 2 over a run holding step 1 makes (counted by a dry run).
  async function callsOfASave(): Promise<Array<{ fn: Mutating; args: string[] }>> {
    const run = path.join(dir, `count-${Math.random().toString(36).slice(2)}`);
    await saveAt(run, 1, 1);
    const log = interceptFs(() => 'pass');
    await saveAt(run, 2, 2);
    vi.restoreAllMocks();
    return log;
  }

  for (const mode of ['hang', 'fail'] as const) {
    const what = mode === 'hang' ? 'a kill' : 'an I/O error';
    it(`${what} before each write, rename and latest.json: the run stays loadable at step 1 or 2, and a resumed save continues`, async () => {
      const dry = await callsOfASave();
      expect(dry.length).toBeGreaterThanOrEqual(8);
      const latestAt = dry.findIndex((c) => c.fn === 'rename' && c.args[1]?.endsWith('latest.json'));
      expect(latestAt).toBeGreaterThan(0);
      for (let k = 0; k < dry.length; k++) {
        const run = path.join(dir, `${mode}-${k}`);
        await saveAt(run, 1, 1);
        let reached: () => void = () => {};
        const hit = new Promise<void>((r) => {
          reached = r;
        });
        const log = interceptFs((i) => {
          if (i !== k) return 'pass';
          reached();
          return mode;
        });
        const save = saveAt(run, 2, 2);
        if (mode === 'hang') {
          await hit; // the save is frozen before call k, forever: what is on disk now is what a kill leaves
        } else {
          await expect(save).rejects.toThrow(/injected I\/O error/);
        }
        vi.restoreAllMocks();
        const at = `interrupted before ${log[k]?.fn} #${k} (${log[k]?.args.map((a) => path.basename(a)).join(' → ')})`;
        // latest.json is replaced by the rename at `latestAt`: before it the run is at step 1, after it at step 2
        const expected = k > latestAt ? 2 : 1;
        await expect(findCheckpoint(run), at).resolves.toBe(path.join(run, `step-000000${expected}`));
        await expectComplete(run, expected, expected);
        await expectEveryStepFolderComplete(run, (s) => s);
        if (mode === 'fail' && k < latestAt) {
          // an error leaves no temp folder behind (a kill may; the next save ignores it)
          expect(
            readdirSync(run).filter((n) => n.startsWith('.step-')),
            at,
          ).toEqual([]);
        }
        // resume: the run saves step 2 again (other weights), then step 3; keep = 2 prunes step 1
        await saveAt(run, 2, 20);
        await expectComplete(run, 2, 20);
        await saveAt(run, 3, 3);
        await expectComplete(run, 3, 3);
        expect(readdirSync(run).filter((n) => /^step-/.test(n))).toEqual(['step-0000002', 'step-0000003']);
        await expectEveryStepFolderComplete(run, (s) => (s === 2 ? 20 : s));
        void save.catch(() => {});
      }
    }, 120_000);
  }
});

describe('checkpoint round trip', () => {
  it('keep: only the newest `keep` step folders stay; latest.json names the newest', async () => {
    const run = path.join(dir, 'keep');
    for (let s = 1; s <= 4; s++) await saveAt(run, s, s, 3);
    expect(readdirSync(run).filter((n) => /^step-/.test(n))).toEqual(['step-0000002', 'step-0000003', 'step-0000004']);
    await expectComplete(run, 4, 4);
    await expectComplete(path.join(run, 'step-0000002'), 2, 2);
    await saveAt(run, 5, 5);
    expect(readdirSync(run).filter((n) => /^step-/.test(n))).toEqual(['step-0000004', 'step-0000005']);
  });

  it('export copies weights and metadata without the optimizer moments', async () => {
    const run = path.join(dir, 'exp');
    await saveAt(run, 7, 7);
    const out = await exportCheckpoint(run, path.join(dir, 'exported'));
    const ck = await loadCheckpoint<{ n: number }>(out, 'test');
    expect(ck.meta.step).toBe(7);
    expect(ck.optimizer).toBeNull();
    expect(Array.from(ck.weights['w']!.dataSync())).toEqual(new Array(6).fill(7));
  });
});
