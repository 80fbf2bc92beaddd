import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeWav } from '../src/audio/index';
import {
  AudioCache,
  detectLayout,
  evaluationClips,
  loadExample,
  loadExamples,
  openDataset,
  splitDataset,
  summarizeDataset,
  trainingClip,
} from '../src/data/index';
import { DatasetError } from '../src/util/errors';
import { Rng } from '../src/util/rng';
import { ffmpeg, tempDir, tone } from './helpers';

const root = tempDir();

async function wav(file: string, freq: number, seconds = 0.5, sr = 16000): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  await writeWav(file, tone(freq, sr, seconds), sr);
}

const folder = path.join(root, 'folder');
const kaggle = path.join(root, 'kaggle');
const esc = path.join(root, 'esc50');
const vgg = path.join(root, 'vggsound');

beforeAll(async () => {
  // folder-per-class: cat/, dog/ (one nested, one ogg), bird/ (third class), _negatives/
  for (let i = 0; i < 5; i++) await wav(path.join(folder, 'cat', `meow_${i}.wav`), 800 + i);
  for (let i = 0; i < 4; i++) await wav(path.join(folder, 'dog', `woof_${i}.wav`), 300 + i);
  await wav(path.join(folder, 'dog', 'nested', 'woof_deep.wav'), 320);
  await ffmpeg(['-i', path.join(folder, 'dog', 'woof_0.wav'), '-c:a', 'libvorbis', path.join(folder, 'dog', 'woof_ogg.ogg')]);
  await wav(path.join(folder, 'bird', 'tweet.wav'), 1500);
  await wav(path.join(folder, '_negatives', 'rain.wav'), 100, 1);
  writeFileSync(path.join(folder, 'README.txt'), 'not audio');

  // Kaggle Audio Cats and Dogs with its split CSV
  for (const n of [1, 2, 3, 10]) await wav(path.join(kaggle, 'cats_dogs', `cat_${n}.wav`), 700);
  for (const n of [0, 1, 2]) await wav(path.join(kaggle, 'cats_dogs', `dog_barking_${n}.wav`), 350);
  writeFileSync(
    path.join(kaggle, 'train_test_split.csv'),
    ',test_cat,test_dog,train_cat,train_dog\n0,cat_1.wav,dog_barking_0.wav,cat_2.wav,dog_barking_1.wav\n1,,,cat_3.wav,dog_barking_2.wav\n2,,,cat_10.wav,\n',
  );

  // ESC-50: meta/esc50.csv + audio/
  const rows = ['filename,fold,target,category,esc10,src_file,take'];
  const escFiles: Array<[string, number, number, string]> = [
    ['1-100-A-5.wav', 1, 5, 'cat'],
    ['5-101-A-5.wav', 5, 5, 'cat'],
    ['2-102-A-0.wav', 2, 0, 'dog'],
    ['5-103-A-0.wav', 5, 0, 'dog'],
    ['3-104-A-10.wav', 3, 10, 'rain'],
  ];
  for (const [f, fold, target, cat] of escFiles) {
    rows.push(`${f},${fold},${target},${cat},False,100,A`);
    await wav(path.join(esc, 'audio', f), 500, 0.5, 44100);
  }
  mkdirSync(path.join(esc, 'meta'), { recursive: true });
  writeFileSync(path.join(esc, 'meta', 'esc50.csv'), `${rows.join('\n')}\n`);

  // VGGSound: CSV + a folder of downloaded clips (one trimmed mp4 with audio, one whole video, one missing)
  mkdirSync(path.join(vgg, 'video'), { recursive: true });
  writeFileSync(
    path.join(vgg, 'vggsound.csv'),
    'abc123,30,cat meowing,train\ndef456,5,"dog barking",test\nghi789,5,dog howling,train\nzzz000,0,playing piano,train\n',
  );
  await wav(path.join(root, 'tmp-vgg.wav'), 600, 2);
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc=d=2:s=32x32:r=5',
    '-i',
    path.join(root, 'tmp-vgg.wav'),
    '-c:v',
    'libx264',
    '-c:a',
    'aac',
    '-shortest',
    path.join(vgg, 'video', 'abc123_000030.mp4'),
  ]);
  await wav(path.join(root, 'tmp-vgg-long.wav'), 400, 20);
  await ffmpeg(['-i', path.join(root, 'tmp-vgg-long.wav'), '-c:a', 'libvorbis', path.join(vgg, 'video', 'def456.ogg')]);
});

