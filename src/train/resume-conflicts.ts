/**
 * `--resume` continues a run with the settings stored in its checkpoint. A flag given with it that
 * says otherwise (another model, preset, data, batch size, learning rate, seed…) would be silently
 * ignored, so it is refused with one line naming each flag, the value asked and the run's value.
 */
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
