/**
 * Kaggle "Audio Cats and Dogs" (mmoreaux) — the cat/dog subset of the Acoustic Event Dataset the
 * thesis trained on. Layout: `cats_dogs/cat_<N>.wav`, `cats_dogs/dog_barking_<N>.wav` (16 kHz
 * mono), optionally `train_test_split.csv` with columns test_cat, test_dog, train_cat, train_dog
 * listing file names. `root` may be the folder holding `cats_dogs/` or `cats_dogs/` itself.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { DatasetError } from '../../util/errors';
import { isDirectory, listFiles } from '../../util/fs';
import type { AudioDataset, AudioItem } from '../dataset';

export const KAGGLE_FILE = /^(cat|dog)(?:_barking)?_\d+\.wav$/i;

/** The folder with the wav files, or null when `root` is not this layout. */
export async function findKaggleAudioDir(root: string): Promise<string | null> {
  for (const dir of [path.join(root, 'cats_dogs'), root]) {
    if (!(await isDirectory(dir))) continue;
    const names = (await listFiles(dir, ['.wav'])).map((f) => path.basename(f));
    if (names.some((n) => /^cat_\d+\.wav$/i.test(n)) && names.some((n) => /^dog_barking_\d+\.wav$/i.test(n))) return dir;
  }
  return null;
}

async function readSplitCsv(candidates: string[], notes: string[]): Promise<Map<string, 'train' | 'test'> | null> {
  for (const file of candidates) {
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch {
      continue;
    }
    const rows = parse(text, { columns: true, skip_empty_lines: true, relax_column_count: true }) as Array<Record<string, string>>;
    const split = new Map<string, 'train' | 'test'>();
    for (const row of rows) {
      for (const [col, value] of Object.entries(row)) {
        const m = /^(train|test)_(cat|dog)$/i.exec(col.trim());
        const name = (value ?? '').trim();
        if (m && name) split.set(path.basename(name), (m[1] as string).toLowerCase() as 'train' | 'test');
      }
    }
    if (split.size === 0) {
      notes.push(`${file} has no train_cat/train_dog/test_cat/test_dog columns; ignored`);
      continue;
    }
    notes.push(`split from ${file} (${split.size} files listed)`);
    return split;
  }
  return null;
}

export async function openKaggleDataset(root: string): Promise<AudioDataset> {
  const dir = await findKaggleAudioDir(root);
  if (!dir) throw new DatasetError(root, 'bad-dataset', 'not the Kaggle Audio Cats and Dogs layout (cats_dogs/cat_N.wav, dog_barking_N.wav)');
  const notes: string[] = [];
  const split = await readSplitCsv(
    [path.join(root, 'train_test_split.csv'), path.join(path.dirname(dir), 'train_test_split.csv'), path.join(dir, 'train_test_split.csv')],
    notes,
  );
  const items: AudioItem[] = [];
  const skipped: string[] = [];
  for (const file of await listFiles(dir, ['.wav'])) {
    const name = path.basename(file);
    if (!KAGGLE_FILE.test(name)) {
      skipped.push(name);
      continue;
    }
    const cat = name.toLowerCase().startsWith('cat');
    const item: AudioItem = { id: name.replace(/\.wav$/i, ''), path: file, label: cat ? 0 : 1, className: cat ? 'cat' : 'dog' };
    const s = split?.get(name);
    if (s) item.split = s;
    items.push(item);
  }
  if (skipped.length > 0)
    notes.push(`${skipped.length} file(s) not named cat_N/dog_barking_N skipped: ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', …' : ''}`);
  if (split) {
    const unlisted = items.filter((i) => i.split === undefined).length;
    if (unlisted > 0) notes.push(`${unlisted} file(s) are not in the split CSV: a seeded split is used instead`);
  }
  return { name: 'audio-cats-and-dogs', root, layout: 'kaggle-cats-dogs', classes: ['cat', 'dog'], items, negatives: [], notes };
}
