/**
 * Folder-per-class layout: `<root>/<class>/**\/*.{wav,ogg,mp3,flac,…}`. Folders whose names start
 * with '_' or '.' are not classes; `_negatives/` (or `_background/`) holds background sounds for
 * augmentation.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { AUDIO_EXTENSIONS } from '../../audio/constants';
import { DatasetError } from '../../util/errors';
import { naturalCompare } from '../../util/fs';
import { orderClasses, type AudioDataset, type AudioItem } from '../dataset';

export const NEGATIVE_FOLDERS: readonly string[] = ['_negatives', '_background'];

/** What a directory entry is, following a symbolic link (null for a dangling link). */
async function entryKind(d: string, e: { name: string; isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean }): Promise<'dir' | 'file' | null> {
  if (e.isDirectory()) return 'dir';
  if (e.isFile()) return 'file';
  if (!e.isSymbolicLink()) return null;
  const st = await fsp.stat(path.join(d, e.name)).catch(() => null);
  return st?.isDirectory() ? 'dir' : st?.isFile() ? 'file' : null;
}

/** Audio files under `dir`, recursively (following symbolic links, each real folder once), sorted. */
export async function audioFilesUnder(dir: string, exts: readonly string[] = AUDIO_EXTENSIONS): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const start = await fsp.realpath(dir).catch(() => dir);
  const walk = async (d: string): Promise<void> => {
    const real = await fsp.realpath(d);
    // each real folder once; a link to a folder above the start (a cycle) would mix in other classes
    if (seen.has(real) || (real !== start && start.startsWith(real + path.sep))) return;
    seen.add(real);
    const entries = await fsp.readdir(d, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      const kind = await entryKind(d, e);
      if (kind === 'dir') await walk(p);
      else if (kind === 'file' && exts.includes(path.extname(e.name).toLowerCase())) out.push(p);
    }
  };
  await walk(dir);
  return out.sort(naturalCompare);
}

export async function classFolders(root: string): Promise<string[]> {
  const entries = await fsp.readdir(root, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries) if (!e.name.startsWith('_') && !e.name.startsWith('.') && (await entryKind(root, e)) === 'dir') out.push(e.name);
  return out;
}

export interface FolderOptions {
  /** Keep only these classes (in this order of preference; labels follow orderClasses). */
  classes?: readonly string[];
}

function idFor(root: string, file: string): string {
  return path
    .relative(root, file)
    .replace(/\\/g, '/')
    .replace(/\.[^.]+$/, '');
}

export async function openFolderDataset(root: string, options: FolderOptions = {}, layout: AudioDataset['layout'] = 'folder'): Promise<AudioDataset> {
  const all = await classFolders(root);
  const notes: string[] = [];
  const wanted = options.classes ? all.filter((c) => options.classes?.includes(c)) : all;
  if (options.classes) {
    const missing = options.classes.filter((c) => !all.includes(c));
    if (missing.length > 0) throw new DatasetError(root, 'bad-dataset', `no folder for class(es) ${missing.join(', ')} (found: ${all.join(', ') || 'none'})`);
  }
  const filesByClass = new Map<string, string[]>();
  for (const c of wanted) {
    const files = await audioFilesUnder(path.join(root, c));
    if (files.length === 0) notes.push(`folder ${c}/ holds no audio files; not a class`);
    else filesByClass.set(c, files);
  }
  const classes = orderClasses(filesByClass.keys());
  // labels by class name, never by position: without cat clips, dog stays label 1 (the priors read 0 as cat)
  if (classes.includes('dog') && !classes.includes('cat')) {
    classes.unshift('cat');
    notes.push('no cat/ recordings: label 0 (cat) is empty');
  }
  if (classes.length === 0) {
    throw new DatasetError(
      root,
      'bad-dataset',
      `no class folders with audio files (${AUDIO_EXTENSIONS.join(' ')}) in this folder${all.length > 0 ? ` (class folders ${all.map((c) => `${c}/`).join(', ')} hold none)` : ''}`,
    );
  }
  const items: AudioItem[] = [];
  classes.forEach((c, label) => {
    for (const file of filesByClass.get(c) ?? []) items.push({ id: idFor(root, file), path: file, label, className: c });
  });
  const negatives: AudioItem[] = [];
  for (const n of NEGATIVE_FOLDERS) {
    const dir = path.join(root, n);
    try {
      for (const file of await audioFilesUnder(dir)) negatives.push({ id: idFor(root, file), path: file, label: -1, className: 'negative' });
    } catch {
      // no such folder
    }
  }
  return { name: path.basename(path.resolve(root)), root, layout, classes, items, negatives, notes };
}
