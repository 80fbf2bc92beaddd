/** Notebook 03 · latents (Fig. 14): PCA of each codec's pooled latents per level, linear probe and silhouette. */
import { loadCodec } from '../checkpoint/models';
import { evaluationClips } from '../data/batches';
import { loadExamples } from '../data/dataset';
import { openDataset } from '../data/open';
import { pooledLatents } from '../metrics/codec';
import { latentProbe, type ProbeResult } from '../metrics/probe';
import type { CodecKind } from '../models/presets';
import { trainStudyCodecs } from './02-codecs';
import type { StudyConfig } from './config';
import { pcaFigure } from './figures';
import { saveFigure, tableMarkdown } from './html';
import { saveResult } from './results';

export interface LatentRow {
  kind: CodecKind;
  level: 'top' | 'bottom';
  probe: ProbeResult;
}

const percent = (x: number) => `${(100 * x).toFixed(0)} %`;

export async function latentsStep(
  cfg: StudyConfig,
  log: (s: string) => void = () => undefined,
): Promise<{ rows: LatentRow[]; table: string; figures: string[] }> {
  const runs = await trainStudyCodecs(cfg, log);
  const ds = await openDataset(cfg.data);
  const ex = await loadExamples(ds.items);
  const clips = ex.map((e) => evaluationClips(e.audio)[0] as Float32Array);
  const labels = ex.map((e) => e.label);
  const rows: LatentRow[] = [];
  const figures: string[] = [];
  for (const r of runs) {
    const { codec } = await loadCodec(r.run);
    const lat = pooledLatents(codec, clips);
    codec.dispose();
    for (const [level, feats] of [
      ['top', lat.top],
      ['bottom', lat.bottom],
    ] as const) {
      if (!feats) continue;
      const probe = latentProbe(feats, labels);
      rows.push({ kind: r.kind, level, probe });
      const title = `${r.kind}, ${level} latents: probe ${percent(probe.probeAccuracy)}, silhouette ${probe.silhouette.toFixed(2)}`;
      const fig = pcaFigure(ds.classes.slice(0, 2), labels, probe, title);
      figures.push((await saveFigure(`03-fig14-${r.kind}-${level}`, fig, { dir: cfg.out, height: 320 })).html);
    }
  }
  const table = tableMarkdown([
    ['codec', 'level', 'clips', 'linear probe (k-fold)', 'majority baseline', 'silhouette'],
    ...rows.map((r) => [
      r.kind,
      r.level,
      r.probe.n,
      `${(100 * r.probe.probeAccuracy).toFixed(1)} %`,
      `${(100 * r.probe.majorityBaseline).toFixed(1)} %`,
      r.probe.silhouette.toFixed(3),
    ]),
  ]);
  const results = rows.map(({ kind, level, probe }) => ({
    kind,
    level,
    probeAccuracy: probe.probeAccuracy,
    majority: probe.majorityBaseline,
    silhouette: probe.silhouette,
    n: probe.n,
  }));
  await saveResult(cfg, '03-latents', results);
  return { rows, table, figures };
}
