/** Notebook 04 · priors (Table 1, Table 2 rows 2–3): training curves, perplexities and samples of the shipped priors. */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { SAMPLE_RATE } from '../audio/constants';
import { loadPrior } from '../checkpoint/models';
import { extractCodes } from '../codes/extract';
import { readCodes } from '../codes/store';
import { type PerplexityReport, perplexityReport } from '../metrics/perplexity';
import { shippedPath } from '../pipeline/models';
import { disposeSoundModels, loadSoundModels, soundForClass } from '../pipeline/sound';
import { DEFAULT_SAMPLING } from '../sample/strategy';
import { priorRows } from '../train/prior';
import { runsDir, type StudyConfig } from './config';
import { curvesFigure, melHeatmap } from './figures';
import { audioHtml, saveFigure, tableMarkdown } from './html';
import { readMetricsLog, saveResult } from './results';

export interface PriorsStep {
  perplexity: Array<{ level: 'top' | 'bottom'; report: PerplexityReport; heldOut: string }>;
  table: string;
  figures: string[];
  players: string;
}

const LEVELS = ['top', 'bottom'] as const;
const topK = DEFAULT_SAMPLING.topK;

/** Training curves of the shipped priors (their runs' JSONL logs ship beside them). */
async function shippedCurves(cfg: StudyConfig): Promise<string[]> {
  const figures: string[] = [];
  for (const level of LEVELS) {
    const file = path.join(shippedPath(level), 'metrics.jsonl');
    if (!existsSync(file)) continue;
    const lines = await readMetricsLog<{ step: number; split: string; loss?: number; val_loss?: number }>(file);
    const tr = lines.filter((l) => l.split === 'train');
    const va = lines.filter((l) => l.split === 'val');
    const curves = [
      { name: 'train', x: tr.map((l) => l.step), y: tr.map((l) => l.loss) },
      { name: 'validation', x: va.map((l) => l.step), y: va.map((l) => l.val_loss), markers: true },
    ];
    const fig = curvesFigure(curves, `${level} prior (shipped): cross-entropy (nats per code)`, 'loss');
    figures.push((await saveFigure(`04-curves-${level}`, fig, { dir: cfg.out, height: 280 })).html);
  }
  return figures;
}

/** Perplexity on codes of the study data, extracted with the shipped codec. */
async function shippedPerplexity(cfg: StudyConfig): Promise<PriorsStep['perplexity']> {
  const codesDir = path.join(runsDir(cfg), 'codes-shipped-codec');
  if (!existsSync(path.join(codesDir, 'codes.json'))) await extractCodes({ codec: shippedPath('codec'), data: cfg.data, out: codesDir, mode: 'center' });
  const set = await readCodes(codesDir);
  const perplexity: PriorsStep['perplexity'] = [];
  for (const level of LEVELS) {
    const { prior } = await loadPrior(shippedPath(level), level);
    try {
      let rows = priorRows(set, level, 'val', prior.vocab);
      let heldOut = `${cfg.data} validation clips`;
      if (rows.sources.length === 0) {
        rows = priorRows(set, level, 'train', prior.vocab);
        heldOut = `${cfg.data} (all clips)`;
      }
      perplexity.push({ level, report: perplexityReport(prior, rows, { samples: cfg.small ? 1 : 2, sampling: { topK, seed: 0 } }), heldOut });
    } finally {
      prior.dispose();
    }
  }
  return perplexity;
}

export async function priorsStep(cfg: StudyConfig): Promise<PriorsStep> {
  const figures = await shippedCurves(cfg);
  const perplexity = await shippedPerplexity(cfg);
  // samples
  const models = await loadSoundModels({ codec: shippedPath('codec'), top: shippedPath('top'), bottom: shippedPath('bottom') });
  let players = '';
  try {
    for (const [label, c] of ['cat', 'dog'].entries()) {
      const r = await soundForClass(models, label, { seed: `study/${c}`, topK });
      const clip = r.clips[0] as Float32Array;
      const seconds = r.timings.topSeconds + r.timings.bottomSeconds + r.timings.decodeSeconds;
      players += audioHtml(clip, SAMPLE_RATE, `${c}: sampled (top-k ${topK}) in ${seconds.toFixed(1)} s`);
      figures.push((await saveFigure(`04-sample-${c}`, melHeatmap(clip, `${c}: a generated clip`), { dir: cfg.out, height: 220 })).html);
    }
  } finally {
    disposeSoundModels(models);
  }
  const table = tableMarkdown([
    ['prior', 'held-out codes', 'teacher-forced perplexity', `own-sample perplexity (thesis measure, top-k ${topK})`],
    ...perplexity.map((p) => [p.level, `${p.report.heldOut} clips (${p.heldOut})`, p.report.teacherForced.toFixed(2), p.report.ownSamples.toFixed(2)]),
  ]);
  await saveResult(
    cfg,
    '04-priors',
    perplexity.map((p) => ({ level: p.level, heldOutSet: p.heldOut, ...p.report })),
  );
  return { perplexity, table, figures, players };
}
