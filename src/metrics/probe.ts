/**
 * The numbers behind thesis Fig. 14 ("raw-audio latents separate cats from dogs, spectrogram latents
 * do not"): PCA of pooled latents to 2-D (pca.ts), the cross-validated accuracy of a linear probe
 * (logistic regression), and the silhouette score of the two classes.
 */
import { Rng } from '../util/rng';
import { pca2 } from './pca';

export interface ProbeResult {
  /** 2-D PCA coordinates per example. */
  pca: Array<[number, number]>;
  /** Share of variance explained by the two components. */
  explained: [number, number];
  /** Stratified k-fold accuracy of a logistic-regression probe on the full latent features. */
  probeAccuracy: number;
  folds: number;
  /** Silhouette score of the classes in the full (standardised) feature space, in [−1, 1]. */
  silhouette: number;
  /** Accuracy of always predicting the larger class (the probe's floor). */
  majorityBaseline: number;
  n: number;
}

export function standardize(rows: number[][]): number[][] {
  const d = (rows[0] as number[]).length;
  const mean = new Array<number>(d).fill(0);
  const sd = new Array<number>(d).fill(0);
  for (const r of rows) r.forEach((v, i) => (mean[i] = mean[i] + v / rows.length));
  for (const r of rows) r.forEach((v, i) => (sd[i] = sd[i] + (v - mean[i]) ** 2 / rows.length));
  return rows.map((r) => r.map((v, i) => (v - mean[i]) / (Math.sqrt(sd[i]) || 1)));
}

/**
 * L2-regularised logistic regression by full-batch gradient descent on standardised features.
 * Written here because it is a dozen lines and the features are small (one pooled vector per clip);
 * the npm logistic-regression packages are unmaintained.
 */
export function fitLogistic(x: number[][], y: number[], l2 = 1e-2, steps = 300, lr = 0.5): (row: number[]) => number {
  const d = (x[0] as number[]).length;
  const w = new Array<number>(d).fill(0);
  let b = 0;
  for (let s = 0; s < steps; s++) {
    const gw = new Array<number>(d).fill(0);
    let gb = 0;
    x.forEach((row, i) => {
      const z = row.reduce((a, v, k) => a + v * w[k], b);
      const err = 1 / (1 + Math.exp(-z)) - y[i];
      row.forEach((v, k) => (gw[k] = gw[k] + (err * v) / x.length));
      gb += err / x.length;
    });
    for (let k = 0; k < d; k++) w[k] = w[k] - lr * (gw[k] + l2 * w[k]);
    b -= lr * gb;
  }
  return (row) => (row.reduce((a, v, k) => a + v * w[k], b) > 0 ? 1 : 0);
}

/** Mean silhouette (Rousseeuw 1987) with Euclidean distances; written out, it is a few lines. */
export function silhouette(x: number[][], labels: number[]): number {
  const dist = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0));
  const classes = [...new Set(labels)];
  if (classes.length < 2) return Number.NaN;
  let total = 0;
  x.forEach((row, i) => {
    const meanTo = (c: number) => {
      let s = 0;
      let n = 0;
      x.forEach((other, j) => {
        if (j !== i && labels[j] === c) {
          s += dist(row, other);
          n++;
        }
      });
      return n ? s / n : Number.NaN;
    };
    const a = meanTo(labels[i]);
    const b = Math.min(...classes.filter((c) => c !== labels[i]).map(meanTo));
    total += Number.isFinite(a) ? (b - a) / Math.max(a, b) : 0;
  });
  return total / x.length;
}

/** PCA picture + probe accuracy + silhouette for pooled latent features (one row per clip). */
export function latentProbe(features: number[][], labels: number[], options: { folds?: number; seed?: number } = {}): ProbeResult {
  if (features.length !== labels.length) throw new Error('latentProbe: one label per feature row');
  if (features.length < 4) throw new Error(`latentProbe needs at least 4 examples, got ${features.length}`);
  const x = standardize(features);
  const { points, explained } = pca2(x);
  // stratified folds (seeded)
  const folds = Math.min(options.folds ?? 5, ...[0, 1].map((c) => Math.max(2, labels.filter((l) => l === c).length)));
  const rng = new Rng(`probe/${options.seed ?? 0}`);
  const foldOf = new Array<number>(x.length);
  for (const c of [...new Set(labels)]) {
    const idx = rng.shuffle(labels.map((l, i) => (l === c ? i : -1)).filter((i) => i >= 0));
    idx.forEach((i, k) => (foldOf[i] = k % folds));
  }
  let correct = 0;
  for (let f = 0; f < folds; f++) {
    const trainIdx = x.map((_, i) => i).filter((i) => foldOf[i] !== f);
    const testIdx = x.map((_, i) => i).filter((i) => foldOf[i] === f);
    if (testIdx.length === 0 || new Set(trainIdx.map((i) => labels[i])).size < 2) continue;
    const predict = fitLogistic(
      trainIdx.map((i) => x[i] as number[]),
      trainIdx.map((i) => labels[i]),
    );
    correct += testIdx.filter((i) => predict(x[i] as number[]) === labels[i]).length;
  }
  const ones = labels.filter((l) => l === 1).length;
  return {
    pca: points,
    explained,
    probeAccuracy: correct / x.length,
    folds,
    silhouette: silhouette(x, labels),
    majorityBaseline: Math.max(ones, labels.length - ones) / labels.length,
    n: x.length,
  };
}
