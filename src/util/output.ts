/**
 * Output destinations of the commands (`--out`): checked before any computation (not the input
 * itself, not a folder, a parent that is a writable folder), written through a temp file beside the
 * target that is removed on every failure, and any failure reported as one line naming the flag,
 * the path and the cause (never the hidden temp path).
 */
import { constants as fsc, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { UsageError } from './errors';
import { InputError } from './errors';

/** A failure to create or write an output: names the flag and the path. */
export class OutputError extends InputError {
  readonly flag: string;
  constructor(file: string, flag: string, detail: string, options?: { cause?: unknown }) {
    super(file, 'bad-argument', `${flag}: ${detail}`, options);
    this.name = 'OutputError';
    this.flag = flag;
  }
}

function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EFBIG: 'the file size limit was reached',
    EDQUOT: 'the disk quota is exceeded',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'the file system is read-only',
    ENOTDIR: 'a parent is not a folder',
    EISDIR: 'is a folder',
    ENAMETOOLONG: 'the name is too long',
    ENOENT: 'the folder does not exist',
  };
  return err?.code && why[err.code] ? `${why[err.code]} (${err.code})` : (err?.message ?? String(e));
}

/** Rewrap an error thrown while writing `file` as an OutputError (a temp path in its text becomes `file`). */
export function outputFailure(file: string, flag: string, e: unknown, tmp?: string): Error {
  if (e instanceof OutputError || e instanceof UsageError) return e;
  let text = errnoText(e);
  if (tmp) text = text.split(tmp).join(file);
  return new OutputError(file, flag, `cannot write: ${text}`, { cause: e });
}

async function statOrNull(p: string) {
  try {
    return await fsp.stat(p);
  } catch {
    return null;
  }
}

export interface OutputCheck {
  /** The flag that named it (default --out). */
  flag?: string;
  /** Inputs it must not be: [flag, path]. */
  inputs?: Array<[string, string]>;
  /** 'file' (default) or 'dir' (a run or codes folder). */
  kind?: 'file' | 'dir';
}

/**
 * Check that `out` can be written, before computing anything: it is not one of the inputs, it is (or
 * will be) a file/folder as asked, and its nearest existing parent is a writable folder (a probe file
 * is created and removed there). Creates nothing. Returns the absolute path.
 */
export async function checkOutput(out: string, o: OutputCheck = {}): Promise<string> {
  const flag = o.flag ?? '--out';
  const abs = path.resolve(out);
  const st = await statOrNull(abs);
  for (const [inFlag, input] of o.inputs ?? []) {
    const ist = await statOrNull(input);
    const same = path.resolve(input) === abs || (st && ist && st.dev === ist.dev && st.ino === ist.ino);
    if (same) throw new UsageError(`${flag} ${out} is the same file as ${inFlag}; choose another ${flag} (the input would be overwritten)`);
  }
  if (st && (o.kind ?? 'file') === 'file' && st.isDirectory()) throw new OutputError(out, flag, 'is a folder; give a file name');
  if (st && o.kind === 'dir' && !st.isDirectory()) throw new OutputError(out, flag, 'is a file; give a folder');
  // nearest existing ancestor
  let dir = path.dirname(abs);
  let dst = await statOrNull(dir);
  while (!dst && path.dirname(dir) !== dir) {
    dir = path.dirname(dir);
    dst = await statOrNull(dir);
  }
  if (!dst?.isDirectory()) throw new OutputError(out, flag, `cannot be created: ${dir} is not a folder`);
  try {
    await fsp.access(dir, fsc.W_OK);
    const probe = path.join(dir, `.soundtrack-probe.${process.pid}.${randomBytes(3).toString('hex')}.tmp`);
    await fsp.writeFile(probe, '');
    await fsp.rm(probe, { force: true });
  } catch (e) {
    throw new OutputError(out, flag, `cannot be written in ${dir}: ${errnoText(e)}`, { cause: e });
  }
  return abs;
}

/** A temp path beside `file` (hidden, removed by the caller on failure). */
export function tempBeside(file: string, ext = ''): string {
  const abs = path.resolve(file);
  return path.join(path.dirname(abs), `.${path.basename(abs)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp${ext}`);
}

/**
 * Write `file` through a temp file beside it: `produce(tmp)` writes the temp file, which is then
 * fsynced and renamed over `file`. The temp file is removed on every failure, and the failure is an
 * OutputError naming `flag` and `file`.
 */
export async function writeOutput(file: string, produce: (tmp: string) => Promise<void>, o: { flag?: string; ext?: string } = {}): Promise<void> {
  const flag = o.flag ?? '--out';
  const tmp = tempBeside(file, o.ext ?? '');
  try {
    await fsp.mkdir(path.dirname(tmp), { recursive: true });
    await produce(tmp);
    const h = await fsp.open(tmp, 'r+');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
    await fsp.rename(tmp, path.resolve(file));
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw outputFailure(file, flag, e, tmp);
  }
}

/** writeOutput for bytes already in memory. */
export async function writeOutputBytes(file: string, data: string | Uint8Array, o: { flag?: string } = {}): Promise<void> {
  await writeOutput(file, (tmp) => fsp.writeFile(tmp, data), o);
}
