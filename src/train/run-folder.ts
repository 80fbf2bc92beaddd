/**
 * What both trainers do before they build a model: open the run folder (resume its checkpoint when
 * asked, refuse to overwrite one otherwise) and settle the training settings (those the checkpoint
 * stored when resuming, else the preset's defaults with the caller's overrides).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { CheckpointError, findCheckpoint, type LoadedCheckpoint, loadCheckpoint } from '../checkpoint/checkpoint';
import type { AudioDataset, AudioItem } from '../data/dataset';
import { DatasetError, RunFolderError } from './errors';

/** The checkpoint to resume (`resume`), or null for a new run in an empty folder. */
export async function resumeOrRefuse<Config>(out: string, kind: string, resume: boolean | undefined): Promise<LoadedCheckpoint<Config> | null> {
  const dir = path.resolve(out);
  const existing = await findCheckpoint(dir);
  if (resume) {
    if (!existing) throw new RunFolderError(dir, 'nothing to resume: no checkpoint in this folder');
    return loadCheckpoint<Config>(dir, kind);
  }
  if (existing) throw new RunFolderError(dir, 'already holds a training run; pass --resume to continue it or choose another --out (nothing was overwritten)');
  return null;
}

export type Overrides<Settings> = { [K in keyof Settings]?: Settings[K] | undefined };

/**
 * The settings of a run: on resume those stored in the checkpoint (each key of `defaults` must be
 * there, with the same type), else `defaults` with every override that is not undefined.
 */
export function trainSettings<Settings extends Record<string, unknown>>(
  resume: LoadedCheckpoint<unknown> | null,
  defaults: Settings,
  overrides: Overrides<Settings>,
): Settings {
  if (resume) {
    const stored = resume.meta.train;
    for (const [k, v] of Object.entries(defaults)) {
      if (typeof stored[k] !== typeof v) throw new CheckpointError(resume.dir, `its training settings lack '${k}' (a ${typeof v})`);
    }
    return { ...stored } as Settings;
  }
  const settings = { ...defaults };
  for (const k of Object.keys(overrides) as Array<keyof Settings>) {
    const v = overrides[k];
    if (v !== undefined) settings[k] = v as Settings[keyof Settings];
  }
  return settings;
}

/** The loop options that follow from a run's settings: cosine schedule with warm-up (to `floor` × peak, default 0.1), clipping, seed. */
export function settingsLoopOptions(settings: { learningRate: number; warmupSteps: number; steps: number; clipNorm: number; seed: number }, floor = 0.1) {
  const { learningRate: peak, warmupSteps, steps: totalSteps, clipNorm, seed } = settings;
  return { schedule: { kind: 'cosine' as const, peak, warmupSteps, totalSteps, floor }, clipNorm, seed };
}

/** [flag, value asked (undefined = not given), value stored in the run]. */
export type ResumeSetting = [flag: string, asked: unknown, stored: unknown];

function same(flag: string, a: unknown, b: unknown): boolean {
  if (flag === '--data' || flag === '--codes') {
    const norm = (x: unknown) => (x === 'embedded' ? x : path.resolve(String(x)));
    return norm(a) === norm(b);
  }
  if (typeof a === 'number' || typeof b === 'number') return Number(a) === Number(b);
  return a === b;
}

export function refuseResumeConflicts(out: string, settings: readonly ResumeSetting[]): void {
  const bad = settings.filter(([flag, asked, stored]) => asked !== undefined && stored !== undefined && !same(flag, asked, stored));
  if (bad.length === 0) return;
  const list = bad.map(([flag, asked, stored]) => `${flag} ${String(asked)} (the run has ${String(stored)})`).join(', ');
  throw new RunFolderError(
    out,
    `--resume continues this run with its own settings, but ${list} was given; drop ${bad.map(([f]) => f).join(' and ')} to resume, or start a new run with another --out`,
  );
}

/**
 * A new run must not replace what another run left: a non-empty metrics.jsonl without a checkpoint
 * (a run killed before its first checkpoint, or files copied there) is refused, not truncated.
 */
export async function refuseForeignMetrics(out: string): Promise<void> {
  const file = path.join(out, 'metrics.jsonl');
  const st = await fsp.stat(file).catch(() => null);
  if (st && st.size > 0) {
    throw new RunFolderError(
      file,
      `holds the metrics of another run (${st.size} bytes) and no checkpoint to resume; choose another --out or move the file away (nothing was overwritten)`,
    );
  }
}

export { removeOrphanTemps } from '../checkpoint/orphans';

/**
 * Run `train` for a run folder; when it fails before writing any checkpoint, remove what it created
 * (a folder that did not exist before, or an empty metrics.jsonl), so a refused or crashed start
 * leaves nothing behind.
 */
export async function cleanUpFailedStart<T>(out: string, train: () => Promise<T>): Promise<T> {
  const abs = path.resolve(out);
  const existed = await fsp.stat(abs).then(
    () => true,
    () => false,
  );
  const hadMetrics = await fsp.stat(path.join(abs, 'metrics.jsonl')).then(
    () => true,
    () => false,
  );
  try {
    return await train();
  } catch (e) {
    const names = await fsp.readdir(abs).catch(() => null);
    if (names && !names.includes('latest.json')) {
      if (!existed) await fsp.rm(abs, { recursive: true, force: true });
      else if (!hadMetrics) {
        const st = await fsp.stat(path.join(abs, 'metrics.jsonl')).catch(() => null);
        if (st && st.size === 0) await fsp.rm(path.join(abs, 'metrics.jsonl'), { force: true });
      }
    }
    throw e;
  }
}

/**
 * The recordings a run trains and validates on: on resume the checkpoint's own split (by id, each
 * checked against the data set), else `fresh()` — so a resumed run never sees another split.
 */
export function runSplit(
  ds: AudioDataset,
  resume: LoadedCheckpoint<unknown> | null,
  fresh: () => { train: AudioItem[]; val: AudioItem[] },
): { train: AudioItem[]; val: AudioItem[] } {
  const data = resume?.meta.data;
  if (!data) return fresh();
  const byId = new Map(ds.items.map((i) => [i.id, i]));
  const pick = (ids: string[]) =>
    ids.map((id) => {
      const it = byId.get(id);
      if (!it) throw new DatasetError(ds.root, 'bad-dataset', `the checkpoint's data split lists '${id}', which this dataset does not have`);
      return it;
    });
  return { train: pick(data.train), val: pick(data.val) };
}

/** The data record a checkpoint keeps: where the recordings are, their layout and the split by id (what runSplit reads back). */
export function splitRecord(spec: string, ds: AudioDataset, split: { train: readonly AudioItem[]; val: readonly AudioItem[] }) {
  return { spec, layout: ds.layout, train: split.train.map((i) => i.id), val: split.val.map((i) => i.id) };
}
