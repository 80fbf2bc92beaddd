/**
 * VGGSound (Chen et al. 2020): `vggsound.csv` with rows `youtube_id,start_seconds,label,split`
 * (no header) and a folder of clips the user downloaded (any audio or video container; the audio
 * track is taken with ffmpeg). Clip files are matched by name: `<id>_<start>` or
 * `<id>_<start padded to 6 digits>` (trimmed 10-s clips) or `<id>` (the whole video: the 10 s from
 * start_seconds are read). Labels are filtered into classes by regular expressions, by default
 * cat: /^cat\b/ ("cat meowing", "cat purring", …) and dog: /^dog\b/ ("dog barking", "dog howling", …).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { AUDIO_EXTENSIONS, VIDEO_EXTENSIONS } from '../../audio/constants';
import { DatasetError } from '../../util/errors';
import { audioFilesUnder } from './folder';
import type { AudioDataset, AudioItem } from '../dataset';

export const DEFAULT_VGGSOUND_CLASSES: ReadonlyArray<readonly [string, RegExp]> = [
  ['cat', /^cat\b/i],
  ['dog', /^dog\b/i],
];

export interface VggSoundOptions {
  /** CSV path; default: the first `vggsound*.csv` in root. */
  csv?: string;
  /** Folder with the clips; default: `root/video`, `root/audio`, `root/clips`, else root. */
  clipsDir?: string;
  classes?: ReadonlyArray<readonly [string, RegExp]>;
  /** Seconds per clip (VGGSound's are 10). */
  clipSeconds?: number;
}

export async function findVggSoundCsv(root: string): Promise<string | null> {
  try {
    const names = (await fsp.readdir(root)).filter((n) => /^vggsound.*\.csv$/i.test(n)).sort();
    return names.length > 0 ? path.join(root, names[0] as string) : null;
  } catch {
    return null;
  }
}

export async function openVggSoundDataset(root: string, options: VggSoundOptions = {}): Promise<AudioDataset> {
  const csv = options.csv ?? (await findVggSoundCsv(root));
  if (!csv) throw new DatasetError(root, 'bad-dataset', 'not a VGGSound folder: no vggsound*.csv');
  const rows = parse(await fsp.readFile(csv, 'utf8'), { skip_empty_lines: true, relax_column_count: true, trim: true }) as string[][];
  let clipsDir = options.clipsDir;
  if (!clipsDir) {
    for (const c of ['video', 'audio', 'clips']) {
      try {
        if ((await fsp.stat(path.join(root, c))).isDirectory()) {
          clipsDir = path.join(root, c);
          break;
        }
      } catch {
        // try the next name
      }
    }
  }
  clipsDir ??= root;
  const files = await audioFilesUnder(clipsDir, [...new Set([...AUDIO_EXTENSIONS, ...VIDEO_EXTENSIONS])]);
  const byStem = new Map<string, string>();
  for (const f of files) byStem.set(path.basename(f).replace(/\.[^.]+$/, ''), f);
  const classes = options.classes ?? DEFAULT_VGGSOUND_CLASSES;
  const clipSeconds = options.clipSeconds ?? 10;
  const items: AudioItem[] = [];
  let matchedRows = 0;
  let header = 0;
  for (const row of rows) {
    const [ytid, startText, label, split] = row;
    const start = Number(startText);
    if (!ytid || !label || !Number.isFinite(start)) {
      header++;
      continue;
    }
    const cls = classes.findIndex(([, re]) => re.test(label));
    if (cls < 0) continue;
    matchedRows++;
    const trimmed = byStem.get(`${ytid}_${start}`) ?? byStem.get(`${ytid}_${String(start).padStart(6, '0')}`);
    const whole = trimmed ? undefined : byStem.get(ytid);
    const file = trimmed ?? whole;
    if (!file) continue;
    const item: AudioItem = { id: `${ytid}_${start}`, path: file, label: cls, className: (classes[cls] as readonly [string, RegExp])[0] };
    if (whole) {
      item.startSeconds = start;
      item.durationSeconds = clipSeconds;
    }
    if (split === 'train' || split === 'test') item.split = split;
    items.push(item);
  }
  const notes = [`${matchedRows} CSV row(s) match the classes; ${items.length} have a downloaded clip in ${clipsDir}`];
  if (header > 0) notes.push(`${header} row(s) skipped (header or malformed)`);
  if (items.length === 0) throw new DatasetError(root, 'bad-dataset', `VGGSound: no downloaded clip matches the classes (${notes[0]})`);
  const usedClasses = classes.map(([name]) => name);
  return { name: 'vggsound', root, layout: 'vggsound', classes: usedClasses, items, negatives: [], notes };
}
