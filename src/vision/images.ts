/**
 * Labelled photo sets for the classifier head: `<dir>/{cat,dog}/*` (seeded train/val split) or
 * `<dir>/{train,val}/{cat,dog}/*` (the split given), as Kaggle's cats_and_dogs_filtered is laid out.
 * Feature vectors of the frozen backbone are cached on disk, so the head trains without re-running it.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DatasetError } from '../util/errors';
import { isDirectory, listFiles, naturalCompare, writeFileAtomic } from '../util/fs';
import { Rng } from '../util/rng';
import type { Backbone } from './backbone';
import { IMAGE_EXTENSIONS, readImage } from './media';

export const IMAGE_CLASSES = ['cat', 'dog'] as const;

export interface ImageItem {
  path: string;
  label: number;
  split: 'train' | 'val';
}

export async function openImageSet(
  root: string,
  options: { valFraction?: number; seed?: number } = {},
): Promise<{ root: string; items: ImageItem[]; split: 'given' | 'seeded' }> {
  const abs = path.resolve(root);
  if (!(await isDirectory(abs))) throw new DatasetError(abs, 'not-found', 'image folder not found');
  const classFiles = async (dir: string) => {
    const out: Array<{ path: string; label: number }> = [];
    for (const [label, c] of IMAGE_CLASSES.entries()) {
      const d = path.join(dir, c);
      if (!(await isDirectory(d)))
        throw new DatasetError(dir, 'bad-dataset', `no ${c}/ folder (expected ${IMAGE_CLASSES.join('/ and ')}/ with ${IMAGE_EXTENSIONS.join(' ')} photos)`);
      for (const f of await listFiles(d, IMAGE_EXTENSIONS)) out.push({ path: f, label });
    }
    return out;
  };
  if ((await isDirectory(path.join(abs, 'train'))) && (await isDirectory(path.join(abs, 'val')))) {
    const items = [
      ...(await classFiles(path.join(abs, 'train'))).map((i) => ({ ...i, split: 'train' as const })),
      ...(await classFiles(path.join(abs, 'val'))).map((i) => ({ ...i, split: 'val' as const })),
    ];
    return { root: abs, items, split: 'given' };
  }
  const all = await classFiles(abs);
  if (all.length === 0) throw new DatasetError(abs, 'bad-dataset', 'holds no photos');
  const valFraction = options.valFraction ?? 0.2;
  const items: ImageItem[] = [];
  for (const label of [0, 1]) {
    const files = all.filter((i) => i.label === label).sort((a, b) => naturalCompare(a.path, b.path));
    new Rng(`images/${options.seed ?? 0}/${label}`).shuffle(files);
    const nVal = Math.round(files.length * valFraction);
    files.forEach((f, k) => items.push({ ...f, split: k < nVal ? 'val' : 'train' }));
  }
  return { root: abs, items, split: 'seeded' };
}

function cacheDir(): string {
  if (process.env.SOUNDTRACK_CACHE_DIR) return path.join(path.resolve(process.env.SOUNDTRACK_CACHE_DIR), 'features');
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'soundtrack-lab', 'features');
}

/** Backbone features of image files (batched, cached on disk by file identity and backbone). */
export async function imageFeatures(
  backbone: Backbone,
  files: readonly string[],
  options: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<Float32Array[]> {
  const tag = JSON.stringify([
    backbone.spec.name,
    backbone.spec.source,
    backbone.spec.featureLayer,
    backbone.spec.inputSize,
    backbone.spec.inputScale,
    2 /* preprocessing: centre crop */,
  ]);
  const keys = await Promise.all(
    files.map(async (f) => {
      const st = await fsp.stat(f);
      return createHash('sha256')
        .update(JSON.stringify([tag, path.resolve(f), st.size, st.mtimeMs]))
        .digest('hex')
        .slice(0, 32);
    }),
  );
  const out: Array<Float32Array | null> = await Promise.all(
    keys.map(async (k) => {
      try {
        const b = await fsp.readFile(path.join(cacheDir(), `${k}.f32`));
        return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      } catch {
        return null;
      }
    }),
  );
  const missing = files.map((_, i) => i).filter((i) => out[i] === null);
  const bs = options.batchSize ?? 16;
  let done = files.length - missing.length;
  for (let s = 0; s < missing.length; s += bs) {
    const idx = missing.slice(s, s + bs);
    const images = await Promise.all(idx.map((i) => readImage(files[i] as string, backbone.spec.inputSize)));
    const feats = backbone.features(images);
    for (let j = 0; j < idx.length; j++) {
      const i = idx[j];
      const f = feats[j] as Float32Array;
      out[i] = f;
      await writeFileAtomic(path.join(cacheDir(), `${keys[i]}.f32`), new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
    }
    done += idx.length;
    options.onProgress?.(done, files.length);
  }
  return out as Float32Array[];
}
