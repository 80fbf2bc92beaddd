/** Notebook 05 · classifier (Table 2 row 4): zero-shot backbone vs the shipped head on the study photos. */
import * as path from 'node:path';
import { loadCheckpoint } from '../checkpoint/checkpoint';
import { shippedPath } from '../pipeline/models';
import { CatDogClassifier } from '../vision/classifier';
import { type ImageItem, openImageSet } from '../vision/images';
import { readImage } from '../vision/media';
import type { StudyConfig } from './config';
import { tableMarkdown, thumbnailBase64 } from './html';
import { saveResult } from './results';

type Confusion = [[number, number], [number, number]];

export interface ClassifierStep {
  photos: number;
  zeroShot: { accuracy: number; confusion: Confusion };
  head: { accuracy: number; confusion: Confusion };
  shippedTraining: Record<string, number>;
  table: string;
  misclassified: string;
}

/** At most this many misclassified photos are shown (each an inline PNG). */
const MAX_SHOWN = 1000;

async function misclassifiedHtml(wrong: Array<{ item: ImageItem; pDog: number }>): Promise<string> {
  let html = '';
  for (const { item, pDog } of wrong.slice(0, MAX_SHOWN)) {
    const png = await thumbnailBase64(item.path, 112);
    const caption = `<figcaption style="font-size:80%">${path.basename(item.path)}: P(dog) ${pDog.toFixed(2)}</figcaption>`;
    html += `<figure style="display:inline-block;margin:4px"><img width="112" src="data:image/png;base64,${png}"/>${caption}</figure>`;
  }
  return html;
}

export async function classifierStep(cfg: StudyConfig): Promise<ClassifierStep> {
  const set = await openImageSet(cfg.images);
  const items = set.split === 'given' ? set.items.filter((i) => i.split === 'val') : set.items;
  const zero = await CatDogClassifier.load(null);
  const head = await CatDogClassifier.load(shippedPath('classifier'));
  const cz: Confusion = [
    [0, 0],
    [0, 0],
  ];
  const ch: Confusion = [
    [0, 0],
    [0, 0],
  ];
  const wrong: Array<{ item: ImageItem; pDog: number }> = [];
  try {
    for (let i = 0; i < items.length; i += 16) {
      const part = items.slice(i, i + 16);
      const ims = await Promise.all(part.map((it) => readImage(it.path)));
      const pz = zero.probDog(ims);
      const ph = head.probDog(ims);
      part.forEach((item, k) => {
        const headSays = ph[k] >= 0.5 ? 1 : 0;
        cz[item.label][pz[k] >= 0.5 ? 1 : 0]++;
        ch[item.label][headSays]++;
        if (headSays !== item.label) wrong.push({ item, pDog: ph[k] });
      });
    }
  } finally {
    zero.dispose();
    head.dispose();
  }
  const acc = (c: Confusion) => (c[0][0] + c[1][1]) / Math.max(1, items.length);
  const ck = await loadCheckpoint(shippedPath('classifier'));
  for (const w of Object.values(ck.weights)) w.dispose();
  const res = {
    photos: items.length,
    zeroShot: { accuracy: acc(cz), confusion: cz },
    head: { accuracy: acc(ch), confusion: ch },
    shippedTraining: ck.meta.metrics,
  };
  await saveResult(cfg, '05-classifier', { images: cfg.images, ...res });
  const pct = (x: number | undefined) => `${(100 * (x ?? Number.NaN)).toFixed(1)} %`;
  const table = tableMarkdown([
    ['', 'photos', 'accuracy', 'confusion [[cat→cat, cat→dog], [dog→cat, dog→dog]]'],
    ['zero-shot Tiny Darknet (before)', items.length, pct(res.zeroShot.accuracy), JSON.stringify(cz)],
    ['trained head (after)', items.length, pct(res.head.accuracy), JSON.stringify(ch)],
    [
      'shipped head, at training (800 held-out photos)',
      800,
      `${pct(ck.meta.metrics['val_accuracy'])} (zero-shot ${pct(ck.meta.metrics['zero_shot_accuracy'])})`,
      '–',
    ],
  ]);
  return { ...res, table, misclassified: (await misclassifiedHtml(wrong)) || '<p>none</p>' };
}
