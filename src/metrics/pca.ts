/** PCA of feature rows to two components (the picture of Fig. 14), via ml-pca. */
import { PCA } from 'ml-pca';

export interface Pca2 {
  /** Each row projected on the first two principal components. */
  points: Array<[number, number]>;
  /** Share of variance explained by the two components. */
  explained: [number, number];
}

/** Centre (not scale) the rows and project them on their first two principal components. */
export function pca2(rows: number[][]): Pca2 {
  const pca = new PCA(rows, { center: true, scale: false });
  const proj = pca.predict(rows, { nComponents: 2 }).to2DArray();
  const explained = pca.getExplainedVariance();
  return {
    points: proj.map((r) => [r[0] ?? 0, r[1] ?? 0] as [number, number]),
    explained: [explained[0] ?? 0, explained[1] ?? 0],
  };
}
