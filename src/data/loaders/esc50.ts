/**
 * ESC-50 (Piczak 2015): `meta/esc50.csv` (filename, fold, target, category, esc10, src_file, take)
 * and `audio/<filename>.wav` (5 s, 44.1 kHz). Classes are categories; default `cat` and `dog`.
 * Split: one fold (default 5) is the validation set, the other four train.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { DatasetError } from '../../util/errors';
import { orderClasses, type AudioDataset, type AudioItem } from '../dataset';

export const ESC50_META = path.join('meta', 'esc50.csv');

export interface Esc50Options {
  categories?: readonly string[];
  valFold?: number;
}

export async function openEsc50Dataset(root: string, options: Esc50Options = {}): Promise<AudioDataset> {
  const metaFile = path.join(root, ESC50_META);
  let text: string;
  try {
    text = await fsp.readFile(metaFile, 'utf8');
  } catch (e) {
    throw new DatasetError(root, 'bad-dataset', `not an ESC-50 folder: cannot read ${ESC50_META}`, { cause: e });
  }
  const rows = parse(text, { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
  if (rows.length === 0 || !('filename' in (rows[0] as object)) || !('category' in (rows[0] as object))) {
    throw new DatasetError(metaFile, 'bad-dataset', 'esc50.csv lacks the filename/category columns');
  }
  const wanted = options.categories ?? ['cat', 'dog'];
  const valFold = options.valFold ?? 5;
  const present = rows.map((r) => r['category'] ?? '').filter((c) => wanted.includes(c));
  const classes = orderClasses(present);
  const notes: string[] = [`validation fold ${valFold}`];
  const items: AudioItem[] = [];
  let missing = 0;
  for (const r of rows) {
    const label = classes.indexOf(r['category'] ?? '');
    if (label < 0) continue;
    const filename = r['filename'] ?? '';
    const file = path.join(root, 'audio', filename);
    try {
      await fsp.access(file);
    } catch {
      missing++;
      continue;
    }
    const fold = Number(r['fold']);
    items.push({
      id: filename.replace(/\.[^.]+$/, ''),
      path: file,
      label,
      className: classes[label] as string,
      fold,
      split: fold === valFold ? 'test' : 'train',
    });
  }
  if (missing > 0) notes.push(`${missing} file(s) listed in esc50.csv are missing from audio/`);
  if (items.length === 0) throw new DatasetError(root, 'bad-dataset', `ESC-50 has no audio for categories ${wanted.join(', ')}`);
  return { name: 'esc50', root, layout: 'esc50', classes, items, negatives: [], notes };
}
