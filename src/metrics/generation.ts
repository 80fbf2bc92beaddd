/**
 * How good are the generated sounds? (the thesis: "mostly like noise")
 * 1. A small audio classifier (cat vs dog) is trained on real clips — logistic regression on
 *    per-clip statistics of the built-in mel-stats embedding — and its accuracy on real held-out
 *    clips is reported (so we know how much to trust it).
 * 2. N clips per class are generated; the share the audio classifier assigns to the asked class is
 *    the class fidelity, and FAD against real clips of that class the realism.
 */
import { evaluationClips } from '../data/batches';
import { loadExamples, splitDataset } from '../data/dataset';
import { openDataset } from '../data/open';
import { melStatsEmbedder } from './embedders';
import { fitLogistic } from './probe';

/** One feature row per clip: mean and standard deviation over its windows of the mel-stats embedding. */
export async function clipFeatures(clips: readonly Float32Array[]): Promise<number[][]> {
  const rows: number[][] = [];
  for (const c of clips) {
    const w = await melStatsEmbedder.embed([c]);
    const d = (w[0] as Float32Array).length;
    const mean = new Array<number>(d).fill(0);
    const sq = new Array<number>(d).fill(0);
    for (const e of w) for (let k = 0; k < d; k++) mean[k] = mean[k] + e[k] / w.length;
    for (const e of w) for (let k = 0; k < d; k++) sq[k] = sq[k] + (e[k] - mean[k]) ** 2 / w.length;
    rows.push([...mean, ...sq.map(Math.sqrt)]);
  }
  return rows;
}

export interface AudioClassifier {
  predict(rows: number[][]): number[];
  trainClips: number;
  heldOutClips: number;
  heldOutAccuracy: number;
}

/** Train the audio classifier on a dataset's training recordings; report accuracy on its validation ones. */
export async function trainAudioClassifier(data: string, seed = 0): Promise<AudioClassifier> {
  const ds = await openDataset(data);
  const split = splitDataset(ds, { seed });
  const cut = async (items: typeof split.train) => {
    const ex = await loadExamples(items);
    const clips: Float32Array[] = [];
    const labels: number[] = [];
    for (const e of ex)
      for (const c of evaluationClips(e.audio, { mode: 'segments' })) {
        clips.push(c);
        labels.push(e.label);
      }
    return { rows: await clipFeatures(clips), labels };
  };
  const train = await cut(split.train);
  const val = await cut(split.val);
  // standardise with training statistics (fitLogistic expects standardised rows)
  const d = (train.rows[0] as number[]).length;
  const mean = new Array<number>(d).fill(0);
  const sd = new Array<number>(d).fill(0);
  for (const r of train.rows) r.forEach((v, k) => (mean[k] = mean[k] + v / train.rows.length));
  for (const r of train.rows) r.forEach((v, k) => (sd[k] = sd[k] + (v - mean[k]) ** 2 / train.rows.length));
  const z = (rows: number[][]) => rows.map((r) => r.map((v, k) => (v - mean[k]) / (Math.sqrt(sd[k]) || 1)));
  const model = fitLogistic(z(train.rows), train.labels, 1e-2, 500, 0.5);
  const predict = (rows: number[][]) => z(rows).map(model);
  const pv = predict(val.rows);
  const correct = pv.filter((p, i) => p === val.labels[i]).length;
  return { predict, trainClips: train.rows.length, heldOutClips: val.rows.length, heldOutAccuracy: correct / Math.max(1, val.rows.length) };
}