describe('layout detection and loaders', () => {
  it('detects every layout', async () => {
    expect(await detectLayout(folder)).toBe('folder');
    expect(await detectLayout(kaggle)).toBe('kaggle-cats-dogs');
    expect(await detectLayout(path.join(kaggle, 'cats_dogs'))).toBe('kaggle-cats-dogs');
    expect(await detectLayout(esc)).toBe('esc50');
    expect(await detectLayout(vgg)).toBe('vggsound');
  });

  it('folder-per-class: classes cat, dog first (labels 0, 1), nested files, ogg, negatives', async () => {
    const ds = await openDataset(folder);
    expect(ds.layout).toBe('folder');
    expect(ds.classes).toEqual(['cat', 'dog', 'bird']);
    expect(ds.items.filter((i) => i.className === 'dog').map((i) => i.id)).toContain('dog/nested/woof_deep');
    expect(ds.items.filter((i) => i.label === 1)).toHaveLength(6);
    expect(ds.negatives.map((n) => n.id)).toEqual(['_negatives/rain']);
    const only = await openDataset(folder, { folder: { classes: ['cat', 'dog'] } });
    expect(only.classes).toEqual(['cat', 'dog']);
    const ogg = ds.items.find((i) => i.id === 'dog/woof_ogg');
    const ex = await loadExample(ogg!, { cache: null });
    expect(ex.sampleRate).toBe(4000);
    expect(ex.label).toBe(1);
    expect(ex.source).toBe(ogg!.path);
  });

  it('Kaggle Audio Cats and Dogs: labels from names, split from train_test_split.csv', async () => {
    const ds = await openDataset(kaggle);
    expect(ds.layout).toBe('kaggle-cats-dogs');
    expect(ds.items.map((i) => `${i.id}:${i.label}:${i.split}`)).toEqual([
      'cat_1:0:test',
      'cat_2:0:train',
      'cat_3:0:train',
      'cat_10:0:train',
      'dog_barking_0:1:test',
      'dog_barking_1:1:train',
      'dog_barking_2:1:train',
    ]);
    const split = splitDataset(ds);
    expect(split.method).toBe('dataset');
    expect(split.val.map((i) => i.id)).toEqual(['cat_1', 'dog_barking_0']);
  });

  it('ESC-50: cat and dog categories, fold 5 held out', async () => {
    const ds = await openDataset(esc);
    expect(ds.classes).toEqual(['cat', 'dog']);
    expect(ds.items).toHaveLength(4);
    expect(splitDataset(ds).val.map((i) => i.fold)).toEqual([5, 5]);
    const withRain = await openDataset(esc, { esc50: { categories: ['cat', 'dog', 'rain'], valFold: 1 } });
    expect(withRain.classes).toEqual(['cat', 'dog', 'rain']);
    expect((await loadExample(ds.items[0]!, { cache: null })).audio.length).toBe(2000);
  });

  it('VGGSound: label patterns, trimmed clips and whole videos (audio via ffmpeg)', async () => {
    const ds = await openDataset(vgg);
    expect(ds.classes).toEqual(['cat', 'dog']);
    expect(ds.items.map((i) => `${i.id}:${i.className}:${i.split}`)).toEqual(['abc123_30:cat:train', 'def456_5:dog:test']);
    const whole = ds.items[1]!;
    expect(whole.startSeconds).toBe(5);
    const [a, b] = await loadExamples(ds.items, { cache: null });
    expect(a!.audio.length).toBeGreaterThan(7000); // 2 s from the mp4's audio track
    expect(b!.audio.length).toBe(40000); // 10 s read from second 5 of a 20 s file
    expect(b!.source).toContain('#t=5');
    expect(ds.notes[0]).toMatch(/3 CSV row\(s\) match the classes; 2 have a downloaded clip/);
  });

  it('the embedded data: real cat and dog recordings with a licence for each file', async () => {
    const ds = await openDataset('embedded');
    expect(ds.layout).toBe('embedded');
    expect(ds.classes).toEqual(['cat', 'dog']);
    expect(ds.items.filter((i) => i.label === 0)).toHaveLength(7);
    expect(ds.items.filter((i) => i.label === 1)).toHaveLength(12);
    expect(ds.negatives.length).toBeGreaterThan(5);
    expect(ds.notes.filter((n) => /licence unknown/.test(n))).toEqual([]);
  });
});

