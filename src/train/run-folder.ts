/**
 * What both trainers do before they build a model: open the run folder (resume its checkpoint when
 * asked, refuse to overwrite one otherwise) and settle the training settings (those the checkpoint
 * stored when resuming, else the preset's defaults with the caller's overrides).
 */
import * as path from 'node:path';
import { CheckpointError, findCheckpoint, type LoadedCheckpoint, loadCheckpoint } from '../checkpoint/checkpoint';
import { RunFolderError } from './errors';

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

/** The loop options that follow from a run's settings: cosine schedule with warm-up (floor 0.1), clipping, seed. */
export function settingsLoopOptions(settings: { learningRate: number; warmupSteps: number; steps: number; clipNorm: number; seed: number }) {
  const { learningRate: peak, warmupSteps, steps: totalSteps, clipNorm, seed } = settings;
  return { schedule: { kind: 'cosine' as const, peak, warmupSteps, totalSteps, floor: 0.1 }, clipNorm, seed };
}
