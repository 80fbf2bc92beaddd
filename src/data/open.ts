/**
 * Open a dataset by name or folder, detecting its layout:
 * `embedded` → the committed default data; a folder with manifest.json (embedded format) →
 * embedded; `meta/esc50.csv` → ESC-50; `vggsound*.csv` → VGGSound; `cats_dogs/cat_N.wav` →
 * Kaggle Audio Cats and Dogs; class sub-folders with audio → folder-per-class.
 */
import { promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';
import { DatasetError } from '../util/errors';
import type { AudioDataset, DatasetLayout } from './dataset';
import { embeddedRoot, openEmbeddedDataset, readEmbeddedManifest } from './loaders/embedded';
import { ESC50_META, openEsc50Dataset, type Esc50Options } from './loaders/esc50';
import { openFolderDataset, type FolderOptions } from './loaders/folder';
import { findKaggleAudioDir, openKaggleDataset } from './loaders/kaggle';
import { findVggSoundCsv, openVggSoundDataset, type VggSoundOptions } from './loaders/vggsound';

export interface OpenDatasetOptions {
  /** Force a layout instead of detecting it. */
  layout?: DatasetLayout;
  folder?: FolderOptions;
  esc50?: Esc50Options;
  vggsound?: VggSoundOptions;
}

export async function detectLayout(root: string): Promise<DatasetLayout | null> {
  if (await readEmbeddedManifest(root)) return 'embedded';
  try {
    await fsp.access(path.join(root, ESC50_META));
    return 'esc50';
  } catch {
    // not ESC-50
  }
  if (await findVggSoundCsv(root)) return 'vggsound';
  if (await findKaggleAudioDir(root)) return 'kaggle-cats-dogs';
  const entries = await fsp.readdir(root, { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith('_') || e.name.startsWith('.')) continue;
    if (e.isDirectory() || (e.isSymbolicLink() && (await fsp.stat(path.join(root, e.name)).catch(() => null))?.isDirectory())) return 'folder';
  }
  return null;
}

/** Open `spec` ('embedded' or a folder path) as a dataset. Throws DatasetError naming the folder. */
export async function openDataset(spec: string, options: OpenDatasetOptions = {}): Promise<AudioDataset> {
  const root = spec === 'embedded' ? embeddedRoot() : path.resolve(spec);
  let st: Stats;
  try {
    st = await fsp.stat(root);
  } catch (e) {
    throw new DatasetError(root, 'not-found', spec === 'embedded' ? 'the embedded data folder is missing' : 'dataset folder not found', { cause: e });
  }
  if (!st.isDirectory()) throw new DatasetError(root, 'not-a-file', 'is not a folder (give the dataset folder)');
  const layout = options.layout ?? (await detectLayout(root));
  switch (layout) {
    case 'embedded':
      return openEmbeddedDataset(root);
    case 'esc50':
      return openEsc50Dataset(root, options.esc50);
    case 'vggsound':
      return openVggSoundDataset(root, options.vggsound);
    case 'kaggle-cats-dogs':
      return openKaggleDataset(root);
    case 'folder':
      return openFolderDataset(root, options.folder);
    case null:
    case undefined:
      throw new DatasetError(
        root,
        'bad-dataset',
        'no supported dataset layout found (looked for: manifest.json, meta/esc50.csv, vggsound*.csv, cats_dogs/cat_N.wav, <class>/ folders with audio)',
      );
  }
}