describe('bad datasets are clear errors naming the folder', () => {
  it('missing folder, a file, an empty folder, a forced wrong layout', async () => {
    const missing = path.join(root, 'nope');
    await expect(openDataset(missing)).rejects.toThrow(DatasetError);
    await expect(openDataset(missing)).rejects.toThrow(missing);
    await expect(openDataset(path.join(kaggle, 'train_test_split.csv'))).rejects.toThrow(/is not a folder/);
    const empty = path.join(root, 'empty');
    mkdirSync(empty);
    await expect(openDataset(empty)).rejects.toThrow(/no supported dataset layout/);
    await expect(openDataset(folder, { layout: 'esc50' })).rejects.toThrow(/not an ESC-50 folder/);
    await expect(openDataset(folder, { folder: { classes: ['cow'] } })).rejects.toThrow(/no folder for class\(es\) cow/);
  });
  it('a corrupt file is reported by the summary, the rest still loads', async () => {
    const dir = path.join(root, 'with-bad');
    await wav(path.join(dir, 'cat', 'ok.wav'), 800);
    mkdirSync(path.join(dir, 'dog'), { recursive: true });
    writeFileSync(path.join(dir, 'dog', 'broken.wav'), 'RIFF....WAVEjunk');
    const s = await summarizeDataset(await openDataset(dir), { cache: null });
    expect(s.totalClips).toBe(1);
    expect(s.failed).toHaveLength(1);
    expect(s.failed[0]!.error).toContain('broken.wav');
  });
});

describe('splits, cache and clips', () => {
  it('seeded stratified split: deterministic, per class, seed-dependent', async () => {
    const ds = await openDataset(folder);
    const a = splitDataset(ds, { seed: 3, valFraction: 0.4 });
    const b = splitDataset({ ...ds, items: [...ds.items].reverse() }, { seed: 3, valFraction: 0.4 });
    expect(a.val.map((i) => i.id)).toEqual(b.val.map((i) => i.id));
    expect(a.val.filter((i) => i.label === 0)).toHaveLength(2);
    expect(a.val.filter((i) => i.label === 2)).toHaveLength(0); // a class of one stays in train
    const seeds = new Set(
      Array.from({ length: 6 }, (_, s) =>
        splitDataset(ds, { seed: s, valFraction: 0.4 })
          .val.map((i) => i.id)
          .join(),
      ),
    );
    expect(seeds.size).toBeGreaterThan(1);
    expect(a.train.length + a.val.length).toBe(ds.items.length);
  });

  it('the on-disk cache decodes once and returns identical audio', async () => {
    const ds = await openDataset(folder);
    const cache = new AudioCache(path.join(root, 'cache'));
    const first = await loadExamples(ds.items, { cache });
    expect(cache.stats.misses).toBe(ds.items.length);
    const fresh = new AudioCache(path.join(root, 'cache')); // new process: only the disk
    const second = await loadExamples(ds.items, { cache: fresh });
    expect(fresh.stats.misses).toBe(0);
    expect(fresh.stats.hits).toBe(ds.items.length);
    second.forEach((ex, i) => expect(ex.audio).toEqual(first[i]!.audio));
  });

  it('training clips are seeded random crops; evaluation clips are deterministic', () => {
    const x = tone(440, 4000, 10);
    const a = trainingClip(x, new Rng(7));
    const b = trainingClip(x, new Rng(7));
    const c = trainingClip(x, new Rng(8));
    expect(a).toHaveLength(28800);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(evaluationClips(x)).toEqual(evaluationClips(x));
    expect(evaluationClips(x, { mode: 'segments' })).toHaveLength(2);
  });
});
