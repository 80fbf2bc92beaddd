import { promises as fsp, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Write a file atomically: write a temp file beside the target, fsync it, then rename it over the
 * target. A reader never sees a half-written file and a crash leaves the old file intact.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await fsp.open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, file);
  } catch (e) {
    // a failed write (disk full, file size limit) leaves no partial temp file behind
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fsp.access(file, fsc.F_OK);
    return true;
  } catch {
    return false;
  }
}

export async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Files directly inside `dir` (not recursive), sorted by name, whose extension is in `exts` (lower case, with dot). */
export async function listFiles(dir: string, exts: readonly string[]): Promise<string[]> {
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && exts.includes(path.extname(e.name).toLowerCase()))
    .map((e) => path.join(dir, e.name))
    .sort(naturalCompare);
}

/** Compare strings so that "cat_2" < "cat_10". */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
