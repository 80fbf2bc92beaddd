/**
 * Run folders of the trainers, guarded against bad input.
 *
 * `--resume` continues a run with the settings stored in its checkpoint. A flag given with it that
 * says otherwise (another model, preset, data, batch size, learning rate, seed…) would be silently
 * ignored, so it is refused with one line naming each flag, the value asked and the run's value.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { RunFolderError } from './errors';

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
    throw new RunFolderError(file, `holds the metrics of another run (${st.size} bytes) and no checkpoint to resume; choose another --out or move the file away (nothing was overwritten)`);
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove temp checkpoint folders (.step-NNNNNNN.PID.HEX.tmp) left by a run that was killed mid-write. */
export async function removeOrphanTemps(out: string): Promise<string[]> {
  const names = await fsp.readdir(out).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const n of names) {
    const m = /^\.step-\d{7}\.(\d+)\.[0-9a-f]+\.tmp$/.exec(n);
    if (!m || alive(Number(m[1]))) continue;
    await fsp.rm(path.join(out, n), { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
}

/**
 * Run `train` for a run folder; when it fails before writing any checkpoint, remove what it created
 * (a folder that did not exist before, or an empty metrics.jsonl), so a refused or crashed start
 * leaves nothing behind.
 */
export async function cleanUpFailedStart<T>(out: string, train: () => Promise<T>): Promise<T> {
  const abs = path.resolve(out);
  const existed = await fsp.stat(abs).then(() => true, () => false);
  const hadMetrics = await fsp.stat(path.join(abs, 'metrics.jsonl')).then(() => true, () => false);
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
