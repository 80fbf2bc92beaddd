/**
 * The Dataset interface every loader fills in, seeded train/val splits, and loading of examples
 * ({ audio, sampleRate, label, id, source }) through the on-disk cache of decoded 4 kHz clips.
 */
import { SAMPLE_RATE } from '../audio/constants';
import { Rng } from '../util/rng';
import { naturalCompare } from '../util/fs';
import { AudioCache, defaultCache } from './cache';

export type DatasetLayout = 'embedded' | 'folder' | 'kaggle-cats-dogs' | 'esc50' | 'vggsound';

/** One recording of a dataset (not yet decoded). */
export interface AudioItem {
  /** Unique within the dataset, stable across runs (file name without extension, or ytid_start). */
  id: string;
  /** File to decode. */
  path: string;
  label: number;
  className: string;
  /** Split given by the dataset itself, if any ('test' becomes our validation set). */
  split?: 'train' | 'test';
  /** ESC-50 fold. */
  fold?: number;
  /** Read from this second on (untrimmed VGGSound videos). */
  startSeconds?: number;
  durationSeconds?: number;
}

export interface AudioDataset {
  name: string;
  root: string;
  layout: DatasetLayout;
  /** Class names by label index (cat = 0, dog = 1 for the thesis' data). */
  classes: string[];
  items: AudioItem[];
  /** Background / negative sounds for augmentation (not labelled examples). */
  negatives: AudioItem[];
  /** What the loader skipped or assumed, for data:check to print. */
  notes: string[];
}

/** What a dataset yields: decoded mono audio at 4 kHz with its label. */
export interface AudioExample {
  audio: Float32Array;
  sampleRate: number;
  label: number;
  className: string;
  id: string;
  /** Where the audio came from (file path, with #start for a segment of a longer file). */
  source: string;
}

/** Order class names: 'cat' then 'dog' first (the thesis' labels 0 and 1), then the rest alphabetically. */
export function orderClasses(names: Iterable<string>): string[] {
  const rank = (c: string) => (c === 'cat' ? 0 : c === 'dog' ? 1 : 2);
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b) || naturalCompare(a, b));
}

export function itemSource(item: AudioItem): string {
  return item.startSeconds ? `${item.path}#t=${item.startSeconds}` : item.path;
}

export interface LoadOptions {
  /** Cache to use; `null` decodes every time. Default: the shared on-disk cache. */
  cache?: AudioCache | null;
}

/** Decode one item to mono 4 kHz (from the cache when it is there). */
export async function loadExample(item: AudioItem, options: LoadOptions = {}): Promise<AudioExample> {
  const cache = options.cache === undefined ? defaultCache() : options.cache;
  const audio = cache ? await cache.load(item) : await AudioCache.decode(item);
  return { audio, sampleRate: SAMPLE_RATE, label: item.label, className: item.className, id: item.id, source: itemSource(item) };
}

/** Iterate over decoded examples in order. */
export async function* examples(items: readonly AudioItem[], options: LoadOptions = {}): AsyncGenerator<AudioExample> {
  for (const item of items) yield await loadExample(item, options);
}

/** Decode many items with bounded parallelism (ffmpeg runs in child processes). */
export async function loadExamples(items: readonly AudioItem[], options: LoadOptions & { concurrency?: number } = {}): Promise<AudioExample[]> {
  const out: AudioExample[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await loadExample(items[i] as AudioItem, options);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 2, items.length)) }, worker));
  return out;
}

export interface SplitOptions {
  /** Share of each class held out for validation (default 0.2). */
  valFraction?: number;
  seed?: number;
  /** Use the dataset's own split (Kaggle CSV, ESC-50 fold, VGGSound) when every item has one. Default true. */
  useDatasetSplit?: boolean;
}

export interface DatasetSplit {
  train: AudioItem[];
  val: AudioItem[];
  method: 'dataset' | 'seeded-stratified';
  seed: number;
  valFraction: number;
}

/**
 * Deterministic train/val split: the dataset's own split if it has one, else a seeded shuffle of
 * each class (sorted by id first, so the split does not depend on file-system order), holding out
 * round(n × valFraction) items per class — at least one when the class has two or more.
 */
export function splitDataset(ds: AudioDataset, options: SplitOptions = {}): DatasetSplit {
  const valFraction = options.valFraction ?? 0.2;
  const seed = options.seed ?? 0;
  if (!(valFraction >= 0 && valFraction < 1)) throw new RangeError(`valFraction must be in [0, 1), got ${valFraction}`);
  if ((options.useDatasetSplit ?? true) && ds.items.length > 0 && ds.items.every((i) => i.split !== undefined)) {
    return {
      train: ds.items.filter((i) => i.split === 'train'),
      val: ds.items.filter((i) => i.split === 'test'),
      method: 'dataset',
      seed,
      valFraction,
    };
  }
  const train: AudioItem[] = [];
  const val: AudioItem[] = [];
  for (let label = 0; label < ds.classes.length; label++) {
    const items = ds.items.filter((i) => i.label === label).sort((a, b) => naturalCompare(a.id, b.id));
    new Rng(`split/${seed}/${ds.classes[label]}`).shuffle(items);
    let nVal = Math.round(items.length * valFraction);
    if (valFraction > 0 && nVal === 0 && items.length >= 2) nVal = 1;
    val.push(...items.slice(0, nVal));
    train.push(...items.slice(nVal));
  }
  const byId = (a: AudioItem, b: AudioItem) => a.label - b.label || naturalCompare(a.id, b.id);
  return { train: train.sort(byId), val: val.sort(byId), method: 'seeded-stratified', seed, valFraction };
}
