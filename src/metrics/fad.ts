/**
 * Fréchet Audio Distance (Kilgour et al. 2019; the thesis' eq. 16): the Fréchet distance between
 * Gaussians fitted to embeddings of real and of generated/reconstructed audio,
 *   FAD = ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r^{1/2} Σ_g Σ_r^{1/2})^{1/2}).
 * The matrix square roots come from symmetric eigendecompositions (ml-matrix) with negative
 * eigenvalues from round-off clamped to zero — stable where a general sqrtm of Σ_r·Σ_g is not.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { Embedder } from './embedders';

export interface Gaussian {
  mean: Float64Array;
  cov: Matrix;
  n: number;
}

export function fitGaussian(rows: readonly Float32Array[]): Gaussian {
  const n = rows.length;
  if (n < 2) throw new Error(`FAD needs at least 2 embeddings per set, got ${n}`);
  const d = (rows[0] as Float32Array).length;
  const mean = new Float64Array(d);
  for (const r of rows) for (let i = 0; i < d; i++) mean[i] = mean[i] + r[i];
  for (let i = 0; i < d; i++) mean[i] = mean[i] / n;
  const cov = Matrix.zeros(d, d);
  for (const r of rows) {
    for (let i = 0; i < d; i++) {
      const a = r[i] - mean[i];
      for (let j = i; j < d; j++) cov.set(i, j, cov.get(i, j) + a * (r[j] - mean[j]));
    }
  }
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const v = cov.get(i, j) / (n - 1);
      cov.set(i, j, v);
      cov.set(j, i, v);
    }
  }
  return { mean, cov, n };
}

/** Square root of a symmetric positive semi-definite matrix. */
export function sqrtPsd(a: Matrix): Matrix {
  const sym = a.add(a.transpose()).div(2);
  const e = new EigenvalueDecomposition(sym, { assumeSymmetric: true });
  const v = e.eigenvectorMatrix;
  const d = e.realEigenvalues.map((x) => Math.sqrt(Math.max(0, x)));
  return v.mmul(Matrix.diag(d)).mmul(v.transpose());
}

export function frechetDistance(a: Gaussian, b: Gaussian): number {
  const d = a.mean.length;
  if (b.mean.length !== d) throw new Error(`embedding sizes differ: ${d} vs ${b.mean.length}`);
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (a.mean[i] - b.mean[i]) ** 2;
  const sa = sqrtPsd(a.cov);
  const inner = sa.mmul(b.cov).mmul(sa);
  const e = new EigenvalueDecomposition(inner.add(inner.transpose()).div(2), { assumeSymmetric: true });
  const trSqrt = e.realEigenvalues.reduce((s, x) => s + Math.sqrt(Math.max(0, x)), 0);
  return Math.max(0, meanTerm + a.cov.trace() + b.cov.trace() - 2 * trSqrt);
}

export interface FadResult {
  fad: number;
  embedder: string;
  /** Clips and embedding windows in each set. */
  reference: { clips: number; windows: number; name: string };
  test: { clips: number; windows: number; name: string };
}

/** FAD between a reference set and a test set of 4-kHz clips. */
export async function fad(
  reference: readonly Float32Array[],
  test: readonly Float32Array[],
  embedder: Embedder,
  names: { reference?: string; test?: string } = {},
): Promise<FadResult> {
  const er = await embedder.embed(reference);
  const et = await embedder.embed(test);
  return {
    fad: frechetDistance(fitGaussian(er), fitGaussian(et)),
    embedder: embedder.name,
    reference: { clips: reference.length, windows: er.length, name: names.reference ?? 'reference' },
    test: { clips: test.length, windows: et.length, name: names.test ?? 'test' },
  };
}

export function formatFad(r: FadResult): string {
  return `FAD ${r.fad.toFixed(3)} — ${r.test.name} (${r.test.clips} clips, ${r.test.windows} windows) vs ${r.reference.name} (${r.reference.clips} clips, ${r.reference.windows} windows); embedder ${r.embedder}`;
}
