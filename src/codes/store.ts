/**
 * Extracted codes on disk, compact: codes.json (what, from which codec and dataset, one entry per
 * clip with id, label and split) + top.u16 and bottom.u16 (little-endian uint16, clips × length).
 * The priors (F3) train on these.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../util/errors';
import { writeFileAtomic } from '../util/fs';

export const CODES_FORMAT = 'soundtrack-lab/codes';

export interface ClipCodesInfo {
  id: string;
  label: number;
  className: string;
  split: 'train' | 'val';
  /** Index of the 7.2-s segment within its recording. */
  segment: number;
  source: string;
}

export interface CodesMeta {
  format: typeof CODES_FORMAT;
  version: 1;
  codec: { checkpoint: string; kind: string; preset: string; step: number; codebookSize: number };
  dataset: { spec: string; layout: string; classes: string[] };
  lengths: { top: number | null; bottom: number };
  clips: ClipCodesInfo[];
}

export interface CodeSet {
  meta: CodesMeta;
  /** [clips][length] */
  top: Uint16Array[] | null;
  bottom: Uint16Array[];
}

function pack(rows: ArrayLike<number>[], len: number): Uint8Array {
  const out = new Uint16Array(rows.length * len);
  rows.forEach((r, i) => {
    if (r.length !== len) throw new Error(`code row ${i} has ${r.length} codes, expected ${len}`);
    for (let k = 0; k < len; k++) {
      const v = r[k];
      if (!(v >= 0 && v < 65536)) throw new Error(`code ${v} does not fit in uint16`);
      out[i * len + k] = v;
    }
  });
  // little-endian on every platform Node runs on; written as bytes
  return new Uint8Array(out.buffer);
}

export async function writeCodes(dir: string, set: { meta: CodesMeta; top: ArrayLike<number>[] | null; bottom: ArrayLike<number>[] }): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, 'bottom.u16'), pack(set.bottom, set.meta.lengths.bottom));
  if (set.top && set.meta.lengths.top) await writeFileAtomic(path.join(dir, 'top.u16'), pack(set.top, set.meta.lengths.top));
  // codes.json last: a folder with codes.json is complete
  await writeFileAtomic(path.join(dir, 'codes.json'), `${JSON.stringify(set.meta, null, 1)}\n`);
}

async function readRows(file: string, n: number, len: number): Promise<Uint16Array[]> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch (e) {
    throw new InputError(file, 'not-found', 'codes file missing', { cause: e });
  }
  if (buf.length !== n * len * 2)
    throw new InputError(file, 'truncated', `holds ${buf.length} bytes, codes.json needs ${n} clips × ${len} codes × 2 bytes = ${n * len * 2}`);
  const all = new Uint16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  return Array.from({ length: n }, (_, i) => all.subarray(i * len, (i + 1) * len));
}

/** Every code must index the codec's codebook; a corrupt file would otherwise crash the priors' embedding lookup. */
function checkCodeRange(file: string, rows: readonly Uint16Array[], size: number): void {
  if (!(Number.isInteger(size) && size > 0)) throw new InputError(file, 'bad-argument', `codes.json gives no valid codebook size (${JSON.stringify(size)})`);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as Uint16Array;
    for (let j = 0; j < r.length; j++) {
      if ((r[j] as number) >= size)
        throw new InputError(
          file,
          'bad-argument',
          `clip ${i} holds code ${r[j]} at position ${j}, outside the codebook of ${size} codes (corrupt codes file?)`,
        );
    }
  }
}

export async function readCodes(dir: string): Promise<CodeSet> {
  const metaFile = path.join(dir, 'codes.json');
  let meta: CodesMeta;
  try {
    meta = JSON.parse(await fsp.readFile(metaFile, 'utf8')) as CodesMeta;
  } catch (e) {
    throw new InputError(metaFile, 'not-found', `no readable codes.json (extract codes with npm run codes): ${(e as Error).message}`, { cause: e });
  }
  if (meta.format !== CODES_FORMAT) throw new InputError(metaFile, 'bad-argument', `not a codes folder (format ${JSON.stringify(meta.format)})`);
  const n = meta.clips.length;
  const bottom = await readRows(path.join(dir, 'bottom.u16'), n, meta.lengths.bottom);
  const top = meta.lengths.top ? await readRows(path.join(dir, 'top.u16'), n, meta.lengths.top) : null;
  checkCodeRange(path.join(dir, 'bottom.u16'), bottom, meta.codec.codebookSize);
  if (top) checkCodeRange(path.join(dir, 'top.u16'), top, meta.codec.codebookSize);
  const classes = meta.dataset?.classes?.length ?? 0;
  const badLabel = meta.clips.findIndex((c) => !(Number.isInteger(c.label) && c.label >= 0 && c.label < classes));
  if (badLabel >= 0)
    throw new InputError(
      metaFile,
      'bad-argument',
      `clip ${badLabel} has label ${JSON.stringify(meta.clips[badLabel]?.label)}, outside the ${classes} classes listed (corrupt codes.json?)`,
    );
  return { meta, top, bottom };
}
