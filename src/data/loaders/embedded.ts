/**
 * The embedded default data: real cat and dog recordings (and background sounds) from Debian
 * packages with clear licences, converted to 4 kHz mono 16-bit WAV and committed in `data/embedded`.
 * `manifest.json` lists every file with its package, original path, licence and copyright;
 * `npm run data:embedded` rebuilds them from the packages (scripts/build-embedded.ts).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { DatasetError } from '../../util/errors';
import { projectRoot } from '../../util/project';
import { openFolderDataset } from './folder';
import type { AudioDataset } from '../dataset';

export const EMBEDDED_FORMAT = 'soundtrack-lab/embedded';

export interface EmbeddedEntry {
  id: string;
  cls: string;
  file: string;
  package: string;
  packageVersion: string;
  path: string;
  rccEntry: string | null;
  license: string;
  copyright: string;
  note: string;
  originalSampleRate: number;
  originalChannels: number;
  seconds: number;
  sha256: string;
}

export interface EmbeddedManifest {
  format: typeof EMBEDDED_FORMAT;
  version: number;
  sampleRate: number;
  entries: EmbeddedEntry[];
}

export function embeddedRoot(): string {
  return path.join(projectRoot(), 'data', 'embedded');
}

export async function readEmbeddedManifest(root: string = embeddedRoot()): Promise<EmbeddedManifest | null> {
  try {
    const m = JSON.parse(await fsp.readFile(path.join(root, 'manifest.json'), 'utf8')) as Partial<EmbeddedManifest>;
    return m.format === EMBEDDED_FORMAT && Array.isArray(m.entries) ? (m as EmbeddedManifest) : null;
  } catch {
    return null;
  }
}

export async function openEmbeddedDataset(root: string = embeddedRoot()): Promise<AudioDataset> {
  const manifest = await readEmbeddedManifest(root);
  if (!manifest) {
    throw new DatasetError(root, 'bad-dataset', 'the embedded data is missing (no manifest.json); rebuild it with `npm run data:embedded`');
  }
  const ds = await openFolderDataset(root, { classes: ['cat', 'dog'] }, 'embedded');
  const listed = new Set(manifest.entries.map((e) => e.file));
  const unlisted = [...ds.items, ...ds.negatives].filter((i) => !listed.has(path.relative(root, i.path).replace(/\\/g, '/')));
  if (unlisted.length > 0) ds.notes.push(`${unlisted.length} file(s) not in manifest.json (licence unknown): ${unlisted.map((i) => i.id).join(', ')}`);
  return { ...ds, name: 'embedded' };
}
