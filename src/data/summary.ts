/**
 * Dataset statistics for `data:check` and the data notebook: clips and seconds per class, split
 * sizes, files that failed to decode (with the reason), cache use.
 */
import { SAMPLE_RATE } from '../audio/constants';
import { InputError, errorMessage } from '../util/errors';
import { AudioCache, defaultCache } from './cache';
import { splitDataset, type AudioDataset, type AudioItem, type SplitOptions } from './dataset';

export interface ClassSummary {
  label: number;
  name: string;
  clips: number;
  seconds: number;
  minSeconds: number;
  maxSeconds: number;
  train: number;
  val: number;
}

export interface DatasetSummary {
  name: string;
  root: string;
  layout: AudioDataset['layout'];
  sampleRate: number;
  classes: ClassSummary[];
  negatives: { clips: number; seconds: number };
  totalClips: number;
  totalSeconds: number;
  split: { method: string; train: number; val: number; seed: number; valFraction: number };
  failed: Array<{ id: string; file: string; error: string }>;
  notes: string[];
  cache: { dir: string | null; hits: number; misses: number };
}

async function durations(
  items: readonly AudioItem[],
  cache: AudioCache | null,
  failed: DatasetSummary['failed'],
  concurrency: number,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as AudioItem;
      try {
        const audio = cache ? await cache.load(item) : await AudioCache.decode(item);
        out.set(item.id, audio.length / SAMPLE_RATE);
      } catch (e) {
        failed.push({ id: item.id, file: item.path, error: e instanceof InputError ? e.message : errorMessage(e) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return out;
}

export async function summarizeDataset(
  ds: AudioDataset,
  options: { cache?: AudioCache | null; split?: SplitOptions; concurrency?: number } = {},
): Promise<DatasetSummary> {
  const cache = options.cache === undefined ? defaultCache() : options.cache;
  const failed: DatasetSummary['failed'] = [];
  const hits0 = cache?.stats.hits ?? 0;
  const misses0 = cache?.stats.misses ?? 0;
  const dur = await durations(ds.items, cache, failed, options.concurrency ?? 2);
  const negDur = await durations(ds.negatives, cache, failed, options.concurrency ?? 2);
  // files that failed to decode are reported, not counted in the train/val split
  const split = splitDataset({ ...ds, items: ds.items.filter((i) => dur.has(i.id)) }, options.split);
  const trainIds = new Set(split.train.map((i) => i.id));
  const classes: ClassSummary[] = ds.classes.map((name, label) => {
    const items = ds.items.filter((i) => i.label === label && dur.has(i.id));
    const secs = items.map((i) => dur.get(i.id) as number);
    return {
      label,
      name,
      clips: items.length,
      seconds: secs.reduce((a, b) => a + b, 0),
      minSeconds: secs.length ? Math.min(...secs) : 0,
      maxSeconds: secs.length ? Math.max(...secs) : 0,
      train: items.filter((i) => trainIds.has(i.id)).length,
      val: items.filter((i) => !trainIds.has(i.id)).length,
    };
  });
  const negSecs = [...negDur.values()];
  return {
    name: ds.name,
    root: ds.root,
    layout: ds.layout,
    sampleRate: SAMPLE_RATE,
    classes,
    negatives: { clips: negSecs.length, seconds: negSecs.reduce((a, b) => a + b, 0) },
    totalClips: classes.reduce((a, c) => a + c.clips, 0),
    totalSeconds: classes.reduce((a, c) => a + c.seconds, 0),
    split: { method: split.method, train: split.train.length, val: split.val.length, seed: split.seed, valFraction: split.valFraction },
    failed,
    notes: ds.notes,
    cache: { dir: cache?.dir ?? null, hits: (cache?.stats.hits ?? 0) - hits0, misses: (cache?.stats.misses ?? 0) - misses0 },
  };
}

export function formatSummary(s: DatasetSummary): string {
  const lines: string[] = [];
  lines.push(`dataset  ${s.name}  (${s.layout})  ${s.root}`);
  lines.push(`audio    mono ${s.sampleRate} Hz after decoding`);
  lines.push('');
  lines.push('label  class        clips    seconds    min s    max s   train   val');
  for (const c of s.classes) {
    lines.push(
      `${String(c.label).padStart(5)}  ${c.name.padEnd(10)} ${String(c.clips).padStart(6)} ${c.seconds.toFixed(1).padStart(10)} ${c.minSeconds.toFixed(2).padStart(8)} ${c.maxSeconds.toFixed(2).padStart(8)} ${String(c.train).padStart(7)} ${String(c.val).padStart(5)}`,
    );
  }
  lines.push(`       total      ${String(s.totalClips).padStart(6)} ${s.totalSeconds.toFixed(1).padStart(10)}`);
  if (s.negatives.clips > 0)
    lines.push(`       background ${String(s.negatives.clips).padStart(6)} ${s.negatives.seconds.toFixed(1).padStart(10)}   (negatives for augmentation)`);
  lines.push('');
  lines.push(
    `split    ${s.split.method}: ${s.split.train} train / ${s.split.val} val (seed ${s.split.seed}${s.split.method === 'seeded-stratified' ? `, val fraction ${s.split.valFraction}` : ''})`,
  );
  if (s.cache.dir) lines.push(`cache    ${s.cache.dir}  (${s.cache.hits} hits, ${s.cache.misses} decoded now)`);
  for (const n of s.notes) lines.push(`note     ${n}`);
  for (const f of s.failed) lines.push(`FAILED   ${f.error}`);
  return lines.join('\n');
}

/** A Markdown table of a summary (for figures/tables.md and the notebooks). */
export function summaryMarkdown(s: DatasetSummary): string {
  const lines = [
    `Dataset **${s.name}** (${s.layout}), mono ${s.sampleRate} Hz; split ${s.split.method}: ${s.split.train} train / ${s.split.val} val.`,
    '',
    '| label | class | clips | seconds | shortest (s) | longest (s) | train | val |',
    '|---:|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const c of s.classes) {
    lines.push(
      `| ${c.label} | ${c.name} | ${c.clips} | ${c.seconds.toFixed(1)} | ${c.minSeconds.toFixed(2)} | ${c.maxSeconds.toFixed(2)} | ${c.train} | ${c.val} |`,
    );
  }
  lines.push(`| | **total** | ${s.totalClips} | ${s.totalSeconds.toFixed(1)} | | | ${s.split.train} | ${s.split.val} |`);
  if (s.negatives.clips > 0) lines.push(`| | background | ${s.negatives.clips} | ${s.negatives.seconds.toFixed(1)} | | | | |`);
  return lines.join('\n');
}
