/**
 * Temp checkpoint folders (.step-NNNNNNN.PID.HEX.tmp) left by a run killed in the middle of a save:
 * removed on the next save or resume (a folder whose writer is still alive is left alone).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

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
